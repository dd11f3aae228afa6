import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSeedOptions, SEED_LIMITS, seedSummary } from './seed-options';

describe('parseSeedOptions', () => {
  it('gives the defaults without arguments', () => {
    expect(parseSeedOptions([])).toEqual({ events: 3, seats: 2000, performances: 2, ifEmpty: false, help: false });
  });

  it('reads every option', () => {
    expect(
      parseSeedOptions(['--events', '1', '--seats', String(SEED_LIMITS.seats), '--performances', '4', '--if-empty']),
    ).toEqual({ events: 1, seats: SEED_LIMITS.seats, performances: 4, ifEmpty: true, help: false });
  });

  it('refuses every spelling of a count but plain decimal digits, naming the option', () => {
    const notCanonical = fc.oneof(
      fc.constantFrom('1e0', '+2', '0x10', '02', '2.0', ' 5', '0', '-1', '', 'three', 'Infinity'),
      fc.string().filter((text) => !/^[1-9][0-9]*$/.test(text)),
    );
    fc.assert(
      fc.property(fc.constantFrom('events', 'seats', 'performances'), notCanonical, (name, text) => {
        const parsed = parseSeedOptions([`--${name}=${text}`]);
        expect(parsed).toHaveProperty('error');
        expect((parsed as { error: string }).error).toContain(`--${name}`);
      }),
    );
  });

  it('refuses a count past its limit, however many digits, naming the option', () => {
    for (const name of ['events', 'seats', 'performances'] as const) {
      for (const text of [String(SEED_LIMITS[name] + 1), '99999999999999999999']) {
        expect(parseSeedOptions([`--${name}`, text]), text).toEqual({
          error: `--${name} must be at most ${SEED_LIMITS[name]}`,
        });
      }
    }
  });

  it('refuses an unknown option and an option given twice', () => {
    expect(parseSeedOptions(['--venues', '2'])).toHaveProperty('error');
    expect(parseSeedOptions(['--events', '1', '--events', '2'])).toEqual({ error: '--events must be given once' });
    expect(parseSeedOptions(['--if-empty', '--if-empty'])).toEqual({ error: '--if-empty must be given once' });
  });
});

describe('seedSummary', () => {
  it('counts in words a reader expects: singular for one, thousands grouped', () => {
    expect(seedSummary(1, 2, 4000)).toBe('seed: 1 event, 2 performances, 4,000 seats');
    expect(seedSummary(3, 1, 1)).toBe('seed: 3 events, 1 performance, 1 seat');
  });
});
