import { describe, expect, it } from 'vitest';
import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import { parseMailMessage } from '@app/messaging/contracts';
import { renderPartialRefundEmail } from './partial-refund-email.template';

const receipt: PurchaseReceipt = {
  purchaseId: '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d',
  status: PurchaseStatus.Paid,
  buyerEmail: 'kim@example.com',
  buyerName: 'Kim',
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'Asia/Seoul',
  performanceStartsAt: new Date('2030-03-01T10:00:00Z'),
  performanceCancelUntil: null,
  amount: 1000,
  currency: 'EUR',
  paymentMethod: null,
  comp: false,
  purchasedAt: new Date('2030-01-01T00:00:00Z'),
  seats: [{ seatId: 1, section: 'A', row: 1, rowLabel: 'A', number: 1 }],
  refundedSeats: [
    { seatId: 2, section: 'A', row: 1, rowLabel: 'A', number: 2 },
    { seatId: 3, section: 'A', row: 1, rowLabel: 'A', number: 3 },
  ],
  tickets: [],
  heldTickets: [],
  checkedIn: false,
  transferredSeats: [],
  transferred: false,
  performanceCancellation: null,
};

const message = (fields: object) =>
  parseMailMessage(
    Buffer.from(
      JSON.stringify({
        type: 'purchase.refunded',
        purchaseId: receipt.purchaseId,
        refundId: '0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f',
        refundedAt: '2030-02-01T00:00:00Z',
        seatIds: [3],
        amount: 1250,
        currency: 'EUR',
        ...fields,
      }),
    ),
  );

describe('partial refund notice', () => {
  it('names a kept seat someone else holds by a transfer apart, not as the buyer’s', () => {
    const parsed = message({});
    if (parsed.kind !== 'refunded') throw new Error(parsed.kind);
    const email = renderPartialRefundEmail(
      {
        ...receipt,
        seats: [...receipt.seats, { seatId: 4, section: 'A', row: 1, rowLabel: 'A', number: 4 }],
        transferredSeats: [{ section: 'A', row: 1, rowLabel: 'A', number: 4 }],
      },
      parsed.message,
    );
    expect(email.text).toContain('Yours:     Section A, row A, seat 1');
    expect(email.text).not.toMatch(/Yours:.*seat 4/);
    expect(email.text).toContain('Passed on: Section A, row A, seat 4 (its holder has it)');
  });

  it('names the refunded seats of this refund, the amount, and the seats still the buyer’s', () => {
    const parsed = message({});
    expect(parsed.kind).toBe('refunded');
    if (parsed.kind !== 'refunded') return;
    const email = renderPartialRefundEmail(receipt, parsed.message);
    expect(email.subject).toBe('Refunded: a seat of your tickets for Concert');
    expect(email.text).toContain('Refunded:  Section A, row A, seat 3');
    expect(email.text).not.toContain('seat 2');
    expect(email.text).toContain('€12.50');
    expect(email.text).toContain('Yours:     Section A, row A, seat 1');
  });

  it('says free seats refund nothing, and names kept seats apart', () => {
    const parsed = message({ seatIds: [2, 3], keptSeatIds: [2], amount: 0 });
    if (parsed.kind !== 'refunded') throw new Error(parsed.kind);
    const email = renderPartialRefundEmail(receipt, parsed.message);
    expect(email.subject).toBe('Refunded: 2 seats of your tickets for Concert');
    expect(email.text).toContain('They were free, so there is nothing to refund.');
    expect(email.text).toContain('Section A, row A, seat 2 (checked in, not resold)');
    expect(email.text).toContain('Free, nothing charged');
  });

  it('of a purchase canceled since (its rest refunded whole right after): no seats called the buyer’s, the count from the refund itself', () => {
    const parsed = message({});
    if (parsed.kind !== 'refunded') throw new Error(parsed.kind);
    // PostgreSQL lost track of the refunded seat (a cancel written first, before money trial M1's fix).
    const canceled = { ...receipt, status: PurchaseStatus.Canceled, refundedSeats: [] };
    const email = renderPartialRefundEmail(canceled, parsed.message);
    expect(email.subject).toBe('Refunded: a seat of your tickets for Concert');
    expect(email.text).toContain(
      'we refunded one seat of your purchase for Concert. €12.50 is on its way back to you.',
    );
    expect(email.text).toContain('the rest of your purchase was canceled since, as its own notice says');
    expect(email.text).not.toContain('your other tickets still work');
    expect(email.text).not.toContain('Yours:');
  });

  it('refuses a malformed message', () => {
    for (const bad of [{ seatIds: [] }, { amount: -1 }, { refundId: 'x' }, { currency: 'eur' }]) {
      expect(() => message(bad), JSON.stringify(bad)).toThrow();
    }
  });

  it("says who refunded (we online, the box office at the window) and a window sale's money given back in cash or to the card", () => {
    const parsed = message({});
    if (parsed.kind !== 'refunded') throw new Error(parsed.kind);
    const online = renderPartialRefundEmail(receipt, parsed.message);
    expect(online.text).toContain(
      'we refunded one seat of your purchase for Concert. €12.50 is on its way back to you.',
    );
    expect(online.text).not.toContain('box office');
    const cash = renderPartialRefundEmail({ ...receipt, paymentMethod: 'CASH' }, parsed.message);
    expect(cash.text).toContain(
      'the box office refunded one seat of your purchase for Concert. €12.50 was given back to you in cash at the box office.',
    );
    expect(cash.text).not.toContain('on its way back');
    const card = renderPartialRefundEmail({ ...receipt, paymentMethod: 'CARD_TERMINAL' }, parsed.message);
    expect(card.text).toContain('€12.50 was refunded to your card on the box office card terminal.');
  });
});
