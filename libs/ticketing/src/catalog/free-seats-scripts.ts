import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys } from '../redis-keys';
import { SEATING_FORMAT } from '../seats/seating-layout';

export const FREE_SEATS_AFTER: LuaScript = {
  name: 'boxofficeFreeSeatsAfter',
  file: join(__dirname, 'free-seats-after.lua'),
};

/** Expired holds one call takes the records of; with more, the caller reads the seat letters. */
const MOST_EXPIRED_HOLDS = 32;
/** Calls answering HOLDS before giving up (holds keep expiring while calls run). */
const ROUNDS = 3;

/** Available seats after a layout position, from the free bitmap (see free-seats-after.lua). */
export interface FreeSeats {
  /** Layout positions of available seats, ascending. */
  positions: number[];
  /** The last position looked at: the last of `positions` when `want` were found, else `last`. */
  looked: number;
}

/**
 * Up to `want` available seats at positions `after` + 1 … `last`, in layout order (see
 * free-seats-after.lua): 'NO_INDEX' when the free bitmap cannot answer exactly (not built, an
 * older format, too many expired holds not swept yet: read the letters instead), null when the
 * performance is not registered. One round trip, two when holds expired since the sweeper ran.
 */
export async function freeSeatsAfter(
  redis: Redis,
  keys: PerformanceKeys,
  after: number,
  want: number,
  last: number,
): Promise<FreeSeats | 'NO_INDEX' | null> {
  let holdIds: string[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    const [outcome, ...rest] = await callScript<[string, ...(string | number)[]]>(
      redis,
      FREE_SEATS_AFTER.name,
      [
        keys.meta,
        keys.seating,
        keys.free,
        keys.seatInfo,
        keys.expiry,
        keys.seats,
        keys.seatHolds,
        ...holdIds.map(keys.hold),
      ],
      [after, want, last, SEATING_FORMAT, MOST_EXPIRED_HOLDS, ...holdIds],
    );
    if (outcome === 'OK') return { looked: Number(rest[0]), positions: rest.slice(1).map(Number) };
    if (outcome === 'NO_PERFORMANCE') return null;
    if (outcome === 'NO_INDEX') return 'NO_INDEX';
    holdIds = [...new Set([...holdIds, ...rest.map(String)])].slice(0, MOST_EXPIRED_HOLDS);
  }
  return 'NO_INDEX';
}
