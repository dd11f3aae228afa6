import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@app/core';
import {
  formatLocalDateTime,
  offsetMinutesAt,
  parseLocalDateTime,
  resolveWallClock,
  toLocalDateTime,
} from './date-time';

/** Zones with daylight saving time of an hour, of 30 minutes, south of the equator, none, and odd offsets. */
const ZONES = [
  'UTC',
  'Asia/Seoul',
  'America/New_York',
  'Europe/Berlin',
  'Europe/London',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'America/St_Johns',
  'Africa/Casablanca',
];

const SCHEDULE = { min: Date.UTC(2000, 0, 2), max: Date.UTC(2199, 11, 30) };

/** The wall clock reading of `instant` in `timeZone`, to the second, without offset. */
const wallOf = (instant: number, timeZone: string) => formatLocalDateTime(new Date(instant), timeZone).slice(0, 19);

describe('venue-local date-times (startsAtLocal)', () => {
  it('resolves a plain reading, and names a skipped one and a repeated one', () => {
    expect(toLocalDateTime('2027-05-01T19:00', 'Asia/Seoul', 'startsAtLocal', 'startsAt').toISOString()).toBe(
      '2027-05-01T10:00:00.000Z',
    );
    expect(toLocalDateTime('2027-05-01T19:00:30', 'UTC', 'startsAtLocal', 'startsAt').toISOString()).toBe(
      '2027-05-01T19:00:30.000Z',
    );
    expect(() => toLocalDateTime('2027-03-14T02:30', 'America/New_York', 'startsAtLocal', 'startsAt')).toThrow(
      'startsAtLocal 2027-03-14T02:30 does not exist in America/New_York: clocks there jump from 02:00 to 03:00 that day (daylight saving time begins); give a time outside that gap',
    );
    expect(() => toLocalDateTime('2027-10-03T02:15', 'Australia/Lord_Howe', 'startsAtLocal', 'startsAt')).toThrow(
      /clocks there jump from 02:00 to 02:30/,
    );
    expect(() => toLocalDateTime('2027-11-07T01:30', 'America/New_York', 'startsAtLocal', 'startsAt')).toThrow(
      'startsAtLocal 2027-11-07T01:30 happens twice in America/New_York (clocks fall back that night): give startsAt with the offset you mean instead, 2027-11-07T01:30:00-04:00 (the first) or 2027-11-07T01:30:00-05:00 (the second)',
    );
    for (const bad of [
      '2027-02-29T19:00',
      '2027-05-01T24:00',
      '2027-05-01T19:00Z',
      '2027-05-01 19:00',
      '1999-12-31T23:00',
      '2027-05-01T19:00:00.5',
    ]) {
      expect(() => toLocalDateTime(bad, 'UTC', 'startsAtLocal', 'startsAt'), bad).toThrow(InvalidInputError);
    }
  });

  it('gives back every instant from its own wall clock reading (or names it among the two of a repeated hour)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer(SCHEDULE).map((ms) => ms - (ms % 1000)),
        (timeZone, instant) => {
          const resolved = resolveWallClock(parseLocalDateTime(wallOf(instant, timeZone))!, timeZone);
          if (resolved.kind === 'ONE') expect(resolved.instant.getTime()).toBe(instant);
          else if (resolved.kind === 'TWICE') expect(resolved.instants.map((d) => d.getTime())).toContain(instant);
          else expect.fail(`a reading of a real instant was called skipped: ${wallOf(instant, timeZone)} ${timeZone}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers only instants that read so there, and a gap only for a reading no nearby instant has', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer(SCHEDULE).map((ms) => ms - (ms % 60_000)),
        (timeZone, wallMs) => {
          const wall = new Date(wallMs).toISOString().slice(0, 19);
          const resolved = resolveWallClock(wallMs, timeZone);
          if (resolved.kind === 'ONE') expect(wallOf(resolved.instant.getTime(), timeZone)).toBe(wall);
          if (resolved.kind === 'TWICE') {
            const [first, second] = resolved.instants.map((d) => d.getTime());
            expect(first).toBeLessThan(second);
            expect([wallOf(first, timeZone), wallOf(second, timeZone)]).toEqual([wall, wall]);
          }
          if (resolved.kind === 'GAP') {
            expect(resolved.fromMs).toBeLessThanOrEqual(wallMs);
            expect(resolved.toMs).toBeGreaterThan(wallMs);
            // No offset the zone has nearby reads so.
            for (let hours = -15; hours <= 15; hours += 1) {
              const offset = offsetMinutesAt(new Date(wallMs + hours * 3_600_000), timeZone);
              expect(wallOf(wallMs - offset * 60_000, timeZone)).not.toBe(wall);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds the skipped and repeated readings around each change of offset', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer(SCHEDULE), (timeZone, from) => {
        // The first change of offset within 200 days of `from`, to the minute.
        let low = from - (from % 60_000);
        const start = offsetMinutesAt(new Date(low), timeZone);
        let high = low + 200 * 86_400_000;
        if (offsetMinutesAt(new Date(high), timeZone) === start) return;
        while (high - low > 60_000) {
          const middle = low + Math.floor((high - low) / 120_000) * 60_000;
          if (offsetMinutesAt(new Date(middle), timeZone) === start) low = middle;
          else high = middle;
        }
        const after = offsetMinutesAt(new Date(high), timeZone);
        // The first reading from the change on the slower clock: skipped when clocks went forward
        // ([change + old, change + new)), repeated when back ([change + new, change + old)).
        const wallMs = high + Math.min(start, after) * 60_000;
        const kind = resolveWallClock(wallMs, timeZone).kind;
        expect(kind).toBe(after > start ? 'GAP' : 'TWICE');
      }),
      { numRuns: 300 },
    );
  });
});
