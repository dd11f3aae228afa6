import { PurchaseReceipt, PurchaseStatus } from '@app/database';

/**
 * The receipt the e-mail specs start from: Ana's canceled purchase of one seat (section A, row C,
 * seat 7) at Rock Night, Olympic Hall (UTC), starting 2026-12-31T20:30:00Z, bought
 * 2026-11-25T12:00:00Z for 198000 KRW (minor units) online (not a comp); no cancel limit, no tickets, nothing
 * refunded, checked in or transferred, the performance not canceled. A spec spreads it and
 * overrides what its case is about.
 */
export const RECEIPT: PurchaseReceipt = {
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
  heldTickets: [],
  performanceCancellation: null,
};
