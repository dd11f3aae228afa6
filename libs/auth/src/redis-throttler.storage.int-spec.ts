import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '@app/redis';
import {
  createTestEnvWithoutDatabase,
  deleteRedisKeys,
  keysMatching,
  REDIS_URL,
  TestEnv,
  waitUntil,
} from '@app/testing';
import { RedisThrottlerStorage } from './redis-throttler.storage';

describe('RedisThrottlerStorage (real Redis)', () => {
  let env: TestEnv;
  let redis: Redis;
  let storage: RedisThrottlerStorage;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
    storage = new RedisThrottlerStorage(redis);
  });
  afterAll(async () => {
    await redis?.quit();
    if (env) await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('counts hits in a window and blocks past the limit, in seconds', async () => {
    const hit = () => storage.increment('caller-a', 60_000, 2, 30_000, 'login');
    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: false });
    expect(await hit()).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 30 });
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
  });

  it('keeps callers and throttlers apart, under the deployment key prefix', async () => {
    await storage.increment('caller-b', 60_000, 1, 1000, 'login');
    expect(await storage.increment('caller-b', 60_000, 1, 1000, 'other')).toMatchObject({ totalHits: 1 });
    expect(await storage.increment('caller-c', 60_000, 1, 1000, 'login')).toMatchObject({ totalHits: 1 });
    const keys = await keysMatching(redis, `${env.REDIS_KEY_PREFIX}throttle:*`);
    expect(keys).toContain(`${env.REDIS_KEY_PREFIX}throttle:{login:caller-b}:hits`);
  });

  it('starts a fresh window when the block ends', async () => {
    const hit = () => storage.increment('caller-d', 60_000, 1, 200, 'login');
    await hit();
    expect(await hit()).toMatchObject({ isBlocked: true });
    // Redis expires the block key after its 200 ms; the storage reads no clock of its own.
    await waitUntil(
      async () => (await redis.exists('throttle:{login:caller-d}:blocked')) === 0,
      'block ended',
      5000,
      10,
    );
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
  });
});
