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

export const WRITE_SEATING_LAYOUT: LuaScript = {
  name: 'boxofficeWriteSeatingLayout',
  file: join(__dirname, 'write-seating-layout.lua'),
};

/**
 * How a write of a seating build went (the seating-build include): `WRITTEN`; `FORMAT_MOVED`,
 * nothing written: the layout's `ready` is no longer the builder's format, complete or being
 * built (a newer version began building its own, seating-format.lua); `LEASE_LOST`, nothing
 * written: the rebuild lease the builder wrote under is no longer its own (it lapsed, and another
 * process may build the data from its own read).
 */
export type SeatingWrite = 'WRITTEN' | 'FORMAT_MOVED' | 'LEASE_LOST';

/** A seating build script's reply as a {@link SeatingWrite}: -1 and -2 are its refusals. */
export function seatingWrite(reply: number): SeatingWrite {
  if (reply === -1) return 'FORMAT_MOVED';
  if (reply === -2) return 'LEASE_LOST';
  return 'WRITTEN';
}

/**
 * Rewrites the free bits and runs of rows `firstRow`…`lastRow` (indexes from 0, inclusive) from
 * the seat letters (`rebuild-seating.lua`) as data of `format` (SEATING_FORMAT), only while the
 * build is still the caller's: `lease`, the rebuild lease's token it builds under (null: none, a
 * first registration), and `ready` its format. Answers the free seats among them, or -1 (nothing
 * written) when the layout's `ready` is no longer `format`, complete or being built (a newer
 * version began building its own, seating-format.lua), or -2 when the lease is no longer `lease`.
 */
export function rebuildSeating(
  redis: Redis,
  keys: PerformanceKeys,
  firstRow: number,
  lastRow: number,
  format: number,
  lease: string | null = null,
): Promise<number> {
  return callScript<number>(
    redis,
    REBUILD_SEATING.name,
    [keys.seats, ...seatingKeys(keys), keys.rebuildLease],
    [firstRow, lastRow, format, lease ?? ''],
  );
}

/**
 * One step of building the seating data as `format` (seating-format.lua) under the rebuild lease
 * `lease` (null: none): 'begin' before writing it, 'finish' after.
 */
export async function stepSeatingFormat(
  redis: Redis,
  keys: PerformanceKeys,
  format: number,
  step: 'begin' | 'finish',
  lease: string | null = null,
): Promise<SeatingWrite> {
  const reply = await callScript<number>(
    redis,
    SEATING_FORMAT_STEP.name,
    [keys.seating, keys.rebuildLease],
    [format, step, lease ?? ''],
  );
  return seatingWrite(reply);
}

/**
 * Writes part of the static seating layout of `format` (write-seating-layout.lua), only while the
 * build is still the caller's (as {@link rebuildSeating}): the whole seat info string, or some
 * fields of the layout hash (at most LUA_UNPACK_PAIRS of them: the script passes them to one HSET).
 */
export async function writeSeatingLayout(
  redis: Redis,
  keys: PerformanceKeys,
  format: number,
  lease: string | null,
  part: { seatInfo: Buffer } | { fields: readonly [string, string | Buffer][] },
): Promise<SeatingWrite> {
  const data = 'seatInfo' in part ? ['info', part.seatInfo] : ['fields', ...part.fields.flat()];
  const reply = await callScript<number>(
    redis,
    WRITE_SEATING_LAYOUT.name,
    [keys.seating, keys.seatInfo, keys.rebuildLease],
    [format, lease ?? '', ...data],
  );
  return seatingWrite(reply);
}

/**
 * Field, value pairs one write-seating-layout.lua call sets: Lua's `unpack` gives at most about
 * 8,000 values (LUAI_MAXCSTACK), two a field.
 */
export const LUA_UNPACK_PAIRS = 2000;
