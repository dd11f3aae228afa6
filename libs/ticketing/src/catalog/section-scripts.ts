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

/** How the stepwise count of section-availability.lua runs (times in ms, step in seats). */
export interface AvailabilityCounting {
  /** A complete count answers without a step while younger than this. */
  keepMs: number;
  /** Seats scanned per step (one step per call once the count is older than keepMs). */
  step: number;
  /** A count older than this (no reader for a while) is redone whole in one call. */
  wholeAfterMs: number;
}

/**
 * Available seats per section (ranges disjoint, ascending), in their order, from the last
 * complete count (see section-availability.lua); null when the performance is not registered.
 */
export async function sectionAvailability(
  redis: Redis,
  keys: PerformanceKeys,
  counting: AvailabilityCounting,
  sections: readonly SeatIdRange[],
): Promise<number[] | null> {
  const [outcome, counts] = await callScript<[string, string?]>(
    redis,
    SECTION_AVAILABILITY.name,
    [keys.meta, keys.seats, keys.sectionAvailability],
    [counting.keepMs, counting.step, counting.wholeAfterMs, ...sections.flatMap((s) => [s.firstSeatId, s.lastSeatId])],
  );
  if (outcome !== 'OK') return null;
  return counts === '' || counts === undefined ? [] : counts.split(',').map(Number);
}
