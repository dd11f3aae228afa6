import { createHash, randomUUID } from 'node:crypto';
import { idWithPerformance } from '../ids';

/** How long the answer to an Idempotency-Key is kept. */
export const IDEMPOTENCY_ANSWER_TTL_SECONDS = 24 * 60 * 60;
/**
 * How often, in ms, a request renews its claim (a lease of `leaseMs` ms, IDEMPOTENCY_CLAIM_LEASE_MS)
 * while it works: five times a lease, so one slow round trip to Redis does not let the claim of a
 * live request lapse.
 */
export function claimRenewalMs(leaseMs: number): number {
  return Math.floor(leaseMs / 5);
}

/**
 * Retry-After, in seconds, for a request that meets the live claim of another request with the
 * same key: that request usually answers within it; one that died frees its claim within a lease.
 */
export const IDEMPOTENCY_RETRY_AFTER_SECONDS = 1;

export const CLAIM_PREFIX = 'pending:';

/** A fresh claim value, unique to one request. */
export function newClaim(): string {
  return `${CLAIM_PREFIX}${randomUUID()}`;
}

export function isClaim(value: string): boolean {
  return value.startsWith(CLAIM_PREFIX);
}

/** The key as it appears in Redis key names: a digest, so any printable key makes a sane name. */
export function digestOfKey(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('base64url');
}

/**
 * What a stored Idempotency-Key answer keeps of the request's payment token: a SHA-256 of it
 * (base64url), enough to tell a retry with another token, never the token; null for none.
 */
export function digestOfPaymentToken(paymentToken: string | null): string | null {
  return paymentToken === null ? null : createHash('sha256').update(paymentToken).digest('base64url');
}

/**
 * The purchase id of a purchase made with an Idempotency-Key: the same user, key and hold always
 * give the same id, so a retry after a request died half-way finds the purchase it made, and a
 * gateway that dedupes on the purchase id charges once. It carries the hold's performance
 * (`../ids.ts`); its other 74 bits come from a SHA-256 of user, key and hold.
 * Throws RangeError for a performance id an id cannot carry.
 */
export function purchaseIdFor(userId: string, idempotencyKey: string, holdId: string, performanceId: number): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify([userId, idempotencyKey, holdId]))
    .digest()
    .subarray(0, 16);
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  const digest = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return idWithPerformance(performanceId, digest);
}
