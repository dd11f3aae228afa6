import { InvalidInputError } from '@app/core';

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

/**
 * The times a box office schedules (performance starts, sales windows, cancel deadlines, queue
 * openings): 2000-01-01T00:00:00Z up to 2199-12-31T23:59:59.999Z. Far inside years 0001–9999, so
 * the venue's wall clock (offsets up to ±14 h) always has a four-digit year too; anything outside
 * is a typo, not a show.
 */
export const EARLIEST_SCHEDULE_MS = Date.parse('2000-01-01T00:00:00.000Z');
export const LATEST_SCHEDULE_MS = Date.parse('2199-12-31T23:59:59.999Z');

/** The 400 message for a schedule time outside the window (see EARLIEST_SCHEDULE_MS). */
export function scheduleWindowMessage(field: string): string {
  return `${field} must be between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59Z`;
}

/** The instant of an RFC 3339 date-time within the schedule window, or null for anything else. */
export function parseScheduleTime(value: unknown): Date | null {
  const date = parseDateTime(value);
  if (!date) return null;
  const ms = date.getTime();
  return ms >= EARLIEST_SCHEDULE_MS && ms <= LATEST_SCHEDULE_MS ? date : null;
}

/** Like `parseScheduleTime`, for a value already validated at the edge; a 400 naming `field` otherwise. */
export function toScheduleTime(value: string, field: string): Date {
  const date = toDateTime(value, field);
  if (!parseScheduleTime(value)) throw new InvalidInputError(scheduleWindowMessage(field));
  return date;
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

/** The longest IANA time zone name we take (the longest in the tz database has 32 characters). */
export const MAX_TIME_ZONE_LENGTH = 64;

/**
 * The IANA names of the zones that ICU (CLDR) still calls by an older name: ICU's canonical id →
 * the tz database's current one. The complete list for ICU 74 (Node 20), made by comparing
 * `Intl.supportedValuesOf('timeZone')` with the Zone lines of tzdata; a runtime that already
 * answers the IANA name never reaches it.
 */
const IANA_NAME_OF_ICU_ID: ReadonlyMap<string, string> = new Map([
  ['Africa/Asmera', 'Africa/Asmara'],
  ['America/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
  ['America/Catamarca', 'America/Argentina/Catamarca'],
  ['America/Coral_Harbour', 'America/Atikokan'],
  ['America/Cordoba', 'America/Argentina/Cordoba'],
  ['America/Godthab', 'America/Nuuk'],
  ['America/Indianapolis', 'America/Indiana/Indianapolis'],
  ['America/Jujuy', 'America/Argentina/Jujuy'],
  ['America/Louisville', 'America/Kentucky/Louisville'],
  ['America/Mendoza', 'America/Argentina/Mendoza'],
  ['Asia/Calcutta', 'Asia/Kolkata'],
  ['Asia/Katmandu', 'Asia/Kathmandu'],
  ['Asia/Rangoon', 'Asia/Yangon'],
  ['Asia/Saigon', 'Asia/Ho_Chi_Minh'],
  ['Atlantic/Faeroe', 'Atlantic/Faroe'],
  ['Europe/Kiev', 'Europe/Kyiv'],
  ['Pacific/Enderbury', 'Pacific/Kanton'],
  ['Pacific/Ponape', 'Pacific/Pohnpei'],
  ['Pacific/Truk', 'Pacific/Chuuk'],
  // The rule-based legacy names the tz database made links in 2024b: ICUs before that (Node 20's)
  // still call them zones of their own.
  ['CET', 'Europe/Brussels'],
  ['MET', 'Europe/Brussels'],
  ['EET', 'Europe/Athens'],
  ['WET', 'Europe/Lisbon'],
  ['EST5EDT', 'America/New_York'],
  ['CST6CDT', 'America/Chicago'],
  ['MST7MDT', 'America/Denver'],
  ['PST8PDT', 'America/Los_Angeles'],
]);

/**
 * The tz database's areas of places: every zone of a venue is `Area/Location` in one of them. Not
 * `Etc/GMT+5` … `Etc/GMT-14` (one fixed offset each, the sign inverted), nor ICU's `SystemV/EST5`,
 * `SystemV/AST4`, … (fixed offsets, or POSIX-style rules, gone from the tz database since 2020b).
 */
const PLACE_ZONE = /^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)\//;

/**
 * Legacy names of one fixed offset that ICU now links to a place (`EST` → America/Panama, `MST` →
 * America/Phoenix, `HST` → Pacific/Honolulu since tz 2024b): meant for a venue that keeps daylight
 * saving time, they would show a New York or Denver show an hour off all summer.
 */
const FIXED_OFFSET_NAME = /^(EST|MST|HST)$/i;

/**
 * The canonical name of a time zone, or null for anything else. Canonical = the zone ICU
 * resolves the name to (its case fixed, links followed: `asia/seoul` → `Asia/Seoul`,
 * `US/Eastern` and `EST5EDT` → `America/New_York`, `Etc/UTC`, `GMT` and `Zulu` → `UTC`),
 * spelled as the tz database spells that zone today (`Asia/Calcutta` and `Asia/Kolkata` →
 * `Asia/Kolkata`, see IANA_NAME_OF_ICU_ID). Only a place's zone (`Area/Location`, see PLACE_ZONE)
 * or `UTC` comes out: null for an unknown name, a bare offset such as `+09:00` (newer runtimes
 * take those), a fixed-offset zone (`Etc/GMT±N`, `SystemV/EST5`, `EST`, `MST`, `HST`: a venue
 * follows rules, not one offset), ICU's other legacy ids, and a non-string.
 */
export function canonicalTimeZone(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TIME_ZONE_LENGTH) return null;
  if (!/^[A-Za-z]/.test(value) || FIXED_OFFSET_NAME.test(value)) return null;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
  const zone = IANA_NAME_OF_ICU_ID.get(resolved) ?? resolved;
  return zone === 'UTC' || PLACE_ZONE.test(zone) ? zone : null;
}

