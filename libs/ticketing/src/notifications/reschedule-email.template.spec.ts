import { describe, expect, it } from 'vitest';
import { HolderMailFacts, PurchaseReceipt, PurchaseStatus } from '@app/database';
import { RECEIPT } from '../../test/receipts';
import { renderHolderRescheduleEmail, renderRescheduleEmail } from './reschedule-email.template';

const receipt: PurchaseReceipt = {
  ...RECEIPT,
  status: PurchaseStatus.Paid,
  buyerName: 'Ana <3',
  eventTitle: 'Rock & Night',
  timeZone: 'Asia/Seoul',
  performanceStartsAt: new Date('2027-01-07T10:30:00.000Z'),
  performanceCancelUntil: new Date('2027-01-06T10:30:00.000Z'),
};
const previous = new Date('2026-12-31T11:00:00.000Z');
const now = new Date('2026-12-20T00:00:00.000Z');

describe('reschedule e-mail template', () => {
  it("names the new start and the one before on the venue's wall clock, and keeps the tickets valid", () => {
    const email = renderRescheduleEmail(receipt, previous, now);
    expect(email.subject).toBe('New date: Rock & Night');
    expect(email.text).toContain('it now starts Thursday, 7 January 2027, 19:30 UTC+09:00 (Asia/Seoul)');
    expect(email.text).toContain('it was to start Thursday, 31 December 2026, 20:00 UTC+09:00 (Asia/Seoul)');
    expect(email.text).toContain('Your tickets stay valid for the new time');
    expect(email.text).toContain('Seats:     Section A, row C, seat 7');
  });

  it('offers the buyer of a free purchase the cancel, without a refund', () => {
    const free = renderRescheduleEmail({ ...receipt, amount: 0 }, previous, now).text;
    expect(free).toContain('you may cancel the purchase until Wednesday, 6 January 2027, 19:30 UTC+09:00 (Asia/Seoul)');
    expect(free).not.toContain('refund');
  });

  it('offers the refund only while the cancellation window is open', () => {
    expect(renderRescheduleEmail(receipt, previous, now).text).toContain(
      'you may cancel the purchase for a full refund until Wednesday, 6 January 2027, 19:30 UTC+09:00 (Asia/Seoul)',
    );
    const closed = renderRescheduleEmail(receipt, previous, new Date('2027-01-06T10:30:00.000Z'));
    expect(closed.text).not.toContain('refund');
    expect(renderRescheduleEmail({ ...receipt, performanceCancelUntil: null }, previous, now).text).not.toContain(
      'refund',
    );
    // A purchase with a checked-in ticket cannot be canceled by its buyer any more.
    expect(renderRescheduleEmail({ ...receipt, checkedIn: true }, previous, now).text).not.toContain('refund');
  });

  it('lists only the seats the buyer still holds, names those passed on apart, and offers no refund once a ticket was transferred', () => {
    const two = {
      ...receipt,
      seats: [
        { seatId: 4005, section: 'A', row: 3, rowLabel: 'C', number: 7 },
        { seatId: 4006, section: 'A', row: 3, rowLabel: 'C', number: 8 },
      ],
      transferredSeats: [{ section: 'A', row: 3, rowLabel: 'C', number: 8 }],
      transferred: true,
    };
    const email = renderRescheduleEmail(two, previous, now);
    expect(email.text).toContain('Seats:     Section A, row C, seat 7\n');
    expect(email.text).toContain('Passed on: Section A, row C, seat 8\n');
    expect(email.text).toContain('The ticket you passed on: its holder is told too.');
    expect(email.html).toContain('<tr><th align="left">Passed on</th><td><ul><li>Section A, row C, seat 8</li></ul>');
    // Its buyer can no longer cancel it (409 PurchaseTransferred): no refund offered.
    expect(email.text).not.toContain('refund');
    // Every seat passed on: no seats of its own, no QR codes to keep.
    const all = renderRescheduleEmail({ ...two, transferredSeats: two.seats }, previous, now);
    expect(all.text).not.toContain('Seats:');
    expect(all.text).not.toContain('keep the QR codes');
    expect(all.text).toContain('Passed on: Section A, row C, seat 7; Section A, row C, seat 8');
    expect(all.text).toContain('The tickets you passed on: their holders are told too.');
    // A ticket that came back to its buyer is the buyer's again, but the purchase stays uncancelable.
    const back = renderRescheduleEmail({ ...receipt, transferred: true }, previous, now);
    expect(back.text).toContain('Seats:     Section A, row C, seat 7');
    expect(back.text).not.toContain('Passed on');
    expect(back.text).not.toContain('refund');
    // Its confirmation's code is void since the transfer (409 TicketTransferred at the door): the
    // valid one came with the "received" e-mail.
    expect(back.text).not.toContain('keep the QR codes of your confirmation');
    expect(back.text).toContain(
      'The ticket passed back to you (Section A, row C, seat 7) stays valid for the new time with the QR code of the e-mail you received it with',
    );
    // One seat its buyer never gave, one that came back: each told which QR code to keep.
    const mixed = renderRescheduleEmail(
      {
        ...two,
        transferredSeats: [],
        tickets: [
          {
            ...two.seats[0],
            ticketId: '1',
            purchaseId: receipt.purchaseId,
            performanceId: 1,
            seatId: 1,
            codeVersion: 0,
            checkedInAt: null,
          },
        ],
      },
      previous,
      now,
    );
    expect(mixed.text).toContain('Your tickets stay valid for the new time: keep the QR codes of your confirmation.');
    expect(mixed.text).toContain('The ticket passed back to you (Section A, row C, seat 8)');
    expect(mixed.html).toContain('The ticket passed back to you (Section A, row C, seat 8)');
  });

  it('escapes what the buyer and the operator wrote in HTML', () => {
    const email = renderRescheduleEmail(receipt, previous, now);
    expect(email.html).toContain('Hello Ana &lt;3,');
    expect(email.html).toContain('<strong>Rock &amp; Night</strong>');
    expect(email.html).not.toContain('Ana <3');
  });

  it("tells a holder the new start and the one before on the venue's wall clock, only its seats, in plain grammar, no refund", () => {
    const facts: HolderMailFacts = {
      holder: { name: 'Bo <b>', email: 'bo@example.test' },
      eventTitle: 'Rock & Night',
      venue: 'Olympic Hall',
      timeZone: 'Asia/Seoul',
      startsAt: new Date('2027-01-07T10:30:00.000Z'),
      performanceCanceled: false,
      seats: [{ section: 'A', row: 3, rowLabel: 'C', number: 8 }],
      transferIds: ['t1'],
    };
    const one = renderHolderRescheduleEmail(facts, previous);
    expect(one.subject).toBe('New date: Rock & Night');
    expect(one.text).toContain(
      'it now starts Thursday, 7 January 2027, 19:30 UTC+09:00 (Asia/Seoul) (it was to start Thursday, 31 December 2026, 20:00 UTC+09:00 (Asia/Seoul))',
    );
    expect(one.text).toContain(
      'The ticket you received stays valid for the new time: keep the QR code of the e-mail you received it with.',
    );
    expect(one.text).toContain('Seats:     Section A, row C, seat 8\n');
    expect(one.text).not.toContain('refund');
    expect(one.text).not.toContain('ana@example.test');
    expect(one.html).toContain('Hello Bo &lt;b&gt;,');
    const two = renderHolderRescheduleEmail(
      { ...facts, seats: [...facts.seats, { section: 'A', row: 3, rowLabel: 'C', number: 9 }] },
      previous,
    );
    expect(two.text).toContain(
      'The tickets you received stay valid for the new time: keep the QR codes of the e-mails you received them with.',
    );
  });

  it('tells a box office buyer, who cannot cancel, to contact the box office instead', () => {
    const open = {
      ...receipt,
      performanceCancelUntil: new Date('2099-01-01T00:00:00Z'),
      paymentMethod: 'CASH' as const,
    };
    const email = renderRescheduleEmail(open, new Date('2026-12-30T20:30:00.000Z'), new Date('2026-12-01T00:00:00Z'));
    expect(email.text).toContain(
      'If you cannot come then, contact the box office where you bought the tickets about a refund.',
    );
    expect(email.text).not.toContain('you may cancel');
  });

  it("tells a comp's guest or recipient, who cannot cancel it, to tell the box office instead; nothing once checked in", () => {
    const comp = { ...receipt, amount: 0, comp: true, performanceCancelUntil: new Date('2099-01-01T00:00:00Z') };
    const email = renderRescheduleEmail(comp, new Date('2026-12-30T20:30:00.000Z'), new Date('2026-12-01T00:00:00Z'));
    expect(email.text).toContain(
      'If you cannot come then, tell the box office, so that your seats can go to someone else.',
    );
    expect(email.text).not.toContain('you may cancel');
    expect(email.text).not.toContain('refund');
    const used = renderRescheduleEmail({ ...comp, checkedIn: true }, previous, now).text;
    expect(used).not.toContain('If you cannot come then');
  });
});
