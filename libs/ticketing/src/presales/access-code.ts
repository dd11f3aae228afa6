import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors';

/**
 * An access code a hold sends: 4–64 printable ASCII characters, no spaces (compared
 * case-insensitively). 4 still, so that the codes of presales made before PRESALE_CODE_PATTERN
 * keep working.
 */
export const ACCESS_CODE_PATTERN = /^[\x21-\x7E]{4,64}$/;

/**
 * A new presale's code: 8–64 printable ASCII characters, no spaces. At least 8 so that, with
 * PRESALE_MISS_LIMIT, guessing one is out of reach.
 */
export const PRESALE_CODE_PATTERN = /^[\x21-\x7E]{8,64}$/;

/**
 * Wrong access codes a user may send for one performance per PRESALE_MISS_WINDOW_MS: past them,
 * every hold of theirs with an access code for it is refused (TooManyAccessCodeAttemptsError, 429)
 * until the window, counted from the first miss, ends; the code is then not even checked.
 */
export const PRESALE_MISS_LIMIT = 10;
/** The window of PRESALE_MISS_LIMIT, in milliseconds (15 minutes). */
export const PRESALE_MISS_WINDOW_MS = 15 * 60_000;

/** Throws InvalidInputError unless `code` is an access code a hold may send (ACCESS_CODE_PATTERN). */
export function assertAccessCode(code: unknown, field = 'accessCode'): asserts code is string {
  if (typeof code !== 'string' || !ACCESS_CODE_PATTERN.test(code)) {
    throw new InvalidInputError(`${field} must be 4-64 printable ASCII characters without spaces`);
  }
}

/** Throws InvalidInputError unless `code` may be a new presale's code (PRESALE_CODE_PATTERN). */
export function assertPresaleCode(code: unknown, field = 'code'): asserts code is string {
  if (typeof code !== 'string' || !PRESALE_CODE_PATTERN.test(code)) {
    throw new InvalidInputError(`${field} must be 8-64 printable ASCII characters without spaces`);
  }
}

/**
 * What is kept of an access code, and what a hold sends for one: hex SHA-256 (64 characters) of
 * '<performance id>:<code in lower case>'. Per performance, so one code given to two performances'
 * presales is two digests; case-insensitive (`FANS2027` and `fans2027` are one code). The code
 * itself is never stored, so it cannot be read back.
 */
export function accessCodeDigest(performanceId: number, code: string): string {
  return createHash('sha256').update(`${performanceId}:${code.toLowerCase()}`).digest('hex');
}
