import { InvalidInputError } from './errors';

/**
 * RFC 3339 date-times with an explicit offset, the only time format of the API:
 * `2027-03-01T19:00:00+09:00`, `2027-03-01T10:00:00Z`, optionally with a fraction of a second
 * (`.5`, `.123456`; kept to the millisecond). No offset, week or ordinal dates, a comma before
 * the fraction, lower-case `t`/`z` and leap seconds are refused.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** The instants PostgreSQL and JavaScript can both hold, and the API accepts: years 0001–9999 UTC. */
export const EARLIEST_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const LATEST_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** True for an epoch-millisecond integer within the instants the API accepts. */
export function isStorableInstant(ms: unknown): ms is number {
  return Number.isSafeInteger(ms) && (ms as number) >= EARLIEST_INSTANT_MS && (ms as number) <= LATEST_INSTANT_MS;
}

/** The instant of an RFC 3339 date-time with an explicit offset, or null for anything else. */
export function parseDateTime(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const match = DATE_TIME.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const offsetHours = match[9] === undefined ? 0 : Number(match[9]);
  const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return null;
  const millis = match[7] === undefined ? 0 : Number(`${match[7]}00`.slice(0, 3));
  const sign = match[8] === '-' ? -1 : 1;
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, millis);
  const instant = local.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return isStorableInstant(instant) ? new Date(instant) : null;
}

/** Like `parseDateTime`, for a value already validated at the edge; a 400 naming `field` otherwise. */
export function toDateTime(value: string, field: string): Date {
  const date = parseDateTime(value);
  if (!date) throw new InvalidInputError(`${field} must be an RFC 3339 date-time with an explicit offset`);
  return date;
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}
