import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, primaries } from '@app/redis';
import { CLUSTER_PROJECT } from './redis-cluster.global-setup';
import { deleteRedisKeys } from './services';
import { createTestEnvWithoutDatabase, REDIS_URL } from './test-env';

describe('the Redis a test environment points at', () => {
  const env = createTestEnvWithoutDatabase();
  const redis = createRedis(env, 'test-env');
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('is the run cluster in the int-cluster project (3 primaries), the single Redis in int', async ({ task }) => {
    const onCluster = task.file.projectName === CLUSTER_PROJECT;
    expect(Boolean(env.REDIS_CLUSTER_NODES)).toBe(onCluster);
    // Keys of three slots land on the cluster's three primaries; a single Redis takes them all.
    await redis.set('{a}:k', '1');
    await redis.set('{b}:k', '2');
    await redis.set('{c}:k', '3');
    expect(primaries(redis)).toHaveLength(onCluster ? 3 : 1);
    const counts = await Promise.all(primaries(redis).map((node) => node.dbsize()));
    expect(counts).not.toContain(0);
  });
});
