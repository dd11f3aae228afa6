#!/usr/bin/env node
// `npm run bench`: starts a built `api` on its own database and Redis prefix, prepares the data
// each benchmark needs, drives it with autocannon, and prints every figure as a ratio to a plain
// Fastify route (bench/plain-fastify.mjs, its own process) measured in the same run (the machine
// is shared and noisy, so absolute numbers mean little). Writes the results to docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { dropRun, startApp, stopApps } from '../scripts/stack.mjs';
import { bestAvailableWorstCase } from './best-available-worst-case.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOAD_RUNS_HEADING = '## Sold-out load runs';
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
// The api on PORT, the naive server on +100, plain Fastify on +200, metrics on +300/+301: a base
// whose five ports are all free (other services listen in this range too, e.g. NATS on 4222).
const PORT = await freeBase(3900, 90, [0, 100, 200, 300, 301]);
const BASE = `http://127.0.0.1:${PORT}`;
const PLAIN_PORT = PORT + 200;
// BENCH_ONLY=liveness,detail,seats,available,sections,hold,naive,best,join,poll,purchase runs a subset (and writes no docs).
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const wanted = (name) => !ONLY || ONLY.has(name);
// Virtual buyers: each signs up and logs in through the public API before anything is measured
// (argon2 stays outside the measured windows), and the bench's requests carry their tokens.
const BUYERS = Number(process.env.BENCH_BUYERS ?? 256);
// Live seats one buyer may hold per performance (MAX_SEATS_PER_RESERVATION, its default): hold
// and purchase runs spread over performances of BUYERS × HOLD_LIMIT seats, each buyer holding
// HOLD_LIMIT seats of each.
const HOLD_LIMIT = 4;
// The api's MAX_SEATS_PER_RESERVATION: 20 (the most it takes), so that each buyer may make
// BEST_LIMIT / 2 best-available holds of 2 seats on one 80,000-seat performance; the other runs
// keep each buyer within HOLD_LIMIT seats of a performance, so the larger limit changes nothing there.
const BEST_LIMIT = 20;
const BUYER_PASSWORD = 'bench-buyer-password';
// Access tokens live 10 minutes: the buyers' are refreshed through the API before a phase once older than this.
const TOKEN_REFRESH_AFTER_MS = 4 * 60_000;
// The admin's session (see adminToken).
const admin = { token: '', at: 0 };
// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const id = Date.now().toString(36);
const env = {
  ...process.env,
  NODE_ENV: 'production',
  PORT: String(PORT),
  // Production serves metrics on a port of its own (9464 by default): one per process here.
  METRICS_PORT: String(PORT + 300),
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/bo_bench_${id}`,
  REDIS_KEY_PREFIX: `bo_bench_${id}:`,
  RABBITMQ_NAMESPACE: `bo_bench_${id}`,
  JWT_ACCESS_SECRET: 'bench-access-secret-0123456789abcdef0123',
  JWT_REFRESH_SECRET: 'bench-refresh-secret-0123456789abcdef012',
  TICKET_SIGNING_SECRET: 'bench-ticket-secret-0123456789abcdef01234',
  ADMIN_EMAIL: 'bench-admin@boxoffice.local',
  ADMIN_PASSWORD: 'bench-admin-password',
  // Every buyer signs up from this one address.
  SIGNUP_RATE_LIMIT: '0',
  MAX_SEATS_PER_RESERVATION: String(BEST_LIMIT),
  LOG_LEVEL: 'info',
  ACCESS_LOG: 'true',
  LOG_CONSOLE: 'none',
  LOG_DIR: join(os.tmpdir(), `bo-bench-${id}`),
};

async function request(method, path, body, token) {
  const send = () =>
    fetch(`${BASE}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  // A kept-alive socket the api closed while it sat idle (after a load phase) fails before any
  // answer: sent again once, on a new socket. Set-up requests only, on the bench's own database.
  const res = await send().catch((error) => {
    if (error?.cause?.code !== 'UND_ERR_SOCKET') throw error;
    return send();
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function waitForApi() {
  for (let i = 0; i < 150; i += 1) {
    try {
      const ready = await Promise.all([fetch(`${BASE}/health/ready`), fetch(`http://127.0.0.1:${PLAIN_PORT}/hello`)]);
      if (ready.every((res) => res.ok)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('api did not become ready');
}

/** A random base in [from, from + span) such that base + each offset can be listened on now. */
async function freeBase(from, span, offsets) {
  const canListen = (port) =>
    new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = from + Math.floor(Math.random() * span);
    if ((await Promise.all(offsets.map((offset) => canListen(base + offset)))).every(Boolean)) return base;
  }
  throw new Error(`no free ports for the bench in ${from}–${from + span}`);
}

/** CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat. */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/**
 * Runs autocannon; the result also carries `cpuPerRequest`, the µs of CPU the serving process
 * (`pid`, the api unless given) spent per answered request — steadier than req/s on a shared machine.
 */
function measure(title, options, pid = api.pid) {
  return new Promise((resolve, reject) => {
    const cpuBefore = cpuMicros(pid);
    const instance = autocannon(
      { url: BASE, connections: CONNECTIONS, duration: DURATION, ...options },
      (error, result) => {
        if (error) return reject(error);
        result.cpuPerRequest = (cpuMicros(pid) - cpuBefore) / Math.max(1, result.requests.total);
        resolve(result);
      },
    );
    autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
    process.stdout.write(`\n${title}\n`);
  });
}

function summary(name, result, baseline, expectedStatus = 200) {
  const unexpected = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => Number(code) !== expectedStatus)
    .reduce((sum, [, stat]) => sum + stat.count, 0);
  const non2xx = unexpected + result.errors + result.timeouts;
  return {
    name,
    rps: result.requests.average,
    ratio: baseline ? result.requests.average / baseline.requests.average : 1,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpu: result.cpuPerRequest,
    non2xx,
  };
}

// BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the api (written when it exits).
const apiNodeArgs = process.env.BENCH_API_NODE_ARGS ? process.env.BENCH_API_NODE_ARGS.split(' ') : [];
const api = startApp('api', env, { nodeArgs: apiNodeArgs, stdio: 'inherit' });
const plain = spawn(process.execPath, [join(root, 'bench/plain-fastify.mjs'), String(PLAIN_PORT)], {
  stdio: 'inherit',
});
const rows = [];
const extraNotes = [];
const bench = { naiveServer: '`bench/naive-hold-server.mjs`, same Fastify stack, same seats, 20 pooled connections' };
try {
  await waitForApi();
  const event = await request('POST', '/api/v1/events', { title: 'Bench stadium', venue: 'Bench' }, await adminToken());
  const started = Date.now();
  const performance = await request(
    'POST',
    `/api/v1/events/${event.id}/performances`,
    {
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
      sections: [
        { name: 'Floor', grade: 'VIP', price: 220000, rows: 100, seatsPerRow: 100 },
        { name: 'Stand', grade: 'R', price: 150000, rows: 400, seatsPerRow: 100 },
      ],
    },
    await adminToken(),
  );
  const createMs = Date.now() - started;
  console.log(`created a ${performance.totalSeats}-seat performance in ${createMs} ms`);

  // Deep pages cost the same as the first one: sample cursors across the whole performance
  // (500 page reads: only for the runs that read pages).
  const cursors = [];
  let page =
    wanted('seats') || wanted('available')
      ? await request('GET', `/api/v1/performances/${performance.id}/seats?limit=100`)
      : {};
  for (let i = 0; i < 50 && page.nextCursor; i += 1) {
    cursors.push(page.nextCursor);
    for (let skip = 0; skip < 9 && page.nextCursor; skip += 1) {
      page = await request('GET', `/api/v1/performances/${performance.id}/seats?limit=100&cursor=${page.nextCursor}`);
    }
  }

  const trivial = await measure(
    'plain Fastify route (GET /hello, bench/plain-fastify.mjs)',
    {
      url: `http://127.0.0.1:${PLAIN_PORT}`,
      requests: [{ method: 'GET', path: '/hello' }],
    },
    plain.pid,
  );
  rows.push(summary('plain Fastify `GET /hello` (baseline, own process)', trivial));
  if (wanted('liveness')) {
    const liveness = await measure('liveness (GET /health/live)', {
      requests: [{ method: 'GET', path: '/health/live' }],
    });
    rows.push(summary('`GET /health/live`', liveness, trivial));
  }
  if (wanted('detail')) {
    const detail = await measure('performance with live counts (GET /performances/:id)', {
      requests: [{ method: 'GET', path: `/api/v1/performances/${performance.id}` }],
    });
    rows.push(summary('`GET /performances/:id` with live counts', detail, trivial));
  }
  let next = 0;
  if (wanted('seats')) {
    const seats = await measure('cached seat page of a 50,000-seat performance (100 seats, live status)', {
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/api/v1/performances/${performance.id}/seats?limit=100&cursor=${cursors[next++ % cursors.length]}`,
          }),
        },
      ],
    });
    rows.push(summary('cached seat page, 100 of 50,000 seats, live status', seats, trivial));
  }
  let nextAvailable = 0;
  if (wanted('available')) {
    const available = await measure('seat page of free seats only (?status=AVAILABLE)', {
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/api/v1/performances/${performance.id}/seats?limit=100&status=AVAILABLE&cursor=${cursors[nextAvailable++ % cursors.length]}`,
          }),
        },
      ],
    });
    rows.push(summary('seat page `?status=AVAILABLE`, 100 free seats', available, trivial));
  }

  if (wanted('sections')) {
    const sections = await measure('sections with live availability (GET /performances/:id/sections)', {
      requests: [{ method: 'GET', path: `/api/v1/performances/${performance.id}/sections` }],
    });
    rows.push(summary('`GET /performances/:id/sections`, 50,000 seats counted in steps', sections, trivial));
  }

  // Buyers sign up and log in through the API, in parallel, before anything below is measured.
  const buyers = ['hold', 'naive', 'best', 'join', 'poll', 'purchase'].some(wanted) ? await signUpBuyers(BUYERS) : [];
  // Holds: buyers of the pool in turn, each seat asked for once, in random order (see holdPlan).
  let holds = null;
  let holdCount = 0;
  if (wanted('hold')) {
    const plan = await holdPlan('Bench holds', Number(process.env.BENCH_HOLDS ?? 50_000), buyers);
    holdCount = plan.length;
    await freshTokens(buyers);
    let nextHold = 0;
    holds = await measure('hold one free seat (POST /reservations)', {
      // Each seat is asked for once: past the last one every hold would be a 409.
      amount: plan.length,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const { performanceId, seatId, buyer } = plan[nextHold++ % plan.length];
            return {
              ...req,
              path: '/api/v1/reservations',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
              body: JSON.stringify({ performanceId, seatIds: [seatId] }),
            };
          },
        },
      ],
    });
    rows.push(summary('hold a random free seat (one Lua script in Redis)', holds, trivial, 201));
  }
  if (holds && wanted('naive')) {
    const holdsNaive = await naiveHolds(holdCount);
    rows.push(summary('naive baseline: hold with `SELECT … FOR UPDATE` in PostgreSQL', holdsNaive, trivial, 201));
    extraNotes.push(
      `Holds are ${(holds.requests.average / holdsNaive.requests.average).toFixed(1)}× the naive PostgreSQL-lock baseline ` +
        `(${bench.naiveServer}).`,
    );
  }
  if (wanted('best')) {
    const best = await benchBestAvailable(buyers, trivial);
    rows.push(best.row);
    extraNotes.push(best.note);
  }
  if (wanted('join') || wanted('poll')) rows.push(...(await benchQueue(buyers, trivial)));
  if (wanted('purchase')) {
    const purchases = await benchPurchases(buyers, trivial);
    rows.push(purchases.row);
    extraNotes.push(purchases.flushNote);
  }

  printAndWrite(rows, { createMs, totalSeats: performance.totalSeats });
} finally {
  await stopApps([plain, api]);
  await dropRun({
    database: `bo_bench_${id}`,
    keyPrefix: env.REDIS_KEY_PREFIX,
    namespace: env.RABBITMQ_NAMESPACE,
    redisUrl: env.REDIS_URL,
    rabbitmqUrl: env.RABBITMQ_URL,
  });
}

