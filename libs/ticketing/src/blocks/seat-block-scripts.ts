import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';

export const BLOCK_SEATS: LuaScript = {
  name: 'boxofficeBlockSeats',
  file: join(__dirname, 'block-seats.lua'),
};

export const RELEASE_SEAT_BLOCKS: LuaScript = {
  name: 'boxofficeReleaseSeatBlocks',
  file: join(__dirname, 'release-seat-blocks.lua'),
};

/** What block-seats.lua did; seat ids as numbers. */
export type BlockOutcome =
  /**
   * `blocked`: seats newly blocked, `fromExpiredHolds` of them taken from holds past their expiry;
   * `skipped` (only with `onlyFree`): the seats left as they are, in a live hold (`held`) or sold.
   */
  | {
      outcome: 'OK';
      blocked: number;
      fromExpiredHolds: number;
      skipped?: { held: number[]; sold: number[] };
    }
  | { outcome: 'NO_PERFORMANCE' }
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  /** Seats in a live hold (`held`) or sold (`sold`): nothing changed. */
  | { outcome: 'UNAVAILABLE'; held: number[]; sold: number[] };

/** What release-seat-blocks.lua did. */
export type ReleaseOutcome =
  { outcome: 'OK'; released: number } | { outcome: 'NO_PERFORMANCE' } | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] };

/**
 * Blocks `seatIds` (distinct, at least one) all or none (block-seats.lua); with `onlyFree`, those
 * of them not held by a live hold nor sold, the others skipped (decided in the script's one run).
 */
export async function blockSeats(
  redis: Redis,
  keys: PerformanceKeys,
  seatIds: readonly number[],
  { onlyFree = false }: { onlyFree?: boolean } = {},
): Promise<BlockOutcome> {
  const [outcome, ...rest] = await callScript<[string, ...(string | number)[]]>(
    redis,
    BLOCK_SEATS.name,
    [keys.meta, keys.seats, keys.counts, keys.seatHolds, ...seatingKeys(keys)],
    [onlyFree ? 'free' : 'all', ...seatIds],
  );
  switch (outcome) {
    case 'OK': {
      const done = { outcome, blocked: Number(rest[0]), fromExpiredHolds: Number(rest[1]) } as const;
      return onlyFree ? { ...done, skipped: byLetter(rest.slice(2)) } : done;
    }
    case 'UNKNOWN_SEATS':
      return { outcome, seatIds: rest.map(Number) };
    case 'UNAVAILABLE':
      return { outcome, ...byLetter(rest) };
    default:
      return { outcome: 'NO_PERFORMANCE' };
  }
}

/** `seat id, letter, …` pairs as the seats held (H) and sold (S). */
function byLetter(pairs: readonly (string | number)[]): { held: number[]; sold: number[] } {
  const held: number[] = [];
  const sold: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) (pairs[i + 1] === 'H' ? held : sold).push(Number(pairs[i]));
  return { held, sold };
}

/** Makes those of `seatIds` (distinct, at least one) that are blocked available (release-seat-blocks.lua). */
export async function releaseSeatBlocks(
  redis: Redis,
  keys: PerformanceKeys,
  seatIds: readonly number[],
): Promise<ReleaseOutcome> {
  const [outcome, ...rest] = await callScript<[string, ...(string | number)[]]>(
    redis,
    RELEASE_SEAT_BLOCKS.name,
    [keys.meta, keys.seats, keys.counts, ...seatingKeys(keys)],
    [...seatIds],
  );
  switch (outcome) {
    case 'OK':
      return { outcome, released: Number(rest[0]) };
    case 'UNKNOWN_SEATS':
      return { outcome, seatIds: rest.map(Number) };
    default:
      return { outcome: 'NO_PERFORMANCE' };
  }
}
