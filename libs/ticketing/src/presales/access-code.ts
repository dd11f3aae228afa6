import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors';

/** A presale's access code: 4–64 printable ASCII characters, no spaces (compared case-insensitively). */
export const ACCESS_CODE_PATTERN = /^[\x21-\x7E]{4,64}$/;

/** Throws InvalidInputError unless `code` is an access code (ACCESS_CODE_PATTERN). */
export function assertAccessCode(code: unknown, field = 'accessCode'): asserts code is string {
  if (typeof code !== 'string' || !ACCESS_CODE_PATTERN.test(code)) {
    throw new InvalidInputError(`${field} must be 4-64 printable ASCII characters without spaces`);
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
