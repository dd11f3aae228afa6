import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import {
  ApiHarness,
  AppProcess,
  createSession,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestSession,
  waitForValue,
} from '@app/testing';
import { HoldService, performanceKeys, PurchaseFlusher, PurchaseService, SeatStateStore } from '@app/ticketing';
import { createPerformance } from './purchase-helpers';
import { startTestApi } from './support/api';

/** Buys each seat in a one-seat hold, spread over `buyers`; returns the ids of the purchases (each one a 201). */
async function buyMany(
  api: ApiHarness,
  buyers: TestSession[],
  performance: { id: number; seatIds: number[] },
): Promise<string[]> {
  const holds = api.app.get(HoldService);
  const purchases = api.app.get(PurchaseService);
  const ids: string[] = [];
  const queue = [...performance.seatIds];
  await Promise.all(
    buyers.map(async (buyer) => {
      for (let seat = queue.shift(); seat !== undefined; seat = queue.shift()) {
        const held = await holds.hold(buyer.id, performance.id, [seat]);
        ids.push((await purchases.purchase(buyer.id, held.id)).id);
      }
    }),
  );
  return ids;
}

/** Counts in PostgreSQL of the given purchases, their tickets and outbox messages (duplicates would show). */
async function countPersisted(databaseUrl: string, ids: string[]) {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const count = async (sql: string, values: unknown[]) => Number((await db.query(sql, values)).rows[0].n);
    return {
      purchases: await count('SELECT count(*) AS n FROM purchases WHERE id = ANY($1::uuid[])', [ids]),
      tickets: await count('SELECT count(*) AS n FROM tickets WHERE purchase_id = ANY($1::uuid[])', [ids]),
      outbox: await count('SELECT count(*) AS n FROM outbox WHERE message_id = ANY($1)', [
        ids.map((id) => `purchase-completed:${id}`),
      ]),
    };
  } finally {
    await db.end();
  }
}

/**
 * Waits until the performance's purchase stream is empty (every entry written, acknowledged and
 * trimmed, so no batch process has anything left to write again); fails after `timeoutMs`.
 */
async function waitForDrainedStream(api: ApiHarness, performanceId: number, timeoutMs = 30_000): Promise<void> {
  const redis = api.app.get(Redis);
  await waitForValue(() => redis.xlen(performanceKeys(performanceId).purchaseStream), 'the purchase stream drained', {
    done: (length) => length === 0,
    timeoutMs,
    intervalMs: 5,
  });
}

function expectExactlyOnce(counts: { purchases: number; tickets: number; outbox: number }, purchases: number) {
  expect(counts).toEqual({ purchases, tickets: purchases, outbox: purchases });
}

