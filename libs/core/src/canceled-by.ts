/**
 * Who canceled a purchase: its buyer, an operator's refund, or the bulk refund of its canceled
 * performance. Recorded with the cancellation (Redis, the purchase stream, the outbox message), so
 * the buyer's notice is worded by it.
 */
export const CANCELED_BY = ['buyer', 'operator', 'performance'] as const;
export type CanceledBy = (typeof CANCELED_BY)[number];