/**
 * The 400 message for a time zone canonicalTimeZone refuses: an unknown name, a bare offset, or a
 * fixed-offset zone such as `Etc/GMT±N` or `SystemV/EST5` (names ICU knows too, so the message
 * says why it is refused).
 */
export function timeZoneRefusal(field = 'timeZone'): string {
  return `${field} must be the IANA name of a place's time zone, such as Asia/Seoul or UTC (not an offset, nor a fixed-offset Etc/GMT±N zone)`;
}

/** Like `canonicalTimeZone`, for a value already validated at the edge; a 400 naming `field` otherwise. */
export function toTimeZone(value: string, field = 'timeZone'): string {
  const zone = canonicalTimeZone(value);
  if (zone === null) throw new InvalidInputError(timeZoneRefusal(field));
  return zone;
}

/** One formatter per zone: building one costs far more than using it. Zones are few (~600). */
const wallClocks = new Map<string, Intl.DateTimeFormat>();

function wallClock(timeZone: string): Intl.DateTimeFormat {
  let format = wallClocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    wallClocks.set(timeZone, format);
  }
  return format;
}

/**
 * The UTC offset in `timeZone` at `instant`, in whole minutes (east positive): from the wall
 * clock Intl shows there, so daylight saving time and historical rules come from the tz data.
 * Offsets with seconds (local mean time before ~1900) are rounded to the minute, as RFC 3339
 * offsets have none. Throws RangeError for a zone Intl does not know.
 */
