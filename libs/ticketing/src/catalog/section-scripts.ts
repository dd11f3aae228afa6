import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys } from '../redis-keys';

export const SECTION_AVAILABILITY: LuaScript = {
  name: 'boxofficeSectionAvailability',
  file: join(__dirname, 'section-availability.lua'),
};

/** A section's seats as the availability count names them: seat ids first … last (inclusive). */
export interface SeatIdRange {
  firstSeatId: number;
  lastSeatId: number;
}

/**
 * Available seats per section (ranges disjoint, ascending), in their order, counted at most
 * `keepMs` ago; null when the performance is not registered.
 */
export async function sectionAvailability(
  redis: Redis,
  keys: PerformanceKeys,
  keepMs: number,
  sections: readonly SeatIdRange[],
): Promise<number[] | null> {
  const [outcome, counts] = await callScript<[string, string?]>(
    redis,
    SECTION_AVAILABILITY.name,
    [keys.meta, keys.seats, keys.sectionAvailability],
    [keepMs, ...sections.flatMap((s) => [s.firstSeatId, s.lastSeatId])],
  );
  if (outcome !== 'OK') return null;
  return counts === '' || counts === undefined ? [] : counts.split(',').map(Number);
}
