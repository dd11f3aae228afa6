import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';

export const REBUILD_SEATING: LuaScript = {
  name: 'boxofficeRebuildSeating',
  file: join(__dirname, 'rebuild-seating.lua'),
};

/**
 * Rewrites the free bits and runs of rows `firstRow`…`lastRow` (indexes from 0, inclusive) from
 * the seat letters (`rebuild-seating.lua`); answers the free seats among them.
 */
export function rebuildSeating(
  redis: Redis,
  keys: PerformanceKeys,
  firstRow: number,
  lastRow: number,
): Promise<number> {
  return callScript<number>(redis, REBUILD_SEATING.name, [keys.seats, ...seatingKeys(keys)], [firstRow, lastRow]);
}