describe('write-behind under faults (built batch processes, real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyers: TestSession[];
  const processes: AppProcess[] = [];
  /** A port nothing listens on: the batches' RabbitMQ (see startBatch). */
  let noBroker: number;

  const startBatch = async () => {
    // The shortest claim idle time (1 s): the restarted batch takes the killed one's entries over
    // quickly; two live ones may take each other's over too, which the writes' replays must absorb.
    const batch = new AppProcess('batch', {
      ...api.env,
      // RabbitMQ out of reach, so the outbox rows stay where the flush wrote them to be counted (a
      // relay deletes each row once the broker confirmed it; outbox-relay e2e tests that).
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${noBroker}`,
      // Cut-off now: a backlog made before the start is all due at once, with no wait for the clock.
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PURCHASE_CLAIM_IDLE_SECONDS: '1',
      // At most the claim idle time (refused at start above it); a batch here writes in milliseconds.
      PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: '1000',
      // Small batches, several in flight: the backlog takes many of them, so the kill lands mid-flush.
      PURCHASE_FLUSH_BATCH_SIZE: '100',
    });
    processes.push(batch);
    await batch.waitForLine('batch started');
    return batch;
  };

  beforeAll(async () => {
    api = await startTestApi({
      PURCHASE_FLUSH_AGE_SECONDS: '1',
    });
    noBroker = await freePort();
    admin = await createSession(api.app, { role: Role.Admin });
    // A buyer buys one seat after another, a purchase waiting mostly on PostgreSQL and Redis: 32 at
    // once made the 3,000-purchase backlog 2.4 times as fast as 8 did (28.5 s → 11.8 s, load 15-20).
    buyers = await Promise.all(Array.from({ length: 32 }, () => createSession(api.app)));
  });
  afterAll(async () => {
    for (const batch of processes) batch.kill('SIGKILL');
    await Promise.all(processes.map((batch) => batch.exited));
    await api?.close();
  });

  async function backlog(seats: number): Promise<{ performanceId: number; ids: string[] }> {
    const performance = await createPerformance(api.app, admin, seats);
    return { performanceId: performance.id, ids: await buyMany(api, buyers, performance) };
  }

  it(
    'loses and duplicates nothing when batch is killed (SIGKILL) while flushing a large backlog, then restarted',
    async () => {
      const { performanceId, ids } = await backlog(3000);

      const first = await startBatch();
      const partial = await waitForValue(
        () => countPersisted(api.env.DATABASE_URL, ids),
        'some purchases written by the first batch',
        { done: (counts) => counts.purchases > 0, timeoutMs: 20_000, intervalMs: 5 },
      );
      first.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const atKill = await countPersisted(api.env.DATABASE_URL, ids);
      expect(partial.purchases).toBeLessThan(ids.length);
      expect(atKill.purchases).toBeLessThan(ids.length);

      // The new process has another consumer name: it takes the dead one's entries over once idle.
      await startBatch();
      const final = await waitForValue(
        () => countPersisted(api.env.DATABASE_URL, ids),
        'every purchase written exactly once',
        {
          done: (counts) => counts.purchases === ids.length && counts.outbox === ids.length,
          timeoutMs: 45_000,
          intervalMs: 5,
        },
      );
      expectExactlyOnce(final, ids.length);
      await waitForDrainedStream(api, performanceId);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'loses and duplicates nothing with two batch processes flushing at once',
    async () => {
      // The two start while the backlog is made: they flush it as it grows, side by side.
      const [, { performanceId, ids }] = await Promise.all([Promise.all([startBatch(), startBatch()]), backlog(2000)]);
      const final = await waitForValue(
        () => countPersisted(api.env.DATABASE_URL, ids),
        'every purchase written exactly once',
        {
          done: (counts) => counts.purchases === ids.length && counts.outbox === ids.length,
          timeoutMs: 30_000,
          intervalMs: 5,
        },
      );
      // Every entry acknowledged and trimmed: neither process has anything left to write again.
      await waitForDrainedStream(api, performanceId);
      expectExactlyOnce(await countPersisted(api.env.DATABASE_URL, ids), ids.length);
      expect(final.tickets).toBe(ids.length);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('write-behind when Redis (AOF, appendfsync always) is killed before the flush', () => {
  let port: number;
  const dir = mkdtempSync(join(tmpdir(), 'bo-redis-aof-'));
  let redisServer: ChildProcess;
  let api: ApiHarness;

  const startRedis = async () => {
    redisServer = spawn(
      'redis-server',
      ['--port', String(port), '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir],
      { stdio: 'ignore' },
    );
    const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => undefined);
    await probe.connect().catch(() => undefined);
    await waitForValue(() => probe.ping().catch(() => ''), 'Redis answering', {
      done: (reply) => reply === 'PONG',
      timeoutMs: 10_000,
      intervalMs: 5,
    });
    probe.disconnect();
  };
  const killRedis = async () => {
    const exited = new Promise((resolve) => redisServer.once('exit', resolve));
    redisServer.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    api = await startTestApi({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      // Due at once: only the test's own flushes (after the restart) write, with no wait for the clock.
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await api?.close();
    if (redisServer?.exitCode === null) await killRedis();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every answered purchase and writes it once after Redis restarts from its AOF', async () => {
    const admin = await createSession(api.app, { role: Role.Admin });
    const buyers = await Promise.all(Array.from({ length: 4 }, () => createSession(api.app)));
    const performance = await createPerformance(api.app, admin, 300);
    const ids = await buyMany(api, buyers, performance);

    await killRedis();
    await startRedis();

    const flusher = api.app.get(PurchaseFlusher);
    const flushed = await waitForValue(
      async () => {
        await flusher.flushOnce({ batchSize: 500 }).catch(() => 0);
        return countPersisted(api.env.DATABASE_URL, ids);
      },
      'every purchase written',
      { done: (counts) => counts.purchases === ids.length, timeoutMs: 20_000, intervalMs: 5 },
    );
    expectExactlyOnce(flushed, ids.length);
    expect((await api.app.get(SeatStateStore).counts(performance.id)).sold).toBe(300);
  }, 60_000);
});
