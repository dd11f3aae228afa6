import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors';
import type { SeatListing } from './catalog.types';
import { gradeKey, sectionNameKey } from './section-names';

/** The highest seat price the API takes, in minor units (as at performance creation). */
export const MAX_PRICE = 100_000_000;

/**
 * Which seats a seat page shows, by their static data; every field optional, all given ones must
 * match. Prices in minor units of the event's currency, bounds inclusive.
 */
export interface SeatFilter {
  section?: string;
  grade?: string;
  minPrice?: number;
  maxPrice?: number;
}

/** True when the filter names nothing. */
export function isEmptyFilter(filter: SeatFilter): boolean {
  return (
    filter.section === undefined &&
    filter.grade === undefined &&
    filter.minPrice === undefined &&
    filter.maxPrice === undefined
  );
}

/** The rules of a filter beyond each field's form: price bounds 0 … MAX_PRICE, min ≤ max. Throws InvalidInputError. */
export function assertSeatFilter(filter: SeatFilter): void {
  for (const name of ['minPrice', 'maxPrice'] as const) {
    const value = filter[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0 || value > MAX_PRICE)) {
      throw new InvalidInputError(`${name} must be an integer from 0 to ${MAX_PRICE}`, { [name]: value });
    }
  }
  if (filter.minPrice !== undefined && filter.maxPrice !== undefined && filter.minPrice > filter.maxPrice) {
    throw new InvalidInputError('minPrice must not be above maxPrice', {
      minPrice: filter.minPrice,
      maxPrice: filter.maxPrice,
    });
  }
}

/** Whether the seat's static data pass the filter; the section's name and the grade in any casing (sectionNameKey, gradeKey). */
export function matchesSeatFilter(seat: SeatListing, filter: SeatFilter): boolean {
  return (
    (filter.section === undefined || sectionNameKey(seat.section) === sectionNameKey(filter.section)) &&
    (filter.grade === undefined || gradeKey(seat.grade) === gradeKey(filter.grade)) &&
    (filter.minPrice === undefined || seat.price >= filter.minPrice) &&
    (filter.maxPrice === undefined || seat.price <= filter.maxPrice)
  );
}

/**
 * A short digest of the filter (with the status filter), carried in the cursors of filtered
 * pages: a cursor followed with other filters than it was made with is a 400, not a page that
 * silently skips seats.
 */
export function filterDigest(filter: SeatFilter, status: string | undefined): string {
  const canonical = JSON.stringify([
    filter.section === undefined ? null : sectionNameKey(filter.section),
    filter.grade === undefined ? null : gradeKey(filter.grade),
    filter.minPrice ?? null,
    filter.maxPrice ?? null,
    status ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}
