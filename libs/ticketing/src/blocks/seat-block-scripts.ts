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
  /** `blocked`: seats newly blocked, `fromExpiredHolds` of them taken from holds past their expiry. */
  | { outcome: 'OK'; blocked: number; fromExpiredHolds: number }
  | { outcome: 'NO_PERFORMANCE' }
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  /** Seats in a live hold (`held`) or sold (`sold`): nothing changed. */
  | { outcome: 'UNAVAILABLE'; held: number[]; sold: number[] };

/** What release-seat-blocks.lua did. */
export type ReleaseOutcome =
  { outcome: 'OK'; released: number } | { outcome: 'NO_PERFORMANCE' } | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] };

/** Blocks `seatIds` (distinct, at least one) all or none (block-seats.lua). */
export async function blockSeats(
  redis: Redis,
  keys: PerformanceKeys,
  seatIds: readonly number[],
): Promise<BlockOutcome> {
  const [outcome, ...rest] = await callScript<[string, ...(string | number)[]]>(
    redis,
    BLOCK_SEATS.name,
    [keys.meta, keys.seats, keys.counts, keys.seatHolds, ...seatingKeys(keys)],
    [...seatIds],
  );
  switch (outcome) {
    case 'OK':
      return { outcome, blocked: Number(rest[0]), fromExpiredHolds: Number(rest[1]) };
    case 'UNKNOWN_SEATS':
      return { outcome, seatIds: rest.map(Number) };
    case 'UNAVAILABLE': {
      const held: number[] = [];
      const sold: number[] = [];
      for (let i = 0; i < rest.length; i += 2) (rest[i + 1] === 'H' ? held : sold).push(Number(rest[i]));
      return { outcome, held, sold };
    }
    default:
      return { outcome: 'NO_PERFORMANCE' };
  }
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
