// What a benchmark run leaves behind on the shared services, removed: its database, its Redis keys
// and its RabbitMQ queues and exchanges (the batch relay declares them). Shared by bench/run.mjs and
// bench/flush.mjs, each of which runs on a database, key prefix and namespace of its own.
import { spawnSync } from 'node:child_process';
import amqp from 'amqplib';
import Redis from 'ioredis';
import pg from 'pg';

/**
 * Drops the run's database, deletes every key under its prefix and its queues and exchanges.
 * @param {{ database: string, keyPrefix: string, namespace: string, redisUrl?: string, rabbitmqUrl?: string }} run
 */
export async function dropBenchRun({ database, keyPrefix, namespace, redisUrl, rabbitmqUrl }) {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await dropQueues(namespace, rabbitmqUrl ?? 'amqp://guest:guest@127.0.0.1:5672');
  await dropKeys(keyPrefix, redisUrl ?? 'redis://127.0.0.1:6379');
}

async function dropKeys(prefix, url) {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function dropQueues(namespace, url) {
  const connection = await amqp.connect(url);
  try {
    const listing = spawnSync('rabbitmqctl', ['-q', 'list_queues', 'name'], { encoding: 'utf8' });
    const channel = await connection.createChannel();
    for (const queue of (listing.stdout ?? '').split('\n').filter((q) => q.startsWith(namespace))) {
      await channel.deleteQueue(queue.trim());
    }
    for (const exchange of ['events', 'dead']) await channel.deleteExchange(`${namespace}.${exchange}`);
    await channel.close();
  } finally {
    await connection.close();
  }
}
