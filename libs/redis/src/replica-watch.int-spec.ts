import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, PrivateRedis, testRedisClusterNodes, waitUntil } from '@app/testing';
import { createRedis } from './redis.module';
import { replicaShortfall, ReplicaWatch } from './replica-watch';

/**
 * REDIS_WAIT_REPLICAS against the replicas a real primary has: a private redis-server without a
 * replica, then with one attached, then without it again (its replica killed); and, in the
 * int-cluster project, the run's Redis Cluster (3 primaries, one replica each).
 */
describe('ReplicaWatch: REDIS_WAIT_REPLICAS against the primary’s connected replicas', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis | undefined;
  const clients: Redis[] = [];

  beforeAll(async () => {
    primary = await PrivateRedis.start();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
  });

  function envWith(overrides: Record<string, string>): Env {
    return parseEnv(
      createTestEnvWithoutDatabase({ REDIS_URL: primary.url, REDIS_CLUSTER_NODES: '', ...overrides }),
    ) as Env;
  }

  function clientOf(env: Env): Redis {
    const redis = createRedis(env);
    clients.push(redis);
    return redis;
  }

  it('names the setting and the count while the primary has fewer replicas than REDIS_WAIT_REPLICAS, and none when it has enough', async () => {
    const redis = clientOf(envWith({}));
    expect(await replicaShortfall(redis, 1)).toEqual({
      reason: 'REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas',
      detail: `REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas (127.0.0.1:${primary.port})`,
    });
    expect(await replicaShortfall(redis, 0)).toBeNull();
  });

  it('warns at start and at each change, says when the replicas suffice again, and never refuses to run', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const env = envWith({ REDIS_WAIT_REPLICAS: '1' });
    const watch = new ReplicaWatch(env, clientOf(env));
    try {
      await watch.onApplicationBootstrap();
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        `REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas (127.0.0.1:${primary.port}): ` +
          'every purchase answers 503 until enough replicas connect (or set REDIS_WAIT_REPLICAS lower)',
      ]);
      // The same shortfall again: no second warning.
      expect(await watch.check()).toBe('REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas');
      expect(warn).toHaveBeenCalledTimes(1);

      replica = await PrivateRedis.start({ replicaOf: primary });
      await primary.waitForReplicas(1);
      expect(await watch.check()).toBeNull();
      expect(log).toHaveBeenCalledWith('REDIS_WAIT_REPLICAS=1: every primary has enough connected replicas');
      expect(warn).toHaveBeenCalledTimes(1);

      // Two wanted, one there: a new shortfall, a new warning.
      const two = envWith({ REDIS_WAIT_REPLICAS: '2' });
      expect(await new ReplicaWatch(two, clientOf(two)).check()).toBe(
        'REDIS_WAIT_REPLICAS=2 but the primary has 1 connected replica',
      );

      await replica.stop();
      replica = undefined;
      // The primary notices its replica's connection closed at once (no repl-timeout wait).
      await waitUntil(async () => (await watch.check()) !== null, 'the replica gone from the primary');
      expect(await watch.check()).toBe('REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas');
    } finally {
      watch.onApplicationShutdown();
    }
    expect(warn.mock.calls.filter(([message]) => String(message).startsWith('REDIS_WAIT_REPLICAS=1'))).toHaveLength(2);
  });

  it('does nothing with REDIS_WAIT_REPLICAS=0', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const env = envWith({});
    const watch = new ReplicaWatch(env, clientOf(env));
    await watch.onApplicationBootstrap();
    expect(await watch.check()).toBeNull();
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    watch.onApplicationShutdown();
  });

  it.runIf(testRedisClusterNodes() !== '')(
    'asks every primary of a Redis Cluster: enough with one replica each for 1, all short for 2',
    async () => {
      const redis = clientOf(parseEnv(createTestEnvWithoutDatabase()) as Env);
      await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 'the cluster client ready');
      expect(await replicaShortfall(redis, 1)).toBeNull();
      const short = await replicaShortfall(redis, 2);
      expect(short?.reason).toBe('REDIS_WAIT_REPLICAS=2 but 3 of 3 primaries have fewer connected replicas (1, 1, 1)');
      expect(short?.detail).toMatch(/^REDIS_WAIT_REPLICAS=2 but primary [\d.]+:\d+ has 1 connected replica, /);
    },
  );
});
