import { spawn } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestEnv,
  deleteRedisKeys,
  destroyTestEnv,
  RABBITMQ_URL,
  REDIS_URL,
  SERVER_DATABASE_URL,
  TestEnv,
} from '@app/testing';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'drop-stack.mjs');

/**
 * `npm run stack:drop`: a stack's database, Redis keys and RabbitMQ queues and exchanges go, and
 * nothing of a stack whose names merely begin alike (real PostgreSQL, Redis and RabbitMQ).
 */
describe('npm run stack:drop', () => {
  let env: TestEnv;
  let redis: Redis;
  let neighbour: { keyPrefix: string; namespace: string };

  const run = (...args: string[]): Promise<{ code: number | null; output: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [SCRIPT, ...args], { env: { ...process.env, ...env } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, output }));
    });
  const databaseExists = async () => {
    const server = new Client({ connectionString: SERVER_DATABASE_URL });
    await server.connect();
    try {
      const name = new URL(env.DATABASE_URL).pathname.slice(1);
      return (await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    } finally {
      await server.end();
    }
  };
  /** Whether each queue exists (a passive check closes its channel when it does not). */
  const queuesExist = async (queues: string[]) => {
    const connection = await amqp.connect(RABBITMQ_URL);
    try {
      const found: boolean[] = [];
      for (const queue of queues) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        found.push(
          await channel.checkQueue(queue).then(
            () => true,
            () => false,
          ),
        );
        await channel.close().catch(() => undefined);
      }
      return found;
    } finally {
      await connection.close();
    }
  };

  beforeAll(async () => {
    env = await createTestEnv();
    // Names that begin like the stack's, and are not its own.
    neighbour = { keyPrefix: `${env.REDIS_KEY_PREFIX.slice(0, -1)}x:`, namespace: `${env.RABBITMQ_NAMESPACE}x` };
    redis = new Redis(REDIS_URL);
    await redis.set(`${env.REDIS_KEY_PREFIX}a`, '1');
    await redis.set(`${neighbour.keyPrefix}b`, '1');
    const connection = await amqp.connect(RABBITMQ_URL);
    const channel = await connection.createChannel();
    await channel.assertExchange(`${env.RABBITMQ_NAMESPACE}.events`, 'topic');
    await channel.assertQueue(`${env.RABBITMQ_NAMESPACE}.mail`);
    await channel.assertQueue(`${neighbour.namespace}.mail`);
    await connection.close();
  });
  afterAll(async () => {
    await deleteRedisKeys(REDIS_URL, neighbour.keyPrefix).catch(() => undefined);
    const connection = await amqp.connect(RABBITMQ_URL);
    const channel = await connection.createChannel();
    await channel.deleteQueue(`${neighbour.namespace}.mail`);
    await connection.close();
    redis?.disconnect();
    await destroyTestEnv(env);
  });

  it('only says what it would remove without --yes, then removes the stack’s and nothing else', async () => {
    const dry = await run();
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toContain('run again with --yes');
    expect(await databaseExists()).toBe(true);
    expect(await redis.exists(`${env.REDIS_KEY_PREFIX}a`)).toBe(1);

    const done = await run('--yes');
    expect(done.code, done.output).toBe(0);
    expect(await databaseExists()).toBe(false);
    expect(await redis.exists(`${env.REDIS_KEY_PREFIX}a`, `${neighbour.keyPrefix}b`)).toBe(1);
    expect(await redis.exists(`${neighbour.keyPrefix}b`)).toBe(1);
    expect(await queuesExist([`${env.RABBITMQ_NAMESPACE}.mail`, `${neighbour.namespace}.mail`])).toEqual([false, true]);
  });
});
