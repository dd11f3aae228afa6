import { isCurrencyCode } from '@app/config';
import { InvalidInputError } from './errors';

export { isUuid } from '@app/core';

/** Checks of caller input, done in TypeScript before any Redis round trip. */

export function assertPerformanceId(performanceId: unknown): asserts performanceId is number {
  if (!isPositiveInteger(performanceId)) {
    throw new InvalidInputError('performanceId must be a positive integer', { performanceId });
  }
}

export function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 100) {
    throw new InvalidInputError('userId must be a non-empty string of at most 100 characters');
  }
}

/** 1..max distinct positive integers. */
export function assertSeatIds(seatIds: unknown, max: number): asserts seatIds is number[] {
  if (!Array.isArray(seatIds) || seatIds.length < 1 || seatIds.length > max) {
    throw new InvalidInputError(`seatIds must list 1 to ${max} seats`, { max });
  }
  const invalid = seatIds.filter((id) => !isPositiveInteger(id));
  if (invalid.length > 0) {
    throw new InvalidInputError('seatIds must be positive integers', { invalid });
  }
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const id of seatIds as number[]) (seen.has(id) ? duplicates : seen).add(id);
  if (duplicates.size > 0) {
    throw new InvalidInputError('seatIds must not repeat a seat', { duplicates: [...duplicates] });
  }
}

/** A price: a non-negative integer in minor units of its currency (1050 is ₩1,050 or €10.50). */
export function assertPrice(price: unknown): asserts price is number {
  if (typeof price !== 'number' || !Number.isSafeInteger(price) || price < 0) {
    throw new InvalidInputError('price must be a non-negative integer in minor units of the currency', { price });
  }
}

/** An ISO 4217 currency code in upper case, such as `KRW` or `EUR`. */
export function assertCurrency(currency: unknown): asserts currency is string {
  if (!isCurrencyCode(currency)) {
    throw new InvalidInputError('currency must be an ISO 4217 currency code', { currency });
  }
}

/** An Idempotency-Key header: 1–200 printable ASCII characters. */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !/^[\x20-\x7e]{1,200}$/.test(key)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 200 printable ASCII characters');
  }
}

/** A safe integer above 0 (an id of PostgreSQL's identity columns). */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** The length of `text` in Unicode code points (a surrogate pair is one), as PostgreSQL counts a `varchar(n)`. */
export function codePointLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length - 1; i += 1) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      length -= 1;
      i += 1;
    }
  }
  return length;
}
