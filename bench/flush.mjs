#!/usr/bin/env node
// `node bench/flush.mjs`: the write-behind flush of one built `batch` process alone, without the
// api (run `npm run build` first). Purchases are appended to a performance's purchase stream as
// purchase.lua appends them (hash, stream entry, the buyer's index, and an open payment
// attempt in PostgreSQL), on a database and Redis prefix of its own, dropped afterwards.
//
//   FLUSH_PURCHASES=N (20000)         N purchases appended first, then one batch flushes them all:
//                                     prints purchases/s from its first written row to its last, and
//                                     the CPU per purchase of the batch and of its PostgreSQL backends,
//                                     then again once its relay has published every outbox message
//                                     (flush and relay together: the relay's work is in the first
//                                     figure only as far as it kept up).
//   FLUSH_PERFORMANCES=P (1)          with the backlog run: the N purchases spread over P performances
//                                     (the full bench's purchase phase spreads 20,000 over 20: 256
//                                     buyers hold 4 seats each on each performance)
//   FLUSH_RATE=R FLUSH_SECONDS=S      a batch runs while purchases are appended at a steady R per
//                                     second for S seconds: prints the flush lag (purchase → commit)
//                                     from the batch's boxoffice_purchase_flush_lag_seconds histogram.
//   FLUSH_RELAY_ONLY=1                the relay alone: once the batch runs, N purchase-completed rows
//                                     (as the flush writes them) are put into the outbox in one
//                                     statement; prints the batch's and its PostgreSQL backends' CPU
//                                     per message until the relay has published them all.
//   FLUSH_BATCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'   profiles the batch.
//   FLUSH_REDIS_PID=<pid>             with the backlog run: also the CPU per purchase of that
//                                     redis-server process (read from /proc; a Redis of the run's own,
//                                     with REDIS_URL pointing at it, or the figure counts other users).
//   FLUSH_METRICS_PORT=<port>         the batch's metrics port (a random one of 4300–4389 unless given).
// Both run the batch with PURCHASE_FLUSH_AGE_SECONDS=0, so the lag is the flusher's own delay.
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import Redis from 'ioredis';
import pg from 'pg';
import { dropRun, redisKeys, startApp, stopApps } from '../scripts/stack.mjs';
import { flushRate, waitForFirstRow, waitForRows } from './flush-rate.mjs';
import { cpuMicros } from './process-cpu.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = (file) => createRequire(import.meta.url)(join(root, 'dist/apps/batch/libs', file));
// Hold and purchase ids as the api makes them (they carry the performance: no pointer keys).
const { newIdOf } = built('ticketing/src/ids.js');
// A purchase's hash fields as the scripts write them, and the purchase-completed message's contract.
const { purchaseToRecord } = built('ticketing/src/purchases/purchase.js');
const { purchaseCompletedMessageId, ROUTING } = built('messaging/src/contracts/index.js');
const RATE = Number(process.env.FLUSH_RATE ?? 0);
const SECONDS = Number(process.env.FLUSH_SECONDS ?? 30);
const COUNT = RATE > 0 ? Math.ceil(RATE * SECONDS) : Number(process.env.FLUSH_PURCHASES ?? 20000);
const RELAY_ONLY = process.env.FLUSH_RELAY_ONLY === '1';
const PERFORMANCES = Number(process.env.FLUSH_PERFORMANCES ?? 1);
if (!Number.isInteger(PERFORMANCES) || PERFORMANCES < 1 || PERFORMANCES > COUNT) {
  throw new Error(`FLUSH_PERFORMANCES must be an integer from 1 to the purchases (${COUNT})`);
}
if (PERFORMANCES !== 1 && (RATE > 0 || RELAY_ONLY))
  throw new Error('FLUSH_PERFORMANCES applies to the backlog run only');
