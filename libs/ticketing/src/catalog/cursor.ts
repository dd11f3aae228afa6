import { CursorPartCheck, decodeCursor as decodeKey, encodeCursor, MAX_INT4 } from '@app/core';
import { isUuid } from '../input';
import { isStorableInstant, parseDateTime } from '../date-time';

export { encodeCursor };

/**
 * What one part of a catalog cursor holds, checked as strictly as the query parameters themselves:
 * `int4` a non-negative value of an `integer` column, `millis` an epoch-millisecond instant the
 * API accepts, `date` an RFC 3339 date-time the API accepts, `uuid` a uuid, `digest` a short base64url digest (1–43 characters).
 */
export type CursorPart = 'int4' | 'millis' | 'date' | 'uuid' | 'digest';

const CHECKS: Record<CursorPart, CursorPartCheck> = {
  int4: (value) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_INT4,
  millis: isStorableInstant,
  date: (value) => parseDateTime(value) !== null,
  uuid: isUuid,
  digest: (value) => typeof value === 'string' && /^[A-Za-z0-9_-]{1,43}$/.test(value),
};

/**
 * The key a cursor holds, each part checked as its `CursorPart` says (`decodeCursor` of
 * `@app/core`): null for no cursor; DomainError 'invalid' (InvalidCursor, a 400) otherwise.
 */
export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string | undefined,
  shape: { [P in keyof K]: CursorPart },
): K | null {
  const checks = Object.fromEntries(Object.entries(shape).map(([name, part]) => [name, CHECKS[part as CursorPart]]));
  return decodeKey<K>(cursor, checks as { [P in keyof K]: CursorPartCheck });
}
