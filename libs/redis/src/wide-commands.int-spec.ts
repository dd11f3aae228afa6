import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv } from '@app/testing';
import { createRedis } from './redis.module';
import { hmgetMany, RepeatedHmget } from './wide-commands';

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

  it('RepeatedHmget answers as HMGET does, read after read, whatever the fields and the values in between', async () => {
    // At most 3 commands of at most 25 fields kept: the lists below evict each other, and the
    // 40-field one is sent as hmgetMany sends it.
    const reads = new RepeatedHmget(redis, 3, 25);
    const key = '{perf:4}:seats';
    await redis.hset(key, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [String(i + 1), `a${i + 1}`])));
    const lists = [
      Array.from({ length: 20 }, (_, i) => i + 1),
      // The same first field and length as the first list, other fields: never the first's bytes.
      [1, ...Array.from({ length: 19 }, (_, i) => 30 + i)],
      [5, 60, 7],
      [60, 61],
      [2, 3, 4, 5],
      Array.from({ length: 40 }, (_, i) => 40 - i),
    ];
    for (let round = 0; round < 3; round += 1) {
      for (const fields of lists) {
        expect(await reads.read(key, fields)).toEqual(await redis.hmget(key, ...fields.map(String)));
      }
      // Values change between reads: the bytes are kept, never the answers.
      await redis.hset(key, '1', `changed${round}`, '60', `new${round}`);
    }
    expect(await reads.read('{perf:5}:none', [1, 2])).toEqual([null, null]);
  });
});
