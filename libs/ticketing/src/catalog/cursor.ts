import { MAX_INT4 } from '@app/core';
import { DomainError } from '../errors';
import { isUuid } from '../input';
import { isStorableInstant, parseDateTime } from '../date-time';

/**
 * What one part of a cursor holds, checked as strictly as the query parameters themselves:
 * `int4` a non-negative value of an `integer` column, `millis` an epoch-millisecond instant the
 * API accepts, `date` an RFC 3339 date-time the API accepts, `uuid` a uuid, `digest` a short base64url digest (1–43 characters).
 */
export type CursorPart = 'int4' | 'millis' | 'date' | 'uuid' | 'digest';

const VALID: Record<CursorPart, (value: unknown) => boolean> = {
  int4: (value) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_INT4,
  millis: isStorableInstant,
  date: (value) => parseDateTime(value) !== null,
  uuid: isUuid,
  digest: (value) => typeof value === 'string' && /^[A-Za-z0-9_-]{1,43}$/.test(value),
};

/**
 * Opaque keyset cursors: base64url JSON of the last item's sort key. Clients must not build
 * them; anything that does not decode to the expected shape is a 400.
 */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key a cursor holds, each part checked against `shape`; null for no cursor; a 400 otherwise. */
export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string | undefined,
  shape: { [P in keyof K]: CursorPart },
): K | null {
  if (cursor === undefined || cursor === '') return null;
  const invalid = () => new DomainError('invalid', 'InvalidCursor', 'cursor is not valid for this list');
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const record = parsed as Record<string, unknown>;
  if (Object.keys(record).length !== Object.keys(shape).length) throw invalid();
  for (const [name, part] of Object.entries(shape) as [string, CursorPart][]) {
    if (!Object.hasOwn(record, name) || !VALID[part](record[name])) throw invalid();
  }
  return record as K;
}
