import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv } from '@app/testing';
import { createRedis } from './redis.module';
import { hmgetMany } from './wide-commands';

describe('hmgetMany', () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env, 'test-wide-commands');
    await redis.ping();
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('answers as HMGET does, under the key prefix, with null for missing fields', async () => {
    const fields = Array.from({ length: 300 }, (_, i) => String(i + 1));
    // Every third field is missing; two hashes in other slots, so a Cluster client must route each.
    for (const key of ['{perf:1}:seats', '{perf:2}:seats']) {
      await redis.hset(key, Object.fromEntries(fields.filter((_, i) => i % 3 !== 0).map((f) => [f, `v${key}${f}`])));
      const many = await hmgetMany(redis, key, fields);
      expect(many).toEqual(await redis.hmget(key, ...fields));
      expect(many[0]).toBeNull();
      expect(many[1]).toBe(`v${key}2`);
      expect(many).toHaveLength(300);
    }
    expect(await hmgetMany(redis, '{perf:3}:none', ['1', '2'])).toEqual([null, null]);
  });
});
