import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLuaScript } from '@app/redis';
import { freePort, waitUntil } from '@app/testing';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { performanceKeys, seatingKeys } from '../redis-keys';
import { SeatStateStore } from '../seats/seat-state.store';
import { BLOCK_SEATS, RELEASE_SEAT_BLOCKS } from './seat-block-scripts';
import { MAX_SEATS_PER_BLOCK_SELECTION } from './seat-blocks';

/** Runs per size; the median is reported. */
const RUNS = 9;

/**
 * How long Redis spends in one run of block-seats.lua (and release-seat-blocks.lua) for a block by
 * place of MAX_SEATS_PER_BLOCK_SELECTION seats, the bound of one request: a private redis-server
 * with SLOWLOG logging every command, so the figures are Redis' own execution time, not the round
 * trip, and no other test's commands share the server. README "Blocked seats" quotes them.
 */
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

  it(`blocks and releases up to ${MAX_SEATS_PER_BLOCK_SELECTION} seats (whole rows of a 4,000-seat section) in one run each, printing Redis' time`, async () => {
    // 40 rows of 100 seats in one section: every row's slot and the section's are refreshed.
    const performanceId = 1;
    const keys = performanceKeys(performanceId);
    const hall = drawHall([{ name: 'Stalls', rows: Array.from({ length: 40 }, () => '.'.repeat(100)) }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(performanceId, hall));
    // The scripts as the app runs them (the int tests' key check is not around them here).
    const [blockSha, releaseSha] = (await Promise.all([
      redis.script('LOAD', loadLuaScript(BLOCK_SEATS.file).lua),
      redis.script('LOAD', loadLuaScript(RELEASE_SEAT_BLOCKS.file).lua),
    ])) as string[];
    const blockKeys = [keys.meta, keys.seats, keys.counts, keys.seatHolds, ...seatingKeys(keys)];
    const releaseKeys = [keys.meta, keys.seats, keys.counts, ...seatingKeys(keys)];
    /** Microseconds Redis spent on the last command, from SLOWLOG (each command logged). */
    const lastDuration = async (): Promise<number> => {
      const [entry] = (await redis.slowlog('GET', 1)) as [number, number, number, string[]][];
      expect(entry[3][0].toLowerCase()).toBe('evalsha');
      return entry[2];
    };
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const timings: Record<string, { blockMs: number; releaseMs: number }> = {};
    for (const size of [500, 1000, MAX_SEATS_PER_BLOCK_SELECTION]) {
      const seatIds = hall.places.slice(0, size).map((place) => String(place.id));
      const blocks: number[] = [];
      const releases: number[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        await redis.slowlog('RESET');
        expect(
          ((await redis.evalsha(blockSha, blockKeys.length, ...blockKeys, 'all', ...seatIds)) as unknown[]).slice(0, 2),
        ).toEqual(['OK', size]);
        blocks.push(await lastDuration());
        await redis.slowlog('RESET');
        expect(await redis.evalsha(releaseSha, releaseKeys.length, ...releaseKeys, ...seatIds)).toEqual(['OK', size]);
        releases.push(await lastDuration());
      }
      timings[size] = { blockMs: median(blocks) / 1000, releaseMs: median(releases) / 1000 };
    }
    console.info(
      `block-seats.lua / release-seat-blocks.lua, Redis time (SLOWLOG, median of ${RUNS}): ${JSON.stringify(timings)}`,
    );
    // Measured, not asserted (timings belong to no test's verdict): the README quotes the figures.
    expect(await seatingDisagreements(redis, performanceId, hall.places)).toEqual([]);
  });
});
