import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv } from '@app/testing';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { holdSeats } from '../holds/hold-scripts';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { SeatStateStore } from '../seats/seat-state.store';
import { blockSeats } from './seat-block-scripts';

/** block-seats.lua's `onlyFree` mode on the real Redis (the key check on). */
describe('block-seats.lua: onlyFree (real Redis)', () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
    defineTicketingScripts(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('onlyFree blocks the free seats and skips the held and sold ones, naming them, in one run', async () => {
    const keys = performanceKeys(21);
    const hall = drawHall([{ name: 'A', rows: ['x.....'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(21, hall));
    const [sold, a2, a3, a4, a5, a6] = [1, 2, 3, 4, 5, 6].map((n) => hall.seat('A', 1, n));
    const request = { userId: 'u21', performanceId: 21, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    expect(await holdSeats(redis, keys, { ...request, holdId: 'h1', seatIds: [a3] })).toMatchObject({ outcome: 'OK' });
    expect(await blockSeats(redis, keys, [a6])).toMatchObject({ outcome: 'OK', blocked: 1 });

    // All or none (the default) refuses; onlyFree takes the free ones, the blocked one stays.
    expect(await blockSeats(redis, keys, [sold, a2, a3, a4, a5, a6])).toEqual({
      outcome: 'UNAVAILABLE',
      held: [a3],
      sold: [sold],
    });
    expect(await blockSeats(redis, keys, [sold, a2, a3, a4, a5, a6], { onlyFree: true })).toEqual({
      outcome: 'OK',
      blocked: 3,
      fromExpiredHolds: 0,
      skipped: { held: [a3], sold: [sold] },
    });
    expect(await redis.hmget(keys.seats, ...[sold, a2, a3, a4, a5, a6].map(String))).toEqual([
      'S',
      'B',
      'H',
      'B',
      'B',
      'B',
    ]);
    // Nothing left to block: no change, the skipped ones named again.
    expect(await blockSeats(redis, keys, [sold, a3, a6], { onlyFree: true })).toEqual({
      outcome: 'OK',
      blocked: 0,
      fromExpiredHolds: 0,
      skipped: { held: [a3], sold: [sold] },
    });
    expect(await redis.hgetall(keys.counts)).toEqual({
      total: '6',
      available: '0',
      held: '1',
      sold: '1',
      blocked: '4',
    });
    expect(await seatingDisagreements(redis, 21, hall.places)).toEqual([]);
  });
});