/**
 * Best-available holds (`POST /reservations {performanceId, quantity: 2}`: one Lua script picks
 * and holds the best 2 seats together) on an 80,000-seat venue (8 sections × 100 rows × 100
 * seats), buyers in turn, each within BEST_LIMIT seats; then the script's own time in Redis in
 * its worst cases (bench/best-available-worst-case.mjs).
 */
async function benchBestAvailable(buyers, trivial) {
  const started = Date.now();
  const [performanceId] = await createPerformances(
    'Bench best available',
    1,
    Array.from({ length: 8 }, (_, i) => ({
      name: `S${i + 1}`,
      grade: i < 2 ? 'VIP' : 'R',
      price: i < 2 ? 220000 : 150000,
      rows: 100,
      seatsPerRow: 100,
    })),
  );
  const createMs = Date.now() - started;
  const count = Math.min(Number(process.env.BENCH_BEST_HOLDS ?? 5_000), buyers.length * (BEST_LIMIT / 2));
  await freshTokens(buyers);
  let next = 0;
  const result = await measure('best-available hold, 2 seats together (POST /reservations {quantity: 2})', {
    amount: count,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const buyer = buyers[next++ % buyers.length];
          return {
            ...req,
            path: '/api/v1/reservations',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
            body: JSON.stringify({ performanceId, quantity: 2 }),
          };
        },
      },
    ],
  });
  const worst = await bestAvailableWorstCase({
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${env.REDIS_KEY_PREFIX}worst:`,
  });
  const figure = (case_) =>
    `median ${case_.median.toFixed(2)} ms, max ${case_.max.toFixed(2)} ms over ${case_.runs} runs`;
  const note =
    `Best-available holds ran on an 80,000-seat performance (created in ${createMs} ms), ${count} holds of 2 seats. ` +
    `The best-available script's own time inside Redis (Redis TIME around it, no network), ${worst.seats} seats: ` +
    `near-full venue falling through to SPLIT: ${figure(worst.split)}; near-full, together (every rung searched, ` +
    `nothing held): ${figure(worst.noFit)}; empty venue: ${figure(worst.empty)}. Redis's busy-script threshold ` +
    `(busy-reply-threshold) is 5,000 ms.`;
  console.log(note);
  return { row: summary('best-available hold, 2 seats together, 80,000-seat venue', result, trivial, 201), note };
}

/**
 * The waiting room: joins (each request a buyer joining a queue it is not in yet: one Lua script)
 * and polls (GET /queue/:ticketId of every buyer's ticket in one line: one Lua script, ZRANK). No
 * `batch` runs, so nobody is admitted and every poll answers a position.
 */
async function benchQueue(buyers, trivial) {
  // After the long idle preparation the api may have closed the pooled keep-alive socket just as
  // it is reused ("other side closed"): spend that race on a harmless read.
  await fetch(`${BASE}/health/live`).then(
    (res) => res.arrayBuffer(),
    () => undefined,
  );
  const results = [];
  if (wanted('join')) {
    // One ticket per buyer and performance: BENCH_JOINS new joins need that many / BUYERS queues.
    const queues = await queuedPerformances(
      'Bench queue',
      Math.ceil(Number(process.env.BENCH_JOINS ?? 30_000) / buyers.length),
    );
    await freshTokens(buyers);
    let next = 0;
    const joins = await measure('join a waiting room (POST /performances/:id/queue)', {
      // Every join a new ticket: past the last pair every join would answer a ticket again.
      amount: queues.length * buyers.length,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const i = next++;
            return {
              ...req,
              path: `/api/v1/performances/${queues[Math.floor(i / buyers.length) % queues.length]}/queue`,
              headers: { authorization: `Bearer ${buyers[i % buyers.length].token}` },
            };
          },
        },
      ],
    });
    results.push(summary('join a waiting room (one Lua script)', joins, trivial, 201));
  }
  if (wanted('poll')) {
    const [queue] = await queuedPerformances('Bench poll', 1);
    const polled = [];
    for (let i = 0; i < buyers.length; i += 64) {
      const slice = buyers.slice(i, i + 64).map(async (buyer) => {
        const ticket = await request('POST', `/api/v1/performances/${queue}/queue`, {}, buyer.token);
        return { buyer, ticketId: ticket.ticketId };
      });
      polled.push(...(await Promise.all(slice)));
    }
    await freshTokens(buyers);
    let next = 0;
    const polls = await measure('poll a queue ticket (GET /queue/:ticketId)', {
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => {
            const ticket = polled[next++ % polled.length];
            return {
              ...req,
              path: `/api/v1/queue/${ticket.ticketId}`,
              headers: { authorization: `Bearer ${ticket.buyer.token}` },
            };
          },
        },
      ],
    });
    results.push(summary('poll a queue ticket: position and ETA (one Lua script, ZRANK)', polls, trivial));
  }
  return results;
}

