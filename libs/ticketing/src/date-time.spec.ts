import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  formatLocalDateTime,
  formatWallClock,
  parseDateTime,
  parseScheduleTime,
  toDateTime,
  toScheduleTime,
  timeZoneRefusal,
  toTimeZone,
} from './date-time';
import { InvalidInputError } from './errors';

describe('RFC 3339 date-times', () => {
  it.each([
    ['2027-03-01T19:00:00+09:00', '2027-03-01T10:00:00.000Z'],
    ['2027-03-01T10:00:00Z', '2027-03-01T10:00:00.000Z'],
    ['2027-03-01T10:00:00.5Z', '2027-03-01T10:00:00.500Z'],
    ['2027-03-01T10:00:00.123456-02:30', '2027-03-01T12:30:00.123Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('reads %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['no offset', '2027-03-01T19:00:00'],
    ['a date only', '2027-03-01'],
    ['a week date', '2027-W09-1T19:00:00Z'],
    ['an ordinal date', '2027-060T19:00:00Z'],
    ['a comma fraction', '2027-03-01T19:00:00,5Z'],
    ['a day that does not exist', '2027-02-29T19:00:00Z'],
    ['hour 24', '2027-03-01T24:00:00Z'],
    ['a leap second', '2027-03-01T23:59:60Z'],
    ['an offset without colon', '2027-03-01T19:00:00+0900'],
    ['an extended year', '+275760-09-13T00:00:00Z'],
    ['year 0000', '0000-06-01T00:00:00Z'],
    ['an instant after year 9999', '9999-12-31T23:00:00-05:00'],
    ['a lower-case separator', '2027-03-01t19:00:00z'],
    ['a space before the time', '2027-03-01 19:00:00Z'],
    ['a NUL inside', '2027-03-01T19:00:00\u0000Z'],
    ['a number', 1_700_000_000_000],
    ['null', null],
  ])('refuses %s', (_name, value) => {
    expect(parseDateTime(value)).toBeNull();
  });

  it('names the field when a value slipped past the edge', () => {
    expect(() => toDateTime('2027-03-01T19:00:00', 'startsAt')).toThrow(InvalidInputError);
    expect(() => toDateTime('2027-03-01T19:00:00', 'startsAt')).toThrow(/startsAt/);
  });
});

describe('schedule times (2000-01-01T00:00:00Z to 2199-12-31T23:59:59.999Z)', () => {
  it.each([
    ['2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z'],
    ['2000-01-01T09:00:00+09:00', '2000-01-01T00:00:00.000Z'],
    ['2199-12-31T23:59:59.999Z', '2199-12-31T23:59:59.999Z'],
    ['2027-03-01T19:00:00+09:00', '2027-03-01T10:00:00.000Z'],
  ])('takes %s', (text, iso) => {
    expect(parseScheduleTime(text)?.toISOString()).toBe(iso);
    expect(toScheduleTime(text, 'startsAt').toISOString()).toBe(iso);
  });

  it.each([
    ['9999-12-31T23:59:59Z', /startsAt must be between/],
    ['0001-01-01T00:00:00Z', /startsAt must be between/],
    ['1999-12-31T23:59:59.999Z', /startsAt must be between/],
    ['2000-01-01T08:59:59+09:00', /startsAt must be between/],
    ['2200-01-01T00:00:00Z', /startsAt must be between/],
    ['2027-03-01T19:00:00', /startsAt must be an RFC 3339 date-time/],
  ])('refuses %s', (text, message) => {
    expect(parseScheduleTime(text)).toBeNull();
    expect(() => toScheduleTime(text, 'startsAt')).toThrow(message);
  });
});

describe('venue time zones', () => {
  it.each([
    ['Asia/Seoul', 'Asia/Seoul'],
    ['asia/seoul', 'Asia/Seoul'],
    ['UTC', 'UTC'],
    ['America/New_York', 'America/New_York'],
    ['US/Eastern', 'America/New_York'],
    ['EST5EDT', 'America/New_York'],
    ['Etc/UTC', 'UTC'],
    ['GMT', 'UTC'],
    ['Etc/GMT-0', 'UTC'],
    // ICU's older ids come out as the tz database names them today, whichever spelling is sent.
    ['Asia/Calcutta', 'Asia/Kolkata'],
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['asia/saigon', 'Asia/Ho_Chi_Minh'],
    ['Europe/Kiev', 'Europe/Kyiv'],
    ['America/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
  ])('takes %s as %s', (name, canonical) => {
    expect(canonicalTimeZone(name)).toBe(canonical);
    expect(toTimeZone(name)).toBe(canonical);
  });

  it('names every zone this runtime knows as the tz database does, and still shows times in it', () => {
    const names = Intl.supportedValuesOf('timeZone').map((zone) => canonicalTimeZone(zone));
    for (const name of names.filter((zone) => zone !== null)) {
      expect(canonicalTimeZone(name)).toBe(name);
      const local = formatLocalDateTime(new Date('2027-03-01T10:30:00Z'), name);
      expect(parseDateTime(local)?.toISOString()).toBe('2027-03-01T10:30:00.000Z');
    }
    expect(names).toContain('Asia/Kolkata');
    expect(names).not.toContain('Asia/Calcutta');
  });

  // Every name a venue could send: the runtime's zones, the tz database's legacy and backward
  // names, and ICU's own fixed-offset ids, in the spellings sent and in lower case.
  const LEGACY_NAMES = [
    ...['AST4', 'AST4ADT', 'CST6', 'CST6CDT', 'EST5', 'EST5EDT', 'HST10', 'MST7', 'MST7MDT', 'PST8', 'PST8PDT'],
    ...['YST9', 'YST9YDT'],
  ].map((zone) => `SystemV/${zone}`);
  const ETC_OFFSETS = Array.from({ length: 27 }, (_, i) => i - 14)
    .filter((hours) => hours !== 0)
    .map((hours) => `Etc/GMT${hours < 0 ? '-' : '+'}${Math.abs(hours)}`);
  const FIXED = [...LEGACY_NAMES, ...ETC_OFFSETS, 'EST', 'MST', 'HST'];
  const RULE_BASED_LEGACY = ['CET', 'MET', 'EET', 'WET', 'EST5EDT', 'CST6CDT', 'MST7MDT', 'PST8PDT'];
  const BACKWARD = ['US/Eastern', 'US/Hawaii', 'Canada/Pacific', 'Navajo', 'PRC', 'ROK', 'GMT', 'Zulu', 'Etc/GMT-0'];
  const SENT = [...Intl.supportedValuesOf('timeZone'), ...FIXED, ...RULE_BASED_LEGACY, ...BACKWARD, 'UTC'];

  it("takes only a place's zone (Area/Location) or UTC, in its canonical spelling, of every name it is sent", () => {
    const accepted = SENT.flatMap((name) => [name, name.toLowerCase()])
      .map((name) => [name, canonicalTimeZone(name)] as const)
      .filter(([, zone]) => zone !== null);
    expect(accepted.length).toBeGreaterThan(300);
    for (const [name, zone] of accepted) {
      expect(
        zone === 'UTC' ||
          /^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)\//.test(zone!),
        name,
      ).toBe(true);
      // Canonical: the name it is stored as comes back as itself.
      expect(canonicalTimeZone(zone), name).toBe(zone);
    }
  });

  it.each(FIXED.flatMap((name) => [name, name.toLowerCase()]))(
    'refuses the fixed-offset zone %s with the 400',
    (name) => {
      expect(canonicalTimeZone(name)).toBeNull();
      expect(() => toTimeZone(name)).toThrow(new InvalidInputError(timeZoneRefusal()));
    },
  );

  it.each([
    ['CET', 'Europe/Brussels'],
    ['EET', 'Europe/Athens'],
    ['WET', 'Europe/Lisbon'],
    ['CST6CDT', 'America/Chicago'],
    ['PST8PDT', 'America/Los_Angeles'],
    ['US/Hawaii', 'Pacific/Honolulu'],
  ])('takes the rule-based legacy name %s as %s', (name, zone) => {
    expect(canonicalTimeZone(name)).toBe(zone);
  });

  it.each([
    ['Mars/Olympus'],
    ['+09:00'],
    ['-05:00'],
    ['Etc/GMT+5'],
    ['etc/gmt-14'],
    ['Etc/GMT+12'],
    [''],
    ['x'.repeat(65)],
    [' Asia/Seoul'],
    [9],
    [null],
  ])('refuses %j', (name) => {
    expect(canonicalTimeZone(name)).toBeNull();
    if (typeof name === 'string') expect(() => toTimeZone(name)).toThrow(InvalidInputError);
  });

  it.each([
    ['2027-03-01T10:30:00Z', 'Asia/Seoul', '2027-03-01T19:30:00+09:00'],
    // New York: standard time (-05:00) in winter, daylight saving time (-04:00) in summer.
    ['2027-01-15T00:30:00Z', 'America/New_York', '2027-01-14T19:30:00-05:00'],
    ['2027-07-15T23:30:00Z', 'America/New_York', '2027-07-15T19:30:00-04:00'],
    // The DST change of 14 March 2027 at 02:00 local: one second before and at it.
    ['2027-03-14T06:59:59Z', 'America/New_York', '2027-03-14T01:59:59-05:00'],
    ['2027-03-14T07:00:00Z', 'America/New_York', '2027-03-14T03:00:00-04:00'],
    ['2027-07-15T23:30:00Z', 'UTC', '2027-07-15T23:30:00+00:00'],
    ['2027-07-15T23:30:00.250Z', 'Asia/Kolkata', '2027-07-16T05:00:00.250+05:30'],
    ['2027-01-01T00:00:00Z', 'America/St_Johns', '2026-12-31T20:30:00-03:30'],
  ])('shows %s in %s as %s', (instant, zone, local) => {
    expect(formatLocalDateTime(new Date(instant), zone)).toBe(local);
    // The local form names the same instant.
    expect(parseDateTime(local)?.toISOString()).toBe(new Date(instant).toISOString());
  });
});

describe('formatWallClock (what a person at the venue reads)', () => {
  it.each([
    ['2027-03-01T10:30:00Z', 'Asia/Seoul', 'Mon 2027-03-01 19:30 UTC+09:00 (Asia/Seoul)'],
    ['2027-03-01T10:30:45Z', 'Asia/Seoul', 'Mon 2027-03-01 19:30:45 UTC+09:00 (Asia/Seoul)'],
    ['2027-03-01T10:30:45.500Z', 'Asia/Seoul', 'Mon 2027-03-01 19:30:45 UTC+09:00 (Asia/Seoul)'],
    ['2027-03-01T04:59:59Z', 'America/New_York', 'Sun 2027-02-28 23:59:59 UTC-05:00 (America/New_York)'],
    ['2027-03-01T10:30:00Z', 'UTC', 'Mon 2027-03-01 10:30 UTC'],
    ['2027-03-01T10:30:00Z', 'Asia/Kolkata', 'Mon 2027-03-01 16:00 UTC+05:30 (Asia/Kolkata)'],
  ])('shows %s in %s as %s', (instant, zone, shown) => {
    expect(formatWallClock(new Date(instant), zone)).toBe(shown);
  });

  it.each([
    // The hour New York's clocks repeat when daylight saving time ends, first -04:00 then -05:00.
    ['America/New_York', '2027-11-07T01:30:00-04:00', '2027-11-07T01:30:00-05:00', 'Sun 2027-11-07 01:30'],
    // Lord Howe turns back half an hour: 01:30–02:00 is lived twice, at +11:00 then +10:30.
    ['Australia/Lord_Howe', '2027-04-04T01:45:00+11:00', '2027-04-04T01:45:00+10:30', 'Sun 2027-04-04 01:45'],
  ])('tells apart the two instants of the repeated wall time in %s', (zone, first, second, wall) => {
    const [early, late] = [first, second].map((time) => formatWallClock(parseDateTime(time)!, zone));
    expect(early).not.toBe(late);
    expect(early).toBe(`${wall} UTC${first.slice(-6)} (${zone})`);
    expect(late).toBe(`${wall} UTC${second.slice(-6)} (${zone})`);
  });
});
