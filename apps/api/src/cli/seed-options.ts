import { parseArgs } from 'node:util';
import { isCanonicalInteger } from '../common/canonical-integer';

/** The usage text `npm run seed -- --help` prints. */
export const SEED_USAGE = `usage: npm run seed -- [--events N] [--seats M] [--performances P] [--if-empty]
  --events N        events to create, at most 10000 (default 3)
  --seats M         seats per performance, rounded to whole rows, at most 100000 (default 2000)
  --performances P  performances per event, at most 100 (default 2)
  --if-empty        do nothing when the database already has events (npm start uses this)`;

/** The most of each count `npm run seed` takes: seats (the demo layout's largest hall), events, performances. */
export const SEED_LIMITS = { events: 10_000, seats: 100_000, performances: 100 } as const;

/** What `npm run seed` was asked for: counts are whole numbers ≥ 1. */
export interface SeedOptions {
  events: number;
  seats: number;
  performances: number;
  ifEmpty: boolean;
  help: boolean;
}

/**
 * Reads `npm run seed`'s arguments (`args`: after the script name). Counts must be spelled as the
 * API spells integers (decimal digits only: not `1e3`, `+2`, `0x10` or `02`; see
 * CANONICAL_INTEGER), be ≥ 1 and at most its {@link SEED_LIMITS}; each option is given at most once.
 *
 * @returns the options, or `{ error }` naming the first argument refused (an unknown or repeated
 *   option too).
 */
export function parseSeedOptions(args: string[]): SeedOptions | { error: string } {
  let values: Record<string, string | boolean | undefined>;
  let tokens: { kind: string; name?: string }[];
  try {
    ({ values, tokens } = parseArgs({
      args,
      tokens: true,
      options: {
        events: { type: 'string', default: '3' },
        seats: { type: 'string', default: '2000' },
        performances: { type: 'string', default: '2' },
        'if-empty': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return { error: (error as Error).message };
  }
  const given = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (given.has(token.name)) return { error: `--${token.name} must be given once` };
    given.add(token.name);
  }
  const counts: Record<'events' | 'seats' | 'performances', number> = { events: 0, seats: 0, performances: 0 };
  for (const name of ['events', 'seats', 'performances'] as const) {
    const text = values[name] as string;
    if (!isCanonicalInteger(text) || Number(text) < 1) {
      return { error: `--${name} must be a whole number of at least 1 in decimal digits, not '${text}'` };
    }
    if (Number(text) > SEED_LIMITS[name]) {
      return { error: `--${name} must be at most ${SEED_LIMITS[name]}` };
    }
    counts[name] = Number(text);
  }
  return { ...counts, ifEmpty: values['if-empty'] === true, help: values.help === true };
}

/** The line `npm run seed` ends with: what it made, e.g. `seed: 1 event, 2 performances, 4,000 seats`. */
export function seedSummary(events: number, performances: number, seats: number): string {
  const count = (n: number, noun: string): string => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
  return `seed: ${count(events, 'event')}, ${count(performances, 'performance')}, ${count(seats, 'seat')}`;
}
