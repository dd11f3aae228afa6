import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv, waitUntil } from '@app/testing';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { blockSeats, releaseSeatBlocks } from '../blocks/seat-block-scripts';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { SeatStateStore } from '../seats/seat-state.store';
import { holdBestAvailable } from './best-available-scripts';
import { expireHolds, holdSeats } from './hold-scripts';

/**
 * A seat can leave a hold that has expired but was not ended yet (an operator's block takes it,
 * block-seats.lua), go back on sale and be held by a later hold, all before the first hold ends.
 * Every way a hold ends (the sweeper's expire-holds.lua, a seat-id hold or a best-available hold
 * ending the expired holds it meets) must then free only the seats still its own: freeing the
 * later hold's seat would let a third buyer hold it while that hold is live (P1).
 */
describe('ending an expired hold frees only the seats still its own (real Redis)', () => {
  let env: TestEnv;
  let redis: Redis;
  let nextPerformance = 1;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
    defineTicketingScripts(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  const head = (performanceId: number, holdId: string, userId: string, lifetimeMs = 60_000) => ({
    holdId,
    userId,
    performanceId,
    lifetimeMs,
    userLimit: 4,
    retentionMs: 60_000,
  });

  /**
   * A performance of one row of four seats where hold `old` (seats 1 and 2) has expired, seat 1
   * was blocked and put back on sale, and hold `later` holds seat 1 now; `old` is not ended yet.
   */
  async function seatTakenFromExpiredHold() {
    const performanceId = nextPerformance++;
    const keys = performanceKeys(performanceId);
    const hall = drawHall([{ name: 'A', rows: ['....'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(performanceId, hall));
    const [s1, s2, s3, s4] = [1, 2, 3, 4].map((n) => hall.seat('A', 1, n));
    const old = await holdSeats(redis, keys, { ...head(performanceId, 'old', 'u1', 20), seatIds: [s1, s2] });
    if (old.outcome !== 'OK') throw new Error(`hold old: ${old.outcome}`);
    await waitUntil(
      async () => {
        const [seconds, micros] = (await redis.time()).map(Number);
        return seconds * 1000 + micros / 1000 > old.expiresAt;
      },
      'hold old expired (Redis time)',
      5_000,
      10,
    );
    expect(await blockSeats(redis, keys, [s1])).toEqual({ outcome: 'OK', blocked: 1, fromExpiredHolds: 1 });
    expect(await releaseSeatBlocks(redis, keys, [s1])).toEqual({ outcome: 'OK', released: 1 });
    expect(await holdSeats(redis, keys, { ...head(performanceId, 'later', 'u2'), seatIds: [s1] })).toMatchObject({
      outcome: 'OK',
    });
    return { performanceId, keys, hall, s1, s2, s3, s4 };
  }

  /** The seat of hold `later` is still held and taken, and letters, counts and seating data agree. */
  async function laterHoldKeepsItsSeat(setup: Awaited<ReturnType<typeof seatTakenFromExpiredHold>>) {
    const { performanceId, keys, hall, s1 } = setup;
    expect(await redis.hget(keys.seats, String(s1))).toBe('H');
    expect(await redis.hget(keys.hold('old'), 'status')).toBe('EXPIRED');
    expect(await redis.hget(keys.hold('later'), 'status')).toBe('HELD');
    const third = await holdSeats(redis, keys, { ...head(performanceId, 'third', 'u3'), seatIds: [s1] });
    expect(third).toEqual({ outcome: 'UNAVAILABLE', seatIds: [s1] });
    const letters = Object.values(await redis.hgetall(keys.seats));
    const counts = await redis.hgetall(keys.counts);
    for (const [count, letter] of [
      ['available', 'A'],
      ['held', 'H'],
      ['sold', 'S'],
    ] as const) {
      expect(Number(counts[count] ?? 0), count).toBe(letters.filter((each) => each === letter).length);
    }
    expect(await seatingDisagreements(redis, performanceId, hall.places)).toEqual([]);
  }

  it('the sweeper (expire-holds.lua) frees the old hold’s other seat only', async () => {
    const setup = await seatTakenFromExpiredHold();
    expect(await expireHolds(redis, setup.keys, ['old'])).toEqual({ holds: 1, seats: 1 });
    expect(await redis.hget(setup.keys.seats, String(setup.s2))).toBe('A');
    await laterHoldKeepsItsSeat(setup);
  });

  it('a seat-id hold asking for the old hold’s other seat ends it without freeing the later hold’s seat', async () => {
    const setup = await seatTakenFromExpiredHold();
    const fourth = await holdSeats(redis, setup.keys, {
      ...head(setup.performanceId, 'fourth', 'u4'),
      seatIds: [setup.s2],
    });
    expect(fourth).toMatchObject({ outcome: 'OK' });
    await laterHoldKeepsItsSeat(setup);
  });

  it('a best-available hold ending the due holds it meets leaves the later hold’s seat alone', async () => {
    const setup = await seatTakenFromExpiredHold();
    const best = await holdBestAvailable(redis, setup.keys, {
      ...head(setup.performanceId, 'best', 'u5'),
      quantity: 3,
      together: true,
      accessible: false,
      scope: { kind: 'all' },
    });
    // Seats 2–4 are the only three together once the old hold is ended.
    expect(best).toMatchObject({ outcome: 'OK', arrangement: 'TOGETHER' });
    expect(await redis.hmget(setup.keys.seats, String(setup.s2), String(setup.s3), String(setup.s4))).toEqual([
      'H',
      'H',
      'H',
    ]);
    await laterHoldKeepsItsSeat(setup);
  });
});
