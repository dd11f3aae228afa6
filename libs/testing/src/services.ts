import { rmSync } from 'node:fs';
import Redis, { Cluster } from 'ioredis';
import { redisClusterNodes } from '@app/config';
import { scanEveryPrimary } from '@app/redis';
import amqp from 'amqplib';
import { Client } from 'pg';
import { parseEnv } from '@app/config';
import { Topology, topologyOf } from '@app/messaging';
import { RABBITMQ_URL, REDIS_URL, SERVER_DATABASE_URL, TestEnv, testRedisClusterNodes } from './test-env';

/** Drops everything a test environment created: database, Redis keys, RabbitMQ topology. */
export async function destroyTestEnv(env: TestEnv): Promise<void> {
  await dropDatabase(env.DATABASE_URL);
  await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  await deleteTopology(RABBITMQ_URL, topologyOf(parseEnv(env)));
  rmSync(env.LOG_DIR, { recursive: true, force: true });
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new Client({ connectionString: SERVER_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Deletes every key of `prefix` on the Redis at `url`, and on the run's shared Redis Cluster if any. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  let deleted = await deleteClusterKeys(testRedisClusterNodes(), prefix);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function deleteClusterKeys(nodes: string, prefix: string): Promise<number> {
  if (!nodes) return 0;
  const cluster = new Cluster(redisClusterNodes(nodes));
  let deleted = 0;
  try {
    await new Promise((resolve, reject) => cluster.once('ready', resolve).once('error', reject));
    // One DEL per key: keys of one node may lie in different slots.
    await scanEveryPrimary(cluster as unknown as Redis, `${prefix}*`, async (keys, node) => {
      const replies = (await node.pipeline(keys.map((key) => ['del', key])).exec()) ?? [];
      deleted += replies.filter(([error, reply]) => !error && reply === 1).length;
    });
  } finally {
    cluster.disconnect();
  }
  return deleted;
}

/**
 * Every key matching `pattern` (full keys, prefix included) as Redis stores them, from every
 * primary of a Cluster: `KEYS` on a Cluster client asks one node, which may not hold them.
 */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  await scanEveryPrimary(redis, pattern, async (found) => void keys.push(...found));
  return keys.sort();
}

/** Deletes the exchanges and queues of a topology (a bare namespace: with the default retry waits). */
export async function deleteTopology(url: string, topology: Topology | string): Promise<void> {
  const target = typeof topology === 'string' ? topologyOf(parseEnv({ RABBITMQ_NAMESPACE: topology })) : topology;
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await target.destroy(channel);
    await channel.close();
  } finally {
    await connection.close();
  }
}
