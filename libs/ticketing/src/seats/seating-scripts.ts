import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';

export const REBUILD_SEATING: LuaScript = {
  name: 'boxofficeRebuildSeating',
  file: join(__dirname, 'rebuild-seating.lua'),
};

export const SEATING_FORMAT_STEP: LuaScript = {
  name: 'boxofficeSeatingFormat',
  file: join(__dirname, 'seating-format.lua'),
};

/**
 * Rewrites the free bits and runs of rows `firstRow`…`lastRow` (indexes from 0, inclusive) from
 * the seat letters (`rebuild-seating.lua`) as data of `format` (SEATING_FORMAT); answers the free
 * seats among them, or -1 (nothing written) when the layout's `ready` is no longer `format`,
 * complete or being built: a newer version began building its own (seating-format.lua).
 */
export function rebuildSeating(
  redis: Redis,
  keys: PerformanceKeys,
  firstRow: number,
  lastRow: number,
  format: number,
): Promise<number> {
  return callScript<number>(
    redis,
    REBUILD_SEATING.name,
    [keys.seats, ...seatingKeys(keys)],
    [firstRow, lastRow, format],
  );
}

/**
 * One step of building the seating data as `format` (seating-format.lua): 'begin' before writing
 * it, 'finish' after. False when refused: a newer format is stored or being built (nothing written).
 */
export async function stepSeatingFormat(
  redis: Redis,
  keys: PerformanceKeys,
  format: number,
  step: 'begin' | 'finish',
): Promise<boolean> {
  return (await callScript<number>(redis, SEATING_FORMAT_STEP.name, [keys.seating], [format, step])) === 1;
}
