import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInSettingsOf, checkInStateAt, checkInWindowOf } from './check-in-window';

const STARTS_AT = new Date('2027-03-01T10:30:00Z');
const MINUTE_MS = 60_000;

describe('the check-in window', () => {
  it('spans from `opensBeforeMinutes` before the start to `closesAfterMinutes` after it', () => {
    expect(checkInWindowOf(STARTS_AT, { opensBeforeMinutes: 180, closesAfterMinutes: 240 })).toEqual({
      opensAt: new Date('2027-03-01T07:30:00Z'),
      closesAt: new Date('2027-03-01T14:30:00Z'),
    });
  });

  it('admits exactly at doors open, and no longer exactly at the close (half-open, as the sales window)', () => {
    const window = checkInWindowOf(STARTS_AT, { opensBeforeMinutes: 180, closesAfterMinutes: 240 });
    const opens = window.opensAt.getTime();
    const closes = window.closesAt.getTime();
    expect(checkInStateAt(window, opens - 1)).toBe('NOT_OPEN');
    expect(checkInStateAt(window, opens)).toBe('OPEN');
    expect(checkInStateAt(window, STARTS_AT.getTime())).toBe('OPEN');
    expect(checkInStateAt(window, closes - 1)).toBe('OPEN');
    expect(checkInStateAt(window, closes)).toBe('CLOSED');
  });

  it('opens at the start with 0 minutes before, and closes at it with 0 after', () => {
    const window = checkInWindowOf(STARTS_AT, { opensBeforeMinutes: 0, closesAfterMinutes: 30 });
    expect(checkInStateAt(window, STARTS_AT.getTime() - 1)).toBe('NOT_OPEN');
    expect(checkInStateAt(window, STARTS_AT.getTime())).toBe('OPEN');
    const noLatecomers = checkInWindowOf(STARTS_AT, { opensBeforeMinutes: 60, closesAfterMinutes: 0 });
    expect(checkInStateAt(noLatecomers, STARTS_AT.getTime())).toBe('CLOSED');
  });

  it('moves with the start, and says OPEN exactly inside [start − before, start + after) (generated)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2199-12-31T00:00:00Z') }),
        fc.integer({ min: 0, max: 10_080 }),
        fc.integer({ min: 0, max: 10_080 }),
        fc.integer({ min: -20_000 * MINUTE_MS, max: 20_000 * MINUTE_MS }),
        (starts, before, after, offset) => {
          const window = checkInWindowOf(new Date(starts), { opensBeforeMinutes: before, closesAfterMinutes: after });
          const now = starts + offset;
          const expected =
            now < starts - before * MINUTE_MS ? 'NOT_OPEN' : now >= starts + after * MINUTE_MS ? 'CLOSED' : 'OPEN';
          expect(checkInStateAt(window, now)).toBe(expected);
        },
      ),
    );
  });

  it("takes a performance's own settings where it has them, the global ones otherwise", () => {
    const global = { opensBeforeMinutes: 180, closesAfterMinutes: 240 };
    expect(checkInSettingsOf({}, global)).toEqual(global);
    expect(checkInSettingsOf({ checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null }, global)).toEqual(
      global,
    );
    expect(checkInSettingsOf({ checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: 360 }, global)).toEqual({
      opensBeforeMinutes: 0,
      closesAfterMinutes: 360,
    });
  });
});
