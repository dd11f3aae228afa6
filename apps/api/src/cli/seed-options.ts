import { parseArgs } from 'node:util';
import { isCanonicalInteger } from '../common/canonical-integer';

/** The usage text `npm run seed -- --help` prints. */
export const SEED_USAGE = `usage: npm run seed -- [--events N] [--seats M] [--performances P] [--if-empty]
  --events N        events to create (default 3)
  --seats M         seats per performance, rounded to whole rows, at most 100000 (default 2000)
  --performances P  performances per event (default 2)
  --if-empty        do nothing when the database already has events (npm start uses this)`;

/** The most seats the demo layout builds a performance of. */
export const MAX_SEED_SEATS = 100_000;

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
 * CANONICAL_INTEGER) and be ≥ 1, seats at most {@link MAX_SEED_SEATS}.
 *
 * @returns the options, or `{ error }` naming the first argument refused (an unknown option too).
 */
export function parseSeedOptions(args: string[]): SeedOptions | { error: string } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
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
  const counts: Record<'events' | 'seats' | 'performances', number> = { events: 0, seats: 0, performances: 0 };
  for (const name of ['events', 'seats', 'performances'] as const) {
    const text = values[name] as string;
    if (!isCanonicalInteger(text) || Number(text) < 1) {
      return { error: `--${name} must be a whole number of at least 1 in decimal digits, not '${text}'` };
    }
    counts[name] = Number(text);
  }
  if (counts.seats > MAX_SEED_SEATS) return { error: `--seats must be at most ${MAX_SEED_SEATS}` };
  return { ...counts, ifEmpty: values['if-empty'] === true, help: values.help === true };
}