const id = Date.now().toString(36);
const METRICS_PORT = Number(process.env.FLUSH_METRICS_PORT ?? 4300 + Math.floor(Math.random() * 90));
const prefix = `bo_flushbench_${id}:`;
const env = {
  ...process.env,
  NODE_ENV: 'production',
  METRICS_PORT: String(METRICS_PORT),
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/bo_flushbench_${id}`,
  REDIS_KEY_PREFIX: prefix,
  RABBITMQ_NAMESPACE: `bo_flushbench_${id}`,
  JWT_ACCESS_SECRET: 'bench-access-secret-0123456789abcdef0123',
  JWT_REFRESH_SECRET: 'bench-refresh-secret-0123456789abcdef012',
  TICKET_SIGNING_SECRET: 'bench-ticket-secret-0123456789abcdef01234',
  PURCHASE_FLUSH_AGE_SECONDS: '0',
  LOG_LEVEL: 'info',
  LOG_CONSOLE: 'none',
  LOG_DIR: join(os.tmpdir(), `bo-flushbench-${id}`),
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startBatch(nodeArgs = []) {
  return startApp('batch', env, { nodeArgs });
}

const stopBatch = (batch) => stopApps([batch]);

/**
 * CPU time (µs) each PostgreSQL backend on the bench's database has used so far, by pid (this
 * script's own connection left out): PostgreSQL's share of a purchase, which the rate on a shared
 * machine hides. Read from /proc, so only with PostgreSQL on this host (else an empty map).
 */
async function backendCpu(db) {
  const { rows } = await db.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  const cpu = new Map();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, cpuMicros(pid));
    } catch {
      // gone, or PostgreSQL runs elsewhere
    }
  }
  return cpu;
}

/**
 * `backendCpu` read every `everyMs` until `done()` answers true (or `timeoutMs` passed): the last
 * reading of every backend seen, so one that exits meanwhile (the pool closes a connection idle
 * for 10 s) keeps what it used up to its last reading instead of dropping out of the sum.
 */
async function backendCpuUntil(db, done, { everyMs = 500, timeoutMs = 300_000 } = {}) {
  const seen = new Map();
  const started = Date.now();
  for (;;) {
    for (const [pid, micros] of await backendCpu(db)) seen.set(pid, micros);
    if ((await done()) || Date.now() - started > timeoutMs) break;
    await sleep(everyMs);
  }
  await sleep(200); // the pass that published the last message commits after the broker's confirms
  for (const [pid, micros] of await backendCpu(db)) seen.set(pid, micros);
  return seen;
}

/** µs of backend CPU between two `backendCpu` readings (a backend new since `before` counts whole). */
function backendCpuSince(before, after) {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}

async function waitForBatch() {
  for (let i = 0; i < 600; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${METRICS_PORT}/health/live`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('batch did not start');
}

/**
 * PERFORMANCES performances of COUNT seats in all, COUNT buyers and one open (CHARGED) payment
 * attempt per purchase (none for the relay alone: the payment reconciler would settle them while
 * the relay is timed). Answers the performances' ids and, per performance, its purchases.
 */
