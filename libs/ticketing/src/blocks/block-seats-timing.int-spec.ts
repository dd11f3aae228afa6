import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLuaScript } from '@app/redis';
import { freePort, waitUntil } from '@app/testing';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { performanceKeys, seatingKeys } from '../redis-keys';
import { SeatStateStore } from '../seats/seat-state.store';
import { BLOCK_SEATS, RELEASE_SEAT_BLOCKS } from './seat-block-scripts';
import {
  BLOCK_SECTION_RECOUNT_ROWS,
  BLOCK_WORK_PER_ROW,
  MAX_BLOCK_SELECTION_WORK,
  MAX_SEATS_PER_BLOCK_REQUEST,
  MAX_SEATS_PER_BLOCK_SELECTION,
} from './seat-blocks';

/** Runs per shape; the median is reported. */
const RUNS = 5;

/**
 * Requests at the bounds of one request (MAX_SEATS_PER_BLOCK_SELECTION seats by place, or
 * MAX_SEATS_PER_BLOCK_REQUEST by id; at most MAX_BLOCK_SELECTION_WORK of work: the seats of the
 * touched rows plus BLOCK_WORK_PER_ROW a row), in `sections` sections (1 unless given) of
 * `sectionRows` rows of `perRow` seats: seats `from`–`to` of the first `touchRows` rows of each.
 * Whole rows cost the least per seat; columns across many rows (aisle seats) and long rows the
 * most, each touched row being refreshed whole. Shapes over several sections (at most 100, as a
 * performance has) are the id form's (a selection by place has one section): each section with at most BLOCK_SECTION_RECOUNT_ROWS
 * touched rows gets its slot refreshed after each of them, reading all of the section's row
 * slots, which the id form's work counts.
 */
const SHAPES: {
  name: string;
  /** The id form's: its work counts the row slots of its sections' refreshes too. */
  byId?: boolean;
  sections?: number;
  sectionRows: number;
  perRow: number;
  touchRows: number;
  from: number;
  to: number;
}[] = [
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
  {
    name: 'ids: seat 1 of 480 rows of 10 of 800',
    byId: true,
    sectionRows: 800,
    perRow: 10,
    touchRows: 480,
    from: 1,
    to: 1,
  },
  {
    name: 'ids: seat 1 of 4 rows of 10 of 100 sections of 4 rows',
    byId: true,
    sections: 100,
    sectionRows: 4,
    perRow: 10,
    touchRows: 4,
    from: 1,
    to: 1,
  },
  {
    name: 'ids: seat 1 of 2 rows of 10 of 100 sections of 60 rows',
    byId: true,
    sections: 100,
    sectionRows: 60,
    perRow: 10,
    touchRows: 2,
    from: 1,
    to: 1,
  },
  {
    name: 'ids: seat 1 of 8 rows of 10 of 12 sections of 160 rows',
    byId: true,
    sections: 12,
    sectionRows: 160,
    perRow: 10,
    touchRows: 8,
    from: 1,
    to: 1,
  },
  {
    name: 'ids: 8 rows of 1 seat of 2 sections of 1,200 rows',
    byId: true,
    sections: 2,
    sectionRows: 1200,
    perRow: 1,
    touchRows: 8,
    from: 1,
    to: 1,
  },
  {
    name: 'ids: 9 rows of 1 seat of 15 sections of 1,000 rows',
    byId: true,
    sections: 15,
    sectionRows: 1000,
    perRow: 1,
    touchRows: 9,
    from: 1,
    to: 1,
  },
];

describe('block-seats.lua time for a block by place or by id (private redis-server, SLOWLOG)', () => {
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

  it(`blocks and releases selections and seat ids at the bounds (${MAX_SEATS_PER_BLOCK_SELECTION} seats, ${MAX_SEATS_PER_BLOCK_REQUEST} ids, work ${MAX_BLOCK_SELECTION_WORK}) in one run each, printing Redis' time`, async () => {
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
      const sections = shape.sections ?? 1;
      const hall = drawHall(
        Array.from({ length: sections }, (_, index) => ({
          name: `S${index + 1}`,
          rows: Array.from({ length: shape.sectionRows }, () => '.'.repeat(shape.perRow)),
        })),
      );
      await new SeatStateStore(redis).registerPerformance(hallRegistration(performanceId, hall));
      const blockKeys = [keys.meta, keys.seats, keys.counts, keys.seatHolds, ...seatingKeys(keys)];
      const releaseKeys = [keys.meta, keys.seats, keys.counts, ...seatingKeys(keys)];
      const seatIds = hall.places
        .filter((p) => p.row <= shape.touchRows && p.number >= shape.from && p.number <= shape.to)
        .map((place) => String(place.id));
      const refreshes = shape.touchRows <= BLOCK_SECTION_RECOUNT_ROWS ? shape.touchRows : 1;
      const work =
        sections * shape.touchRows * (shape.perRow + BLOCK_WORK_PER_ROW) +
        (shape.byId ? sections * shape.sectionRows * refreshes : 0);
      expect(seatIds.length).toBeLessThanOrEqual(
        shape.byId ? MAX_SEATS_PER_BLOCK_REQUEST : MAX_SEATS_PER_BLOCK_SELECTION,
      );
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
    // Measured, not asserted (timings belong to no test's verdict): docs/guide/catalog.md quotes the figures.
    console.info(
      `block-seats.lua / release-seat-blocks.lua, Redis time (SLOWLOG, median of ${RUNS}): ${JSON.stringify(timings, null, 1)}`,
    );
  }, 300_000);
});