export function offsetMinutesAt(instant: Date, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of wallClock(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = new Date(0);
  wall.setUTCFullYear(parts.year, parts.month - 1, parts.day);
  wall.setUTCHours(parts.hour, parts.minute, parts.second, instant.getUTCMilliseconds());
  return Math.round((wall.getTime() - instant.getTime()) / 60_000);
}

/**
 * `instant` as the wall clock in `timeZone` shows it, RFC 3339 with that zone's offset then:
 * (2027-03-01T10:30:00Z, 'Asia/Seoul') → "2027-03-01T19:30:00+09:00"; New York is -05:00 in
 * winter and -04:00 in summer. Milliseconds only when not zero. Throws RangeError for a zone
 * Intl does not know.
 */
export function formatLocalDateTime(instant: Date, timeZone: string): string {
  const key = `${instant.getTime()} ${timeZone}`;
  let local = shownLocally.get(key);
  if (local === undefined) {
    local = localDateTime(instant, timeZone);
    // A few performance starts are shown over and over (every hold, every detail read): keep the
    // strings, and start over when the map is full rather than pay for an LRU.
    if (shownLocally.size >= MAX_SHOWN_LOCALLY) shownLocally.clear();
    shownLocally.set(key, local);
  }
  return local;
}

/**
 * formatLocalDateTime without its cache, for many instants each shown once (a door list's purchase
 * and check-in times): they would only crowd out the performance starts the cache keeps.
 */
export function formatLocalInstant(instant: Date, timeZone: string): string {
  return localDateTime(instant, timeZone);
}

/**
 * `instant` as a person at the venue reads it: weekday, date, hour and minute on the wall clock of
 * `timeZone`, the UTC offset there at that instant, then the zone, as the e-mails write it:
 * (2027-03-01T10:30:00Z, 'Asia/Seoul') → "Mon 2027-03-01 19:30 UTC+09:00 (Asia/Seoul)"; in `UTC`
 * simply "Mon 2027-03-01 10:30 UTC". The offset is always there: the hour a clock repeats when
 * daylight saving time ends reads twice otherwise ("Sun 2027-11-07 01:30 UTC-04:00" and "…
 * UTC-05:00" in America/New_York). Seconds when not zero ("19:30:45"), never the fraction. For
 * messages; `details` carry `formatLocalDateTime`. Throws RangeError for a zone Intl does not know.
 */
export function formatWallClock(instant: Date, timeZone: string): string {
  const local = formatLocalDateTime(instant, timeZone);
  const weekday = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' }).format(instant);
  // Seconds only when there are some: a deadline set to the second is not told a minute early.
  const clock = local.slice(11, 19).endsWith(':00') ? local.slice(11, 16) : local.slice(11, 19);
  const day = `${weekday} ${local.slice(0, 10)} ${clock}`;
  if (timeZone === 'UTC') return `${day} UTC`;
  // formatLocalDateTime ends with the offset, ±hh:mm.
  return `${day} UTC${local.slice(-6)} (${timeZone})`;
}

const MAX_SHOWN_LOCALLY = 10_000;
const shownLocally = new Map<string, string>();

function localDateTime(instant: Date, timeZone: string): string {
  const offset = offsetMinutesAt(instant, timeZone);
  const local = new Date(instant.getTime() + offset * 60_000).toISOString();
  const clock = local.endsWith('.000Z') ? local.slice(0, -5) : local.slice(0, -1);
  const sign = offset < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
  const minutes = String(Math.abs(offset) % 60).padStart(2, '0');
  return `${clock}${sign}${hours}:${minutes}`;
}

/**
 * A venue-local date-time, the wall clock without an offset: `2027-05-01T19:00` or
 * `2027-05-01T19:00:30` (no fraction, no offset, upper-case `T`).
 */
export const LOCAL_DATE_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * The wall clock reading of a venue-local date-time (LOCAL_DATE_TIME_PATTERN) as the epoch
 * milliseconds of the same reading in UTC, or null for anything else (a day or hour that does not
 * exist on any calendar, a year outside 2000–2199: the schedule window).
 */
export function parseLocalDateTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = LOCAL_DATE_TIME_PATTERN.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  if (year < 2000 || year > 2199 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * What a wall clock reading (`wallMs`: the reading as if in UTC, see parseLocalDateTime) is in
 * `timeZone`: ONE instant; none (GAP: clocks skip it, daylight saving time starting; `from`/`to`
 * the wall clock readings the skip goes from and to, as if in UTC); or two (TWICE: clocks repeat it,
 * daylight saving time ending; the earlier first). From the tz data through Intl: every offset the
 * zone has within 15 h of the reading is tried, and an instant counts when the zone shows that very
 * offset then. Throws RangeError for a zone Intl does not know.
 */
export function resolveWallClock(
  wallMs: number,
  timeZone: string,
):
  | { kind: 'ONE'; instant: Date }
  | { kind: 'GAP'; fromMs: number; toMs: number }
  | { kind: 'TWICE'; instants: [Date, Date] } {
  const offsets = new Set<number>();
  for (let hours = -15; hours <= 15; hours += 1) {
    offsets.add(offsetMinutesAt(new Date(wallMs + hours * 3_600_000), timeZone));
  }
  const instants = [...offsets]
    .map((offset) => wallMs - offset * 60_000)
    .filter((instant) => offsetMinutesAt(new Date(instant), timeZone) * 60_000 === wallMs - instant)
    .sort((a, b) => a - b);
  if (instants.length === 1) return { kind: 'ONE', instant: new Date(instants[0]) };
  if (instants.length >= 2) return { kind: 'TWICE', instants: [new Date(instants[0]), new Date(instants[1])] };
  // Skipped: the offset before the change is the smaller one. Find the change's instant between the
  // two readings (to the millisecond), then the wall clock just before and at it.
  const sorted = [...offsets].sort((a, b) => a - b);
  const before = sorted[0];
  const after = sorted[sorted.length - 1];
  let low = wallMs - after * 60_000;
  let high = wallMs - before * 60_000;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetMinutesAt(new Date(middle), timeZone) === before) low = middle;
    else high = middle;
  }
  return { kind: 'GAP', fromMs: high + before * 60_000, toMs: high + after * 60_000 };
}

/**
 * The instant of a venue-local date-time `value` (LOCAL_DATE_TIME_PATTERN) in `timeZone`, for an
 * entry that cannot be misread (`field`, e.g. startsAtLocal). Throws InvalidInputError: not such a
 * date-time; a reading clocks skip there (naming the gap); one they repeat (asking for `startsAt`
 * with the offset meant, both given).
 */
export function toLocalDateTime(value: string, timeZone: string, field: string, instantField: string): Date {
  const wallMs = parseLocalDateTime(value);
  if (wallMs === null) {
    throw new InvalidInputError(
      `${field} must be a date-time on the venue's wall clock without an offset, YYYY-MM-DDTHH:mm or YYYY-MM-DDTHH:mm:ss, between 2000-01-01T00:00 and 2199-12-31T23:59:59`,
    );
  }
  const resolved = resolveWallClock(wallMs, timeZone);
  if (resolved.kind === 'ONE') return resolved.instant;
  const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  if (resolved.kind === 'GAP') {
    throw new InvalidInputError(
      `${field} ${value} does not exist in ${timeZone}: clocks there jump from ${clock(resolved.fromMs)} to ` +
        `${clock(resolved.toMs)} that day (daylight saving time begins); give a time outside that gap`,
      { [field]: value, timeZone },
    );
  }
  const [first, second] = resolved.instants.map((instant) => formatLocalDateTime(instant, timeZone));
  throw new InvalidInputError(
    `${field} ${value} happens twice in ${timeZone} (clocks fall back that night): give ${instantField} with the ` +
      `offset you mean instead, ${first} (the first) or ${second} (the second)`,
    { [field]: value, timeZone, [instantField]: [first, second] },
  );
}