/** Ids of `count` one-seat performances, each with an open waiting room that admits nobody in the run. */
async function queuedPerformances(title, count) {
  const ids = await createPerformances(title, count, [
    { name: 'Hall', grade: 'R', price: 50000, rows: 1, seatsPerRow: 1 },
  ]);
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) =>
        request(
          'PUT',
          `/api/v1/performances/${id}/queue`,
          {
            opensAt: new Date(Date.now() - 1000).toISOString(),
            admitPerSecond: 1,
            maxActive: 1,
            admissionTtlSeconds: 60,
            sessionTtlSeconds: 600,
          },
          await adminToken(),
        ),
      ),
    );
  }
  return ids;
}

/**
 * Purchases per second (each request buys its own live hold, made by the same buyer beforehand)
 * and the write-behind flush rate of one `batch` process.
 */
async function benchPurchases(buyers, trivial) {
  const count = Number(process.env.BENCH_PURCHASES ?? 20000);
  const plan = await holdPlan('Bench purchases', count, buyers);
  const performanceIds = [...new Set(plan.map((entry) => entry.performanceId))];
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  const holds = [];
  process.stdout.write(`\nholding ${plan.length} seats for the purchase benchmark `);
  for (let i = 0; i < plan.length; i += 200) {
    await freshTokens(buyers);
    const slice = plan.slice(i, i + 200).map(async ({ performanceId, seatId, buyer }) => {
      const hold = await request('POST', '/api/v1/reservations', { performanceId, seatIds: [seatId] }, buyer.token);
      return { buyer, holdId: hold.id };
    });
    holds.push(...(await Promise.all(slice)));
    process.stdout.write('.');
  }
  await freshTokens(buyers);
  let next = 0;
  const bought = await measure(`buy ${holds.length} holds (POST /purchases)`, {
    amount: holds.length,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const hold = holds[next++ % holds.length];
          return {
            ...req,
            path: '/api/v1/purchases',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${hold.buyer.token}` },
            body: JSON.stringify({ reservationId: hold.holdId }),
          };
        },
      },
    ],
  });
  const row = summary('buy a live hold (charge + one Lua script + stream append)', bought, trivial, 201);

  // One batch process flushes the whole backlog; time it from start to the last row.
  const answered = bought.statusCodeStats?.['201']?.count ?? 0;
  const flushStarted = Date.now();
  // BENCH_BATCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the flushing batch (written when it exits).
  const batchNodeArgs = process.env.BENCH_BATCH_NODE_ARGS ? process.env.BENCH_BATCH_NODE_ARGS.split(' ') : [];
  const batch = startApp(
    'batch',
    { ...env, PURCHASE_FLUSH_AGE_SECONDS: '0', METRICS_PORT: String(PORT + 301) },
    { nodeArgs: batchNodeArgs },
  );
  let persisted = 0;
  let firstRowAt = 0;
  try {
    while (Date.now() - flushStarted < 300_000) {
      persisted = (
        await db.query('SELECT count(*)::int AS n FROM purchases WHERE performance_id = ANY($1::int[])', [
          performanceIds,
        ])
      ).rows[0].n;
      // Timed from the first written row, so the process start-up is not counted.
      if (persisted > 0 && firstRowAt === 0) firstRowAt = Date.now();
      if (persisted >= answered) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await stopApps([batch]);
    await db.end();
  }
  const seconds = Math.max(0.001, (Date.now() - firstRowAt) / 1000);
  const flushNote =
    `One \`batch\` process wrote ${persisted} purchases (with their tickets and outbox rows) to PostgreSQL in ` +
    `${seconds.toFixed(1)} s from its first row: **${(persisted / seconds).toFixed(0)} purchases/s** flushed ` +
    `(one statement per batch of up to PURCHASE_FLUSH_BATCH_SIZE stream entries, several batches in flight).`;
  console.log(flushNote);
  return { row, flushNote };
}

/** A horizontal bar chart of the ratios to the plain Fastify route, as SVG. */
function ratioChart(results) {
  const width = 760;
  const barHeight = 26;
  const labelWidth = 330;
  const height = results.length * (barHeight + 10) + 40;
  const max = Math.max(1, ...results.map((r) => r.ratio));
  const bars = results
    .map((r, i) => {
      const y = 30 + i * (barHeight + 10);
      const w = ((width - labelWidth - 60) * r.ratio) / max;
      const label = r.name.replace(/`/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;');
      return (
        `<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end" font-size="12">${label.slice(0, 48)}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="#3b7dd8"/>` +
        `<text x="${labelWidth + w + 6}" y="${y + 18}" font-size="12">${r.ratio.toFixed(2)}</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<text x="10" y="18" font-size="14" font-weight="bold">Requests per second, as a ratio to a plain Fastify route (same run)</text>
${bars}
</svg>
`;
}

function printAndWrite(results, extra) {
  const table = [
    '| benchmark | req/s | ratio to plain Fastify | p50 ms | p99 ms | server CPU µs/request | unexpected answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.p50} | ${r.p99} | ` +
        `${r.cpu === undefined ? '' : r.cpu.toFixed(0)} | ${r.non2xx} |`,
    ),
  ].join('\n');
  console.log(`\n${table}\n`);
  if (ONLY) return;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const doc = `# Benchmarks

Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu},
${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, one \`api\` process (NODE_ENV=production),
local PostgreSQL and Redis, autocannon with ${CONNECTIONS} connections for ${DURATION} s per figure.

The machine is shared and noisy, so each figure is given as a ratio to a plain Fastify route
(\`bench/plain-fastify.mjs\`: \`GET /hello\` answering \`{status:'ok'}\`, its own process, the
project's own Fastify) measured in the same run; read the ratios, not the absolute numbers.

${table}

![ratios to the plain Fastify route](benchmarks.svg)

Creating the ${extra.totalSeats}-seat performance (seats generated in PostgreSQL, registered in Redis)
took ${extra.createMs} ms in this run.

${extraNotes.join('\n\n')}

Rerun with \`npm run build && npm run bench\` (\`BENCH_SECONDS\`, \`BENCH_CONNECTIONS\` change the load).
`;
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(join(root, 'docs', 'benchmarks.svg'), ratioChart(results));
  // The sold-out load runs (npm run loadtest) are recorded by hand below the benchmarks: keep them.
  const path = join(root, 'docs', 'benchmarks.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const loadRuns = previous.indexOf(LOAD_RUNS_HEADING);
  writeFileSync(path, loadRuns >= 0 ? `${doc}\n${previous.slice(loadRuns)}` : doc);
  console.log('wrote docs/benchmarks.md');
}

async function allSeatIds(performanceId) {
  const ids = [];
  let cursor = null;
  do {
    const page = await request(
      'GET',
      `/api/v1/performances/${performanceId}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    ids.push(...page.items.map((s) => s.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
}

/**
 * Signs up and logs in `count` buyers through the public API, 32 at a time (each costs the api
 * two argon2 hashes, outside every measured window). Each buyer: `{ email, token, refreshToken, at }`.
 */
async function signUpBuyers(count) {
  const started = Date.now();
  const buyers = [];
  process.stdout.write(`\nsigning up and logging in ${count} buyers `);
  for (let i = 0; i < count; i += 32) {
    const slice = Array.from({ length: Math.min(32, count - i) }, async (_, j) => {
      const email = `bench-buyer-${i + j}@bench.local`;
      await request('POST', '/api/v1/auth/signup', { email, password: BUYER_PASSWORD, name: `Bench buyer ${i + j}` });
      const session = await request('POST', '/api/v1/auth/login', { email, password: BUYER_PASSWORD });
      return { email, token: session.accessToken, refreshToken: session.refreshToken, at: Date.now() };
    });
    buyers.push(...(await Promise.all(slice)));
    process.stdout.write('.');
  }
  console.log(` ${Date.now() - started} ms`);
  return buyers;
}

/** Refreshes (POST /auth/refresh) the tokens of the buyers whose access token is older than TOKEN_REFRESH_AFTER_MS. */
async function freshTokens(buyers) {
  const stale = buyers.filter((buyer) => Date.now() - buyer.at > TOKEN_REFRESH_AFTER_MS);
  for (let i = 0; i < stale.length; i += 32) {
    await Promise.all(
      stale.slice(i, i + 32).map(async (buyer) => {
        const session = await request('POST', '/api/v1/auth/refresh', { refreshToken: buyer.refreshToken });
        Object.assign(buyer, { token: session.accessToken, refreshToken: session.refreshToken, at: Date.now() });
      }),
    );
  }
}

/** The admin's access token, logged in again through the API once older than TOKEN_REFRESH_AFTER_MS. */
async function adminToken() {
  if (Date.now() - admin.at > TOKEN_REFRESH_AFTER_MS) {
    const session = await request('POST', '/api/v1/auth/login', {
      email: env.ADMIN_EMAIL,
      password: env.ADMIN_PASSWORD,
    });
    Object.assign(admin, { token: session.accessToken, at: Date.now() });
  }
  return admin.token;
}

/** Creates `count` performances of one event with `sections`, 8 at a time; their ids. */
async function createPerformances(title, count, sections) {
  const event = await request('POST', '/api/v1/events', { title, venue: 'Bench' }, await adminToken());
  const ids = [];
  for (let i = 0; i < count; i += 8) {
    const slice = Array.from({ length: Math.min(8, count - i) }, async () => {
      const performance = await request(
        'POST',
        `/api/v1/events/${event.id}/performances`,
        { startsAt: new Date(Date.now() + 86_400_000).toISOString(), sections },
        await adminToken(),
      );
      return performance.id;
    });
    ids.push(...(await Promise.all(slice)));
  }
  return ids;
}

/**
 * `count` holds of one seat each, as `{ performanceId, seatId, buyer }`, in the order to send
 * them: buyers may hold HOLD_LIMIT live seats of a performance, so the seats are spread over
 * performances of `buyers.length × HOLD_LIMIT` seats, each buyer getting HOLD_LIMIT random seats
 * of each; no seat appears twice.
 */
async function holdPlan(title, count, buyers) {
  const perPerformance = buyers.length * HOLD_LIMIT;
  const performanceIds = await createPerformances(title, Math.ceil(count / perPerformance), [
    { name: 'Hall', grade: 'R', price: 50000, rows: buyers.length, seatsPerRow: HOLD_LIMIT },
  ]);
  const plan = [];
  for (let i = 0; i < performanceIds.length; i += 8) {
    const group = performanceIds.slice(i, i + 8);
    const seatIdsOf = await Promise.all(group.map((performanceId) => allSeatIds(performanceId)));
    group.forEach((performanceId, g) => {
      const seatIds = seatIdsOf[g];
      shuffle(seatIds);
      seatIds.forEach((seatId, k) => plan.push({ performanceId, seatId, buyer: buyers[k % buyers.length] }));
    });
  }
  return plan.slice(0, count);
}

async function naiveHolds(seatCount) {
  const naivePort = PORT + 100;
  const server = spawn(
    process.execPath,
    [join(root, 'bench/naive-hold-server.mjs'), String(naivePort), env.DATABASE_URL, String(seatCount)],
    {
      stdio: 'inherit',
    },
  );
  try {
    for (let i = 0; i < 100; i += 1) {
      try {
        await fetch(`http://127.0.0.1:${naivePort}/hold`, { method: 'POST' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const ids = Array.from({ length: seatCount }, (_, i) => i + 1);
    shuffle(ids);
    let nextSeat = 0;
    return await measure(
      'naive baseline: hold with SELECT … FOR UPDATE in PostgreSQL',
      {
        url: `http://127.0.0.1:${naivePort}`,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => ({
              ...req,
              path: '/hold',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ userId: randomUUID(), seatIds: [ids[nextSeat++ % ids.length]] }),
            }),
          },
        ],
      },
      server.pid,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}
