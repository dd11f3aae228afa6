import { describe, expect, it } from 'vitest';
import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import { renderCancellationEmail } from './cancellation-email.template';

const receipt: PurchaseReceipt = {
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  status: PurchaseStatus.Canceled,
  buyerEmail: 'ana@example.test',
  buyerName: 'Ana',
  eventTitle: 'Rock Night',
  venue: 'Olympic Hall',
  timeZone: 'UTC',
  performanceStartsAt: new Date('2026-12-31T20:30:00.000Z'),
  performanceCancelUntil: null,
  checkedIn: false,
  transferredSeats: [],
  transferred: false,
  amount: 198000,
  currency: 'KRW',
  paymentMethod: null,
  comp: false,
  purchasedAt: new Date('2026-11-25T12:00:00.000Z'),
  seats: [{ seatId: 4005, section: 'A', row: 3, rowLabel: 'C', number: 7 }],
  refundedSeats: [],
  tickets: [],
  performanceCancellation: null,
};
const canceledAt = new Date('2026-12-01T10:00:00.000Z');

describe('cancellation e-mail template', () => {
  it('says nothing of the performance when only the purchase was canceled', () => {
    const email = renderCancellationEmail(receipt, canceledAt);
    expect(email.text).not.toContain('performance was canceled');
    expect(email.html).not.toContain('performance was canceled');
  });

  it("says the performance was canceled, with the operator's reason escaped in HTML", () => {
    const email = renderCancellationEmail(
      { ...receipt, performanceCancellation: { reason: 'The artist <sadly> is ill.', requestedAt: canceledAt } },
      canceledAt,
      { confirmed: true, calledOff: true },
    );
    expect(email.text).toContain('The performance was canceled: The artist <sadly> is ill.');
    expect(email.html).toContain('The performance was canceled: The artist &lt;sadly&gt; is ill.');
  });

  it('says so without a reason when none was given', () => {
    const email = renderCancellationEmail(
      { ...receipt, performanceCancellation: { reason: null, requestedAt: canceledAt } },
      canceledAt,
      { confirmed: true, calledOff: true },
    );
    expect(email.text).toContain('The performance was canceled.');
  });

  it('says nothing of the performance when the purchase was canceled by its buyer or an operator, even of a canceled performance', () => {
    const called = { ...receipt, performanceCancellation: { reason: 'ill', requestedAt: canceledAt } };
    const email = renderCancellationEmail(called, canceledAt, { confirmed: true, calledOff: false });
    expect(email.text).not.toContain('performance was canceled');
    expect(email.html).not.toContain('performance was canceled');
  });

  it('speaks of no QR codes to a buyer who never got a confirmation (the performance canceled first)', () => {
    const calledOff = { ...receipt, performanceCancellation: { reason: null, requestedAt: canceledAt } };
    const unconfirmed = renderCancellationEmail(calledOff, canceledAt, { confirmed: false, calledOff: true });
    expect(unconfirmed.text).toContain('No tickets will be issued for it.');
    expect(unconfirmed.text).not.toContain('QR codes');
    expect(unconfirmed.html).not.toContain('QR codes');
    expect(renderCancellationEmail(calledOff, canceledAt).text).toContain('the QR codes of the confirmation are void');
  });

  it('says a free purchase (amount 0) had nothing to refund, and shows no refund', () => {
    const free = { ...receipt, amount: 0, currency: 'EUR' };
    for (const email of [
      renderCancellationEmail(free, canceledAt),
      renderCancellationEmail(free, canceledAt, { confirmed: true, calledOff: false, byBoxOffice: true }),
    ]) {
      expect(email.text).toContain('It was free, so there is nothing to refund.');
      expect(email.html).toContain('It was free, so there is nothing to refund.');
      expect(email.text).toContain('Amount:    Free, nothing charged');
      for (const part of [email.text, email.html]) {
        expect(part).not.toContain('€0.00');
        expect(part).not.toContain('Refund');
        expect(part).not.toContain('amount refunded');
      }
    }
  });

  it('says the box office canceled it for an operator refund, and nothing of the kind for the buyer', () => {
    const refunded = renderCancellationEmail(receipt, canceledAt, {
      confirmed: true,
      calledOff: false,
      byBoxOffice: true,
    });
    expect(refunded.text).toContain('was canceled by the box office and its amount refunded.');
    expect(refunded.html).toContain('was canceled by the box office and its amount refunded.');
    expect(renderCancellationEmail(receipt, canceledAt).text).toContain('was canceled and its amount refunded.');
  });

  describe('a refund that kept checked-in seats sold (resellCheckedInSeats: false)', () => {
    const two: PurchaseReceipt = {
      ...receipt,
      seats: [...receipt.seats, { seatId: 4006, section: 'A', row: 3, rowLabel: 'C', number: 8 }],
    };
    const refund = { confirmed: true, calledOff: false, byBoxOffice: true };

    it('names the kept seat apart and says only the other tickets no longer admit anyone', () => {
      const email = renderCancellationEmail(two, canceledAt, { ...refund, keptSeatIds: [4005] });
      for (const part of [email.text, email.html]) {
        expect(part).toContain(
          'The ticket for Section A, row C, seat 7 was checked in at the door and its seat is kept: not sold again. ' +
            'The other ticket no longer admits anyone: its QR code is void.',
        );
        expect(part).not.toContain('Its tickets no longer admit anyone');
      }
      expect(email.text).toContain('Seats:     Section A, row C, seat 8\n');
      expect(email.text).toContain('Kept:      Section A, row C, seat 7 (checked in, not resold)\n');
      expect(email.html).toContain('<li>Section A, row C, seat 7 (checked in, not resold)</li>');
    });

    it('says every seat was kept when all were checked in, and lists no voided seats', () => {
      const email = renderCancellationEmail(two, canceledAt, { ...refund, keptSeatIds: [4006, 4005] });
      expect(email.text).toContain(
        'The tickets for Section A, row C, seat 7; Section A, row C, seat 8 were checked in at the door and their seats are kept: not sold again.',
      );
      expect(email.text).not.toContain('no longer admit');
      expect(email.text).not.toContain('Seats:');
      expect(email.text).toContain(
        'Kept:      Section A, row C, seat 7 (checked in, not resold); Section A, row C, seat 8 (checked in, not resold)\n',
      );
    });

    it('reads as before without kept seats (none, or a message of an older version)', () => {
      const before = renderCancellationEmail(two, canceledAt, refund);
      expect(renderCancellationEmail(two, canceledAt, { ...refund, keptSeatIds: [] })).toEqual(before);
      expect(before.text).toContain('Its tickets no longer admit anyone: the QR codes of the confirmation are void.');
      expect(before.text).toContain('Seats:     Section A, row C, seat 7; Section A, row C, seat 8\n');
      expect(before.text).not.toContain('Kept');
    });

    it("speaks of no kept seat for a called-off show's bulk refund", () => {
      const calledOff = { ...two, performanceCancellation: { reason: null, requestedAt: canceledAt } };
      const email = renderCancellationEmail(calledOff, canceledAt, {
        confirmed: true,
        calledOff: true,
        keptSeatIds: [4005],
      });
      expect(email).toEqual(renderCancellationEmail(calledOff, canceledAt, { confirmed: true, calledOff: true }));
    });
  });

  it("tells a canceled show's box office buyer to collect the refund at the window, by the sale's method, not that it was refunded", () => {
    const called = { reason: null, requestedAt: canceledAt };
    const window = { ...receipt, amount: 4550, currency: 'EUR', performanceCancellation: called };
    const cash = renderCancellationEmail({ ...window, paymentMethod: 'CASH' }, canceledAt, {
      confirmed: true,
      calledOff: true,
    });
    expect(cash.text).toContain(
      'Bring your tickets or receipt to the box office for a refund of €45.50, paid back in cash.',
    );
    expect(cash.text).not.toContain('amount refunded');
    expect(cash.text).toContain('€45.50, at the box office');
    const card = renderCancellationEmail({ ...window, paymentMethod: 'CARD_TERMINAL' }, canceledAt, {
      confirmed: false,
      calledOff: true,
    });
    expect(card.text).toContain('for a refund of €45.50, refunded to the card you paid with.');
    expect(card.html).toContain('refunded to the card you paid with.');
  });

  it("says an operator's refund of a box office sale was given back at the window", () => {
    const window = { ...receipt, amount: 4550, currency: 'EUR' };
    const cash = renderCancellationEmail({ ...window, paymentMethod: 'CASH' }, canceledAt, {
      confirmed: true,
      calledOff: false,
      byBoxOffice: true,
    });
    expect(cash.text).toContain(
      'was canceled by the box office: €45.50 was given back to you in cash at the box office.',
    );
    expect(cash.text).not.toContain('Bring your tickets');
    const card = renderCancellationEmail({ ...window, paymentMethod: 'CARD_TERMINAL' }, canceledAt, {
      confirmed: true,
      calledOff: false,
      byBoxOffice: true,
    });
    expect(card.text).toContain('€45.50 was refunded to your card on the box office card terminal.');
  });
});
