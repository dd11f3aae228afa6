import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SEED_SEATS, parseSeedOptions } from './seed-options';

describe('parseSeedOptions', () => {
  it('gives the defaults without arguments', () => {
    expect(parseSeedOptions([])).toEqual({ events: 3, seats: 2000, performances: 2, ifEmpty: false, help: false });
  });

  it('reads every option', () => {
    expect(
      parseSeedOptions(['--events', '1', '--seats', String(MAX_SEED_SEATS), '--performances', '4', '--if-empty']),
    ).toEqual({ events: 1, seats: MAX_SEED_SEATS, performances: 4, ifEmpty: true, help: false });
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

  it('refuses more seats than the demo layout builds, and an unknown option', () => {
    expect(parseSeedOptions(['--seats', String(MAX_SEED_SEATS + 1)])).toEqual({
      error: `--seats must be at most ${MAX_SEED_SEATS}`,
    });
    expect(parseSeedOptions(['--venues', '2'])).toHaveProperty('error');
  });
});
