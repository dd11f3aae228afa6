import { describe, expect, it } from 'vitest';
import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import { renderRescheduleEmail } from './reschedule-email.template';

const receipt: PurchaseReceipt = {
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  status: PurchaseStatus.Paid,
  buyerEmail: 'ana@example.test',
  buyerName: 'Ana <3',
  eventTitle: 'Rock & Night',
  venue: 'Olympic Hall',
  timeZone: 'Asia/Seoul',
  performanceStartsAt: new Date('2027-01-07T10:30:00.000Z'),
  performanceCancelUntil: new Date('2027-01-06T10:30:00.000Z'),
  checkedIn: false,
  amount: 198000,
  currency: 'KRW',
  purchasedAt: new Date('2026-11-25T12:00:00.000Z'),
  seats: [{ section: 'A', row: 3, rowLabel: 'C', number: 7 }],
  tickets: [],
  performanceCancellation: null,
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

  it('escapes what the buyer and the operator wrote in HTML', () => {
    const email = renderRescheduleEmail(receipt, previous, now);
    expect(email.html).toContain('Hello Ana &lt;3,');
    expect(email.html).toContain('<strong>Rock &amp; Night</strong>');
    expect(email.html).not.toContain('Ana <3');
  });
});
