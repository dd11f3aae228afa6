import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { SystemClock } from '@app/core';
import { PurchaseFlushBatch, PurchaseRepository } from '@app/database';
import { createRedis } from '@app/redis';
import { createTestEnvWithoutDatabase, freePort, waitUntil } from '@app/testing';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys } from '../redis-keys';
import { PurchaseFlusher } from './purchase-flusher';
import { FLUSH_GROUP, PurchaseFlushStore } from './purchase-flush.store';

/**
 * The flusher with REDIS_WAIT_REPLICAS against a real primary and replica of its own: a purchase
 * the replica has not got (stopped with SIGSTOP) would be lost in a failover, so it must not reach
 * PostgreSQL (here a repository that records what it is given) until the replica has it.
 */
describe('PurchaseFlusher and Redis replicas', () => {
  const servers: ChildProcess[] = [];
  let primaryPort = 0;
  let replica: ChildProcess;
  const clients: Redis[] = [];
  const performanceId = 4242;
  const keys = performanceKeys(performanceId);

  const startServer = async (port: number, ...extra: string[]): Promise<ChildProcess> => {
    const server = spawn(
      'redis-server',
      // A replica's full sync writes an RDB file: into a folder of its own, not the working tree.
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        mkdtempSync(join(tmpdir(), 'bo-flusher-redis-')),
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    servers.push(server);
    const probe = new Redis({ port, retryStrategy: () => 50 });
    // Refused until the server listens; the client retries by itself.
    probe.on('error', () => undefined);
    try {
      await waitUntil(async () => (await probe.ping().catch(() => '')) === 'PONG', `redis-server on ${port}`);
    } finally {
      probe.disconnect();
    }
    return server;
  };

  beforeAll(async () => {
    primaryPort = await freePort();
    await startServer(primaryPort);
    replica = await startServer(await freePort(), '--replicaof', '127.0.0.1', String(primaryPort));
    const primary = new Redis({ port: primaryPort });
    try {
      await waitUntil(
        async () => /^slave0:.*state=online/m.test(await primary.info('replication')),
        'the replica in sync',
      );
    } finally {
      primary.disconnect();
    }
  });

  afterEach(() => {
    // The next test starts with a replica that answers.
    replica.kill('SIGCONT');
    for (const client of clients.splice(0)) client.disconnect();
  });

  afterAll(async () => {
    await Promise.all(
      servers.map((server) => {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGCONT');
        server.kill('SIGKILL');
        return exited;
      }),
    );
  });

  /** A flusher on the test primary; `written` collects the ids of the purchases it wrote. */
  function flusherWith(overrides: Record<string, string>) {
    const env = parseEnv(
      createTestEnvWithoutDatabase({
        REDIS_URL: `redis://127.0.0.1:${primaryPort}`,
        REDIS_CLUSTER_NODES: '',
        PURCHASE_FLUSH_AGE_SECONDS: '0',
        REDIS_WAIT_TIMEOUT_MS: '200',
        ...overrides,
      }),
    ) as Env;
    const redis = createRedis(env);
    const waits = createRedis(env, 'boxoffice-purchases', { lazyConnect: true });
    clients.push(redis, waits);
    const written: string[] = [];
    const repository = {
      writeBatch: async (batch: PurchaseFlushBatch) => {
        written.push(...batch.purchases.map((purchase) => purchase.id));
        return batch.purchases.map((purchase) => purchase.id);
      },
    } as unknown as PurchaseRepository;
    return {
      redis,
      waits,
      written,
      flusher: new PurchaseFlusher(new PurchaseFlushStore(redis, waits), env, repository, new SystemClock()),
    };
  }

  /** Appends a purchase to the stream as purchase.lua does; answers its id. */
  async function appendPurchase(redis: Redis): Promise<string> {
    const id = randomUUID();
    await redis.xadd(
      keys.purchaseStream,
      '*',
      ...['type', 'purchase', 'id', id, 'reservationId', randomUUID(), 'userId', randomUUID()],
      ...['performanceId', performanceId, 'seats', '7,8', 'amount', 5000, 'currency', 'EUR'],
      ...['chargeId', `ch_${id}`, 'createdAt', Date.now()],
    );
    return id;
  }

  /** A performance with its flush group, on a Redis the flusher has read once. */
  async function registered(redis: Redis, flusher: PurchaseFlusher): Promise<void> {
    // As registration leaves it: the meta hash first (the flusher makes no group without it).
    await redis.hset(keys.meta, 'salesOpenAt', 0, 'currency', 'EUR');
    await redis.sadd(PERFORMANCE_REGISTRY_KEY, performanceId);
    expect(await flusher.flushOnce()).toBe(0);
  }

  it('leaves an entry no replica has pending, across a reconnect, and writes it once the replica has it', async () => {
    const { redis, waits, written, flusher } = flusherWith({ REDIS_WAIT_REPLICAS: '1' });
    await registered(redis, flusher);
    replica.kill('SIGSTOP');
    const id = await appendPurchase(redis);

    // Delivered by the XREADGROUP '>' of the script, then not confirmed, on the primary named.
    await expect(flusher.flushOnce()).rejects.toThrow(
      `left pending: on 0 of 1 replicas (REDIS_WAIT_REPLICAS) after REDIS_WAIT_TIMEOUT_MS (on 127.0.0.1:${primaryPort})`,
    );
    // The next pass reads it again as this consumer's own pending entry (id 0, which propagates
    // nothing), on a connection opened after the delivery.
    waits.disconnect(true);
    await expect(flusher.flushOnce()).rejects.toThrow(/left pending: on 0 of 1 replicas/);
    expect(written).toEqual([]);
    const [pending, , , consumers] = (await redis.xpending(keys.purchaseStream, FLUSH_GROUP)) as unknown[];
    expect([pending, consumers]).toEqual([1, [[flusher.consumer, '1']]]);
    expect((await flusher.unreplicated.get()).values[0].value).toBe(2);

    replica.kill('SIGCONT');
    await waitUntil(async () => (await flusher.flushOnce().catch(() => 0)) === 1, 'the entry written');
    expect(written).toEqual([id]);
    expect(await redis.xlen(keys.purchaseStream)).toBe(0);
  });

  it('writes at once without REDIS_WAIT_REPLICAS, whatever the replica has', async () => {
    const { redis, written, flusher } = flusherWith({ REDIS_WAIT_REPLICAS: '0' });
    await registered(redis, flusher);
    replica.kill('SIGSTOP');
    const id = await appendPurchase(redis);

    expect(await flusher.flushOnce()).toBe(1);
    expect(written).toEqual([id]);
    expect((await flusher.unreplicated.get()).values[0].value).toBe(0);
  });
});
