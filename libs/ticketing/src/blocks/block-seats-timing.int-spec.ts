import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLuaScript } from '@app/redis';
import { freePort, waitUntil } from '@app/testing';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { performanceKeys, seatingKeys } from '../redis-keys';
import { SeatStateStore } from '../seats/seat-state.store';
import { BLOCK_SEATS, RELEASE_SEAT_BLOCKS } from './seat-block-scripts';
import { BLOCK_WORK_PER_ROW, MAX_BLOCK_SELECTION_WORK, MAX_SEATS_PER_BLOCK_SELECTION } from './seat-blocks';

/** Runs per shape; the median is reported. */
const RUNS = 5;

/**
 * Selections at the bounds of one request (MAX_SEATS_PER_BLOCK_SELECTION seats, at most
 * MAX_BLOCK_SELECTION_WORK of work: the seats of the touched rows plus BLOCK_WORK_PER_ROW a row),
 * in one section of `sectionRows` rows of `perRow` seats: seats `from`–`to` of its first
 * `touchRows` rows. Whole rows cost the least per seat; columns across many rows (aisle seats) and
 * long rows the most, each touched row being refreshed whole.
 */
const SHAPES = [
  { name: 'whole rows: 20 rows of 100', sectionRows: 40, perRow: 100, touchRows: 20, from: 1, to: 100 },
  { name: 'seats 1-100 of 19 rows of 1,000', sectionRows: 20, perRow: 1000, touchRows: 19, from: 1, to: 100 },
  { name: 'seats 1-2 of 400 rows of 20', sectionRows: 1000, perRow: 20, touchRows: 400, from: 1, to: 2 },
  { name: 'seats 1-4 of 500 rows of 10', sectionRows: 500, perRow: 10, touchRows: 500, from: 1, to: 4 },
  { name: 'seat 1 of 500 rows of 10', sectionRows: 2000, perRow: 10, touchRows: 500, from: 1, to: 1 },
  {
    name: 'seat 1 of 500 rows of 10, in a section of 10,000 rows',
    sectionRows: 10_000,
    perRow: 10,
    touchRows: 500,
    from: 1,
    to: 1,
  },
  { name: 'seat 1 of 153 rows of 100', sectionRows: 200, perRow: 100, touchRows: 153, from: 1, to: 1 },
];

describe('block-seats.lua time for a block by place (private redis-server, SLOWLOG)', () => {
  let server: ChildProcess;
  let redis: Redis;

  beforeAll(async () => {
    const port = await freePort();
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--slowlog-log-slower-than',
        '0',
        '--slowlog-max-len',
        '1024',
      ],
      { stdio: 'ignore' },
    );
    redis = new Redis({ port, retryStrategy: () => 50 });
    // Refused until the server listens; the client retries by itself.
    redis.on('error', () => undefined);
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', `redis-server on ${port}`);
  });
  afterAll(() => {
    redis?.disconnect();
    server?.kill('SIGKILL');
  });

  it(`blocks and releases selections at the bounds (${MAX_SEATS_PER_BLOCK_SELECTION} seats, work ${MAX_BLOCK_SELECTION_WORK}) in one run each, printing Redis' time`, async () => {
    // The scripts as the app runs them (the int tests' key check is not around them here).
    const [blockSha, releaseSha] = (await Promise.all([
      redis.script('LOAD', loadLuaScript(BLOCK_SEATS.file).lua),
      redis.script('LOAD', loadLuaScript(RELEASE_SEAT_BLOCKS.file).lua),
    ])) as string[];
    /** Microseconds Redis spent on the last command, from SLOWLOG (each command logged). */
    const lastDuration = async (): Promise<number> => {
      const [entry] = (await redis.slowlog('GET', 1)) as [number, number, number, string[]][];
      expect(entry[3][0].toLowerCase()).toBe('evalsha');
      return entry[2];
    };
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const timings: Record<string, { seats: number; work: number; blockMs: number; releaseMs: number }> = {};
    let performanceId = 0;
    for (const shape of SHAPES) {
      performanceId += 1;
      const keys = performanceKeys(performanceId);
      const hall = drawHall([
        { name: 'Stalls', rows: Array.from({ length: shape.sectionRows }, () => '.'.repeat(shape.perRow)) },
      ]);
      await new SeatStateStore(redis).registerPerformance(hallRegistration(performanceId, hall));
      const blockKeys = [keys.meta, keys.seats, keys.counts, keys.seatHolds, ...seatingKeys(keys)];
      const releaseKeys = [keys.meta, keys.seats, keys.counts, ...seatingKeys(keys)];
      const seatIds = hall.places
        .filter((p) => p.row <= shape.touchRows && p.number >= shape.from && p.number <= shape.to)
        .map((place) => String(place.id));
      const work = shape.touchRows * (shape.perRow + BLOCK_WORK_PER_ROW);
      expect(seatIds.length).toBeLessThanOrEqual(MAX_SEATS_PER_BLOCK_SELECTION);
      expect(work).toBeLessThanOrEqual(MAX_BLOCK_SELECTION_WORK);
      const blocks: number[] = [];
      const releases: number[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        await redis.slowlog('RESET');
        expect(
          ((await redis.evalsha(blockSha, blockKeys.length, ...blockKeys, 'all', ...seatIds)) as unknown[]).slice(0, 2),
        ).toEqual(['OK', seatIds.length]);
        blocks.push(await lastDuration());
        if (run === 0) expect(await seatingDisagreements(redis, performanceId, hall.places), shape.name).toEqual([]);
        await redis.slowlog('RESET');
        expect(await redis.evalsha(releaseSha, releaseKeys.length, ...releaseKeys, ...seatIds)).toEqual([
          'OK',
          seatIds.length,
        ]);
        releases.push(await lastDuration());
      }
      expect(await seatingDisagreements(redis, performanceId, hall.places), shape.name).toEqual([]);
      timings[shape.name] = {
        seats: seatIds.length,
        work,
        blockMs: median(blocks) / 1000,
        releaseMs: median(releases) / 1000,
      };
    }
    // Measured, not asserted (timings belong to no test's verdict): the README quotes the figures.
    console.info(
      `block-seats.lua / release-seat-blocks.lua, Redis time (SLOWLOG, median of ${RUNS}): ${JSON.stringify(timings, null, 1)}`,
    );
  }, 300_000);
});