async function prepareDatabase(db) {
  const { rows: events } = await db.query(
    `INSERT INTO events (title, venue, currency) VALUES ('Flush bench', 'Bench', 'KRW') RETURNING id`,
  );
  const perPerformance = Math.ceil(COUNT / PERFORMANCES);
  const { rows: users } = await db.query(
    `INSERT INTO users (email, email_key, name, role, password_hash)
     SELECT 'flush-buyer-' || g || '@bench.local', 'flush-buyer-' || g || '@bench.local', 'Buyer ' || g, 'USER', 'not-a-login'
     FROM generate_series(1, $1::int) AS g RETURNING id`,
    [COUNT],
  );
  const performanceIds = [];
  const byPerformance = [];
  for (let k = 0; k < PERFORMANCES; k += 1) {
    const seatCount = Math.min(perPerformance, COUNT - k * perPerformance);
    const { rows: performances } = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, now() + interval '1 day', now(), $2) RETURNING id`,
      [events[0].id, seatCount],
    );
    const performanceId = performances[0].id;
    performanceIds.push(performanceId);
    const { rows: seats } = await db.query(
      `INSERT INTO seats (performance_id, position, section, row, row_label, number, grade, price)
       SELECT $1, g, 'Hall', g / 100, (g / 100)::text, g % 100, 'R', 50000 FROM generate_series(0, $2::int - 1) AS g RETURNING id`,
      [performanceId, seatCount],
    );
    const purchases = seats.map((seat, i) => ({
      id: newIdOf(performanceId),
      reservationId: newIdOf(performanceId),
      userId: users[k * perPerformance + i].id,
      seatId: seat.id,
      chargeId: `bench-charge-${k}-${i}`,
    }));
    byPerformance.push(purchases);
    if (RELAY_ONLY) continue;
    await db.query(
      `INSERT INTO payment_attempts (purchase_id, reservation_id, user_id, performance_id, amount, currency,
                                     idempotency_key, charge_id, status)
       SELECT p, r, u, $4, 50000, 'KRW', p::text, c, 'CHARGED'
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $5::text[]) AS t(p, r, u, c)`,
      [
        purchases.map((p) => p.id),
        purchases.map((p) => p.reservationId),
        purchases.map((p) => p.userId),
        performanceId,
        purchases.map((p) => p.chargeId),
      ],
    );
  }
  return { performanceIds, byPerformance };
}

/** What purchase.lua writes for one purchase, and the api's entry in the buyer's index, in one pipeline. */
function appendPurchases(redis, performanceId, purchases) {
  const { performanceKeys, userPurchasesKey, userPurchasesMember } = redisKeys();
  const keys = performanceKeys(performanceId);
  const pipeline = redis.pipeline();
  for (const p of purchases) {
    const createdAt = new Date();
    const record = purchaseToRecord({
      id: p.id,
      reservationId: p.reservationId,
      userId: p.userId,
      performanceId,
      seatIds: [p.seatId],
      seatPrices: [50000],
      amount: 50000,
      currency: 'KRW',
      chargeId: p.chargeId,
      status: 'PAID',
      createdAt,
      canceledAt: null,
      refundedSeatIds: [],
      refundedAmount: 0,
    });
    // The stream entry is the hash's fields after its type, without the status (as purchase.lua's XADD).
    const entry = Object.entries(record).filter(([field]) => field !== 'status');
    pipeline
      .hset(keys.purchase(p.id), record)
      .xadd(keys.purchaseStream, '*', 'type', 'purchase', ...entry.flat())
      .zadd(userPurchasesKey(p.userId), createdAt.getTime(), userPurchasesMember(performanceId, p.id));
  }
  return pipeline.exec();
}

/** p50/p90/p99/max upper bounds from a Prometheus histogram's cumulative buckets. */
function quantiles(metricsText, name) {
  const buckets = [];
  for (const line of metricsText.split('\n')) {
    const match = line.match(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`));
    if (match) buckets.push([match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2])]);
  }
  const total = buckets.at(-1)?.[1] ?? 0;
  const at = (q) => buckets.find(([, n]) => n >= q * total)?.[0];
  return { count: total, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** Outbox messages the batch's relay published and the broker confirmed (its counter, 0 before the first). */
async function relayed() {
  const metrics = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  return Number(metrics.match(/^boxoffice_outbox_published_total (\d+)/m)?.[1] ?? 0);
}

/**
 * Messages in the run's purchase-completed queue (nobody consumes it): what the relay has published.
 * Asked of RabbitMQ rather than of the batch's /metrics while the CPU is timed, because each scrape
 * also counts the outbox backlog in PostgreSQL (polled every 250 ms, that was most of the backends'
 * CPU a relayed message). 0 until the batch has declared the queue.
 */
async function queueCounter() {
  const connection = await amqp.connect(env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  let channel;
  return {
    async count() {
      try {
        channel ??= await connection.createChannel();
        return (await channel.checkQueue(`${env.RABBITMQ_NAMESPACE}.purchase-completed`)).messageCount;
      } catch {
        channel = undefined; // not declared yet: the failed check closed the channel
        return 0;
      }
    },
    close: () => connection.close(),
  };
}

/**
 * Tickets and completed payment attempts written with the purchases, and their outbox messages
 * (relayed, plus rows still waiting; a build that stamps published rows counts them in both): each
 * must equal COUNT.
 */
async function written(db, performanceIds) {
  const { rows } = await db.query(
    `SELECT (SELECT count(*)::int FROM tickets WHERE performance_id = ANY($1::int[])) AS tickets,
            (SELECT count(*)::int FROM outbox) AS "outboxRows",
            (SELECT count(*)::int FROM payment_attempts WHERE status = 'COMPLETED') AS "completedAttempts"`,
    [performanceIds],
  );
  return { ...rows[0], relayed: await relayed() };
}

async function main() {
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix });
  let batch = startBatch();
  try {
    await waitForBatch(); // it creates and migrates the database
    await stopBatch(batch);
    await db.connect();
    const { performanceIds, byPerformance } = await prepareDatabase(db);
    // Registered as the api registers a performance: a flusher skips one whose meta hash is gone.
    for (const performanceId of performanceIds) {
      await redis.hset(redisKeys().performanceKeys(performanceId).meta, 'salesOpenAt', Date.now(), 'currency', 'KRW');
      await redis.sadd(redisKeys().PERFORMANCE_REGISTRY_KEY, performanceId);
    }
    // The steady-rate and relay-only runs use one performance.
    const [performanceId] = performanceIds;
    const [purchases] = byPerformance;
    const nodeArgs = process.env.FLUSH_BATCH_NODE_ARGS ? process.env.FLUSH_BATCH_NODE_ARGS.split(' ') : [];
    if (RELAY_ONLY) {
      batch = startBatch(nodeArgs);
      await waitForBatch();
      const cpuBefore = cpuMicros(batch.pid);
      const pgBefore = await backendCpu(db);
      const started = Date.now();
      // This script's own connection writes them: its CPU is not counted (backendCpu leaves it out).
      // Messages of the contract the flush writes to (id, routing key, PurchaseCompletedMessage).
      const createdAt = new Date().toISOString();
      await db.query(
        `INSERT INTO outbox (message_id, routing_key, payload)
         SELECT m, $2, p FROM unnest($1::text[], $3::jsonb[]) AS t(m, p)`,
        [
          purchases.map((p) => purchaseCompletedMessageId(p.id)),
          ROUTING.purchaseCompleted,
          purchases.map((p) =>
            JSON.stringify({
              purchaseId: p.id,
              userId: p.userId,
              performanceId,
              seatIds: [p.seatId],
              amount: 50000,
              currency: 'KRW',
              createdAt,
            }),
          ),
        ],
      );
      const queue = await queueCounter();
      const pgAfter = await backendCpuUntil(db, async () => (await queue.count()) >= COUNT, { everyMs: 250 });
      const cpuAfter = cpuMicros(batch.pid);
      await queue.close();
      console.log(
        `relay only: ${await relayed()} messages in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
          `batch CPU ${((cpuAfter - cpuBefore) / COUNT).toFixed(1)} µs/message, ` +
          `PostgreSQL backends ${(backendCpuSince(pgBefore, pgAfter) / COUNT).toFixed(1)} µs/message`,
      );
    } else if (RATE === 0) {
      for (const [k, ofPerformance] of byPerformance.entries()) {
        for (let i = 0; i < ofPerformance.length; i += 1000) {
          await appendPurchases(redis, performanceIds[k], ofPerformance.slice(i, i + 1000));
        }
      }
      batch = startBatch(nodeArgs);
      const firstRowAt = await waitForFirstRow(db, performanceIds);
      const cpuAtFirstRow = cpuMicros(batch.pid);
      const redisPid = Number(process.env.FLUSH_REDIS_PID ?? 0);
      const redisAtFirstRow = redisPid ? cpuMicros(redisPid) : 0;
      const pgAtFirstRow = await backendCpu(db);
      const atFirstRow = await waitForRows(db, performanceIds, 0);
      await waitForRows(db, performanceIds, COUNT);
      const lastRowSeconds = (Date.now() - firstRowAt) / 1000;
      const cpuAtEnd = cpuMicros(batch.pid);
      const redisAtEnd = redisPid ? cpuMicros(redisPid) : 0;
      const pgAtEnd = await backendCpu(db);
      // From the statements' own start times (see bench/flush-rate.mjs): the first statement's rows
      // are counted, the last's are not; the batch's CPU from the first rows (not counted) to the last.
      const { rows: timed, seconds, rate } = await flushRate(db, performanceIds);
      console.log(
        `flushed ${COUNT} purchases, ${timed} of them in ${seconds.toFixed(2)} s of statement starts: ` +
          `${rate === null ? 'n/a' : rate.toFixed(0)} purchases/s` +
          `${PERFORMANCES > 1 ? ` (over ${PERFORMANCES} performances)` : ''}, ` +
          `batch CPU ${((cpuAtEnd - cpuAtFirstRow) / (COUNT - atFirstRow)).toFixed(0)} µs/purchase, ` +
          `PostgreSQL backends ${(backendCpuSince(pgAtFirstRow, pgAtEnd) / (COUNT - atFirstRow)).toFixed(0)} µs/purchase` +
          (redisPid ? `, Redis ${((redisAtEnd - redisAtFirstRow) / (COUNT - atFirstRow)).toFixed(0)} µs/purchase` : ''),
      );
      // Every row, by the clock of this process: counts the statements still running at the end, which
      // the statement starts leave out (by up to PURCHASE_FLUSH_IN_FLIGHT statements, so they read
      // higher with larger statements); a count every 250 ms, so ± 0.25 s.
      console.log(
        `end to end: ${COUNT - atFirstRow} purchases after the first written ones in ${lastRowSeconds.toFixed(2)} s ` +
          `(polled): ${((COUNT - atFirstRow) / lastRowSeconds).toFixed(0)} purchases/s`,
      );
      // Then until the relay has published every message: the same CPU counters, flush and relay
      // together. Polled every 500 ms: each scrape also counts the outbox backlog in PostgreSQL.
      const relayStart = Date.now();
      const queue = await queueCounter();
      const pgRelayed = await backendCpuUntil(db, async () => (await queue.count()) >= COUNT);
      const cpuRelayed = cpuMicros(batch.pid);
      await queue.close();
      console.log(
        `relayed ${await relayed()} messages (${((Date.now() - relayStart) / 1000).toFixed(1)} s after the last purchase); ` +
          `flush and relay: batch CPU ${((cpuRelayed - cpuAtFirstRow) / (COUNT - atFirstRow)).toFixed(0)} µs/purchase, ` +
          `PostgreSQL backends ${(backendCpuSince(pgAtFirstRow, pgRelayed) / (COUNT - atFirstRow)).toFixed(0)} µs/purchase`,
      );
      console.log(`with ${JSON.stringify(await written(db, performanceIds))}`);
    } else {
      batch = startBatch(nodeArgs);
      await waitForBatch();
      const started = Date.now();
      let appended = 0;
      // Not awaited one by one: a slow reply must not slow the appending down.
      const appends = [];
      while (appended < COUNT) {
        const due = Math.min(COUNT, Math.floor(((Date.now() - started) / 1000) * RATE));
        if (due > appended) {
          appends.push(appendPurchases(redis, performanceId, purchases.slice(appended, due)));
          appended = due;
        }
        await sleep(5);
      }
      await Promise.all(appends);
      const appendSeconds = (Date.now() - started) / 1000;
      await waitForRows(db, [performanceId], COUNT, { everyMs: 100 });
      const metrics = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
      const lag = quantiles(metrics, 'boxoffice_purchase_flush_lag_seconds');
      // Cross-check any build has: persisted_at is the write's transaction start, so a lower bound.
      const { rows } = await db.query(
        `SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY extract(epoch FROM persisted_at - created_at)) AS q
         FROM purchases WHERE performance_id = $1`,
        [performanceId],
      );
      console.log(
        `lag in PostgreSQL (persisted_at - created_at) p50/p90/p99/max (s): ${rows[0].q.map((q) => Number(q).toFixed(2)).join(' / ')}`,
      );
      console.log(
        `appended ${COUNT} purchases at ${(COUNT / appendSeconds).toFixed(0)}/s for ${appendSeconds.toFixed(1)} s; ` +
          `flush lag (purchase → commit, histogram bucket upper bounds, s): ${JSON.stringify(lag)}`,
      );
      console.log(`with ${JSON.stringify(await written(db, performanceIds))}`);
    }
  } finally {
    await stopBatch(batch);
    await db.end().catch(() => undefined);
    redis.disconnect();
    await dropRun({
      database: `bo_flushbench_${id}`,
      keyPrefix: prefix,
      namespace: env.RABBITMQ_NAMESPACE,
      redisUrl: env.REDIS_URL,
      rabbitmqUrl: env.RABBITMQ_URL,
    });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
