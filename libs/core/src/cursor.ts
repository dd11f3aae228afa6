import { createHash } from 'node:crypto';
import { DomainError } from './domain-error';

/** Checks one part of a cursor's key: true for a value its list could have written there. */
export type CursorPartCheck = (value: unknown) => boolean;

/**
 * A time key as `Date#toISOString` writes it (`2026-12-05T12:11:59.993Z`) of an instant PostgreSQL
 * can hold (year 0001 on): it must read back the same, or a day or hour that does not exist (Feb 30
 * rolls over to Mar 1; month 13 or hour 25 are not a date at all) would page from the wrong place or
 * fail in the database.
 */
export function isInstantKey(value: unknown): boolean {
  if (typeof value !== 'string' || !INSTANT_KEY.test(value) || value.startsWith('0000')) return false;
  const instant = new Date(value);
  return !Number.isNaN(instant.getTime()) && instant.toISOString() === value;
}

const INSTANT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Opaque keyset cursors: base64url JSON of the last item's sort key (`{name: value}`, values
 * strings or numbers). Clients must not build them; `decodeCursor` refuses anything else.
 */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key a cursor holds: exactly the parts `shape` names, each passing its check. null for no
 * cursor (undefined or ''). Throws DomainError 'invalid' (InvalidCursor, "cursor is not valid for
 * this list": a 400) for anything else: more than 200 characters, not base64url JSON of an object,
 * a part missing, extra or failing its check.
 */
export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string | undefined,
  shape: { [P in keyof K]: CursorPartCheck },
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
  for (const [name, check] of Object.entries(shape) as [string, CursorPartCheck][]) {
    if (!Object.hasOwn(record, name) || !check(record[name])) throw invalid();
  }
  return record as K;
}

/**
 * A short digest (16 base64url characters of SHA-256) of the filters a list was asked with, in the
 * order the list names them (absent ones as null): carried in each of the list's cursors, so a
 * cursor followed with other filters than it was made with is refused ({@link assertSameFilters})
 * rather than starting another list at the first one's position.
 */
export function filterDigest(filters: readonly (string | number | boolean | null | undefined)[]): string {
  return createHash('sha256')
    .update(JSON.stringify(filters.map((value) => value ?? null)))
    .digest('base64url')
    .slice(0, 16);
}

/** A cursor part holding a {@link filterDigest}. */
export function isFilterDigest(value: unknown): boolean {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{16}$/.test(value);
}

/**
 * Throws DomainError 'invalid' (InvalidCursor, a 400: "cursor was made with other filters: send
 * the same filters") when a cursor's digest (`carried`) is not that of the filters asked for now
 * (`current`); nothing for no cursor (`carried` undefined).
 */
/**
 * Throws DomainError 'invalid' (InvalidCursor, a 400: "cursor was made for another performance's
 * list: …") when a cursor of a list under a path id (a performance's seats, an event's
 * performances) carries (`carried`) another id than the path's (`current`); nothing for no cursor.
 * Without it, a cursor of one performance's list would silently start another's at its position.
 */
export function assertSameList(carried: number | undefined, current: number, owner: 'performance' | 'event'): void {
  if (carried !== undefined && carried !== current) {
    throw new DomainError(
      'invalid',
      'InvalidCursor',
      `cursor was made for another ${owner}'s list: page each list with its own cursors`,
    );
  }
}

export function assertSameFilters(carried: string | undefined, current: string): void {
  if (carried !== undefined && carried !== current) {
    throw new DomainError('invalid', 'InvalidCursor', 'cursor was made with other filters: send the same filters');
  }
}
