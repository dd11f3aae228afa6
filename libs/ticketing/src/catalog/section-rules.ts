import type { PerformanceStatus } from '@app/database';
import { DomainError, InvalidInputError, PerformanceCanceledError } from '../errors';
import { MAX_PRICE } from './seat-filter';

/** The audit action of a section price change. */
export const SECTION_PRICE_ACTION = 'section.price';

/**
 * Whether a section's price may change now. A box office reprices unsold seats while it sells
 * (ON_SALE) or while sales are paused to do just that (PAUSED); it does not once the performance
 * is CANCELED (for good) or CLOSED (sales are over for good: reopening is a PATCH of its status first) or has begun
 * (`now` at or past `startsAt`: what is left is no longer on offer, and prices of a past show
 * would only muddle the sales report). Holds keep their amount either way. Throws
 * PerformanceCanceledError (naming `performanceId`), DomainError 'conflict' (PerformanceClosed,
 * PerformanceStarted), InvalidInputError (price).
 */
export function assertPriceChange(
  subject: { status: PerformanceStatus; startsAt: Date; now: Date },
  price: unknown,
  performanceId: number,
): void {
  assertSectionPrice(price);
  if (subject.status === 'CANCELED') {
    // Worded and detailed as every other route's refusal of a canceled performance.
    throw new PerformanceCanceledError(performanceId, 'its prices can no longer change');
  }
  if (subject.status === 'CLOSED') {
    throw new DomainError('conflict', 'PerformanceClosed', 'performance is closed: its prices can no longer change');
  }
  if (subject.now.getTime() >= subject.startsAt.getTime()) {
    throw new DomainError('conflict', 'PerformanceStarted', 'performance has started: its prices can no longer change');
  }
}

/** A section price: an integer of minor units, 0 … MAX_PRICE (as at creation). Throws InvalidInputError. */
export function assertSectionPrice(price: unknown): asserts price is number {
  if (typeof price !== 'number' || !Number.isSafeInteger(price) || price < 0 || price > MAX_PRICE) {
    throw new InvalidInputError(`price must be an integer of minor units from 0 to ${MAX_PRICE}`, { price });
  }
}
