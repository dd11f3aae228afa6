import { InvalidInputError } from './errors';

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

/** A price in currency units with at most two decimals, as whole cents. */
export function priceToCents(price: unknown): number {
  const cents = typeof price === 'number' ? Math.round(price * 100) : NaN;
  if (!Number.isSafeInteger(cents) || cents < 0 || Math.abs(cents - (price as number) * 100) > 1e-6) {
    throw new InvalidInputError('price must be a non-negative amount with at most two decimals', { price });
  }
  return cents;
}

/** An Idempotency-Key header: 1–200 printable ASCII characters. */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !/^[\x20-\x7e]{1,200}$/.test(key)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 200 printable ASCII characters');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
