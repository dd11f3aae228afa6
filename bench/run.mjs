#!/usr/bin/env node
// `npm run bench`: starts a built `api` on its own database and Redis prefix, prepares the data
// each benchmark needs, drives it with autocannon, and prints every figure as a ratio to a plain
// Fastify route (bench/plain-fastify.mjs, its own process) measured in the same run (the machine
// is shared and noisy, so absolute numbers mean little). Writes the results to docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { startRedisCluster } from '../scripts/redis-cluster.mjs';
import { dropRun, startApp, stopApps } from '../scripts/stack.mjs';
import {
  BEST_LIMIT,
  benchApi,
  bestAvailableHolds,
  bestAvailableSections,
  purchases,
  seatHolds,
  shuffle,
} from './bench-api.mjs';
import { bestAvailableWorstCase } from './best-available-worst-case.mjs';
import { flushRate, waitForRows } from './flush-rate.mjs';
import { cpuMicros, waitForQuietMachine } from './process-cpu.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOAD_RUNS_HEADING = '## Sold-out load runs';
const CLUSTER_HEADING = '## Hold and purchase on a Redis Cluster';
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const CPU_SLICE = Number(process.env.BENCH_CPU_SLICE ?? 0);
// The steady phase's offered rate (requests/s over all connections; see benchSteady).
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 1000);
const STEADY_HEADING = '## Latency at a steady offered rate';
// The api on PORT, the naive server on +100, plain Fastify on +200, metrics on +300/+301/+302,
// the api on the Redis Cluster on +400: a base whose ports are all free (other services listen in
// this range too, e.g. NATS on 4222).
const PORT = await freeBase(3900, 90, [0, 100, 200, 300, 301, 302, 400]);
const BASE = `http://127.0.0.1:${PORT}`;
const PLAIN_PORT = PORT + 200;
const CLUSTER_PORT = PORT + 400;
// BENCH_ONLY=liveness,detail,seats,available,late,sections,hold,naive,best,join,poll,purchase,steady,cluster-hold,cluster-purchase
// runs a subset: it writes no docs, except the Redis Cluster section when cluster-hold or
// cluster-purchase ran (with hold and purchase, for the ratios).
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const wanted = (name) => !ONLY || ONLY.has(name);
// Virtual buyers: each signs up and logs in through the public API before anything is measured
// (argon2 stays outside the measured windows), and the bench's requests carry their tokens.
const BUYERS = Number(process.env.BENCH_BUYERS ?? 256);
// Performances the best-available holds alternate between: BUYERS × BEST_LIMIT / 2 holds fit on
// one (2,560, answered in ~2.5 s: a major GC or a one-time load in so short a window moves the
// api's CPU per request by a fifth or more), so BENCH_BEST_HOLDS (5,000) spreads over two.
const BEST_PERFORMANCES = 2;
// Best-available holds sent before the measured window, on a smaller performance of their own
// (8 sections × 10 rows × 100 seats; at most BUYERS × BEST_LIMIT / 2): a process's first ~1,500
// requests of a route cost 2–2.5× the later ones (V8 compiling the route's code), which the
// seat-id hold's 50,000-request window hardly feels and this 5,000-request one did (a fifth to a
// third of its CPU with BENCH_ONLY=best, docs/performance.md). 0: no warm-up. The measured
// performances' pages are read once before the window, as buyers open a performance's page before
// its on-sale: that read loads the api's copy of the performance and, the performance selling,
// its seat directory (SeatDirectory.warm), which the window's first holds waited for before.
const BEST_WARMUP = Number(process.env.BENCH_BEST_WARMUP ?? 2_000);
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

/**
 * The api the bench talks to: the one on the single Redis, or during the Redis Cluster phases
 * the one on the local cluster (see benchOnCluster). `pid` is the process whose CPU is counted.
 */
const target = { base: BASE, pid: 0 };
const { request, adminToken, signUpBuyers, freshTokens, createPerformances, holdPlan, holdAll } = benchApi(target, {
  email: env.ADMIN_EMAIL,
  password: env.ADMIN_PASSWORD,
});

async function waitForApi() {
  for (let i = 0; i < 150; i += 1) {
    try {
      const ready = await Promise.all([
        fetch(`${target.base}/health/ready`),
        fetch(`http://127.0.0.1:${PLAIN_PORT}/hello`),
      ]);
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

/**
 * BENCH_COUNTS=1: what the serving process did a request over each window besides its CPU, from
 * /proc (read and write system calls, voluntary context switches: roughly the event-loop turns that
 * found nothing to do and slept) and from Redis's INFO (EVALSHA and other commands a request, the
 * µs Redis spent in them, redis-server's CPU). The Redis is shared: other clients' commands in the
 * window count too, so read the figures against the requests' own (e.g. 2 EVALSHA a hold).
 */
const COUNTS = process.env.BENCH_COUNTS === '1';

/** The counters BENCH_COUNTS compares across a window (see COUNTS). */
function counters(pid) {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (text, name) => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const info = spawnSync('redis-cli', ['-u', env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'INFO', 'all'], {
    encoding: 'utf8',
  }).stdout;
  let calls = 0;
  let usec = 0;
  let evalshaCalls = 0;
  let evalshaUsec = 0;
  let execCalls = 0;
  for (const [, name, c, u] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (name === 'info') continue;
    calls += Number(c);
    usec += Number(u);
    if (name === 'exec') execCalls = Number(c);
    if (name === 'evalsha') {
      evalshaCalls = Number(c);
      evalshaUsec = Number(u);
    }
  }
  const redisPid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  return {
    reads: field(io, 'syscr'),
    writes: field(io, 'syscw'),
    sleeps: field(status, 'voluntary_ctxt_switches'),
    preempted: field(status, 'nonvoluntary_ctxt_switches'),
    calls,
    usec,
    evalshaCalls,
    evalshaUsec,
    execCalls,
    redisCpu: redisPid ? cpuMicros(redisPid) : NaN,
  };
}

/** One line of BENCH_COUNTS figures a request between `before` and `after` (see counters). */
function countsLine(before, after, requests) {
  const per = (name) => ((after[name] - before[name]) / requests).toFixed(2);
  const evalshaCalls = after.evalshaCalls - before.evalshaCalls;
  return (
    `\ncounts a request: reads ${per('reads')}, writes ${per('writes')}, sleeps ${per('sleeps')}, ` +
    `preempted ${per('preempted')}; Redis: commands ${per('calls')} (EVALSHA ${per('evalshaCalls')}, ` +
    `${((after.evalshaUsec - before.evalshaUsec) / Math.max(1, evalshaCalls)).toFixed(1)} µs each; EXEC ${per('execCalls')}), ` +
    `µs in commands ${per('usec')}, redis-server CPU µs ${per('redisCpu')}`
  );
}

/**
 * Waits for a quiet machine (waitForQuietMachine), then runs autocannon; the result also carries
 * `clientCpuPerRequest`, the µs of CPU this process (the load generator) spent per answered
 * request, and `cpuPerRequest`, the µs of CPU the serving process
 * (`pid`, the api unless given) spent per answered request — steadier than req/s on a shared machine —
 * and `rps`, the answers over the time from the start to the last answer. (autocannon's own
 * `requests.average` averages whole-second counts and ends an `amount` run at the next whole second:
 * 2,560 answers in 2.2 s read as 2,560 / 3 = 853 req/s.)
 */
async function measure(title, options, pid = target.pid) {
  const quiet = await waitForQuietMachine();
  const busy = (share) => `${Math.round(share * 100)} %`;
  console.log(
    `\n${title}: the machine ${busy(quiet.shares[0])} busy, ` +
      (quiet.settled
        ? `${busy(quiet.shares.at(-1))} after ${quiet.waitedMs} ms`
        : `still ${busy(quiet.shares.at(-1))} after ${quiet.waitedMs} ms: measured anyway`),
  );
  return new Promise((resolve, reject) => {
    const countsBefore = COUNTS ? counters(pid) : null;
    const cpuBefore = cpuMicros(pid);
    const clientBefore = process.cpuUsage();
    const from = process.hrtime.bigint() / 1000n;
    let answered = 0;
    let lastAnswer = from;
    const instance = autocannon(
      { url: target.base, connections: CONNECTIONS, duration: DURATION, ...options },
      (error, result) => {
        if (error) return reject(error);
        result.cpuPerRequest = (cpuMicros(pid) - cpuBefore) / Math.max(1, result.requests.total);
        const client = process.cpuUsage(clientBefore);
        result.clientCpuPerRequest = (client.user + client.system) / Math.max(1, result.requests.total);
        console.log(
          `\n${title}: server ${result.cpuPerRequest.toFixed(0)} µs, load generator ${result.clientCpuPerRequest.toFixed(0)} µs of CPU a request`,
        );
        if (countsBefore) console.log(countsLine(countsBefore, counters(pid), Math.max(1, result.requests.total)));
        result.rps = (answered * 1e6) / Math.max(1, Number(lastAnswer - from));
        // The window on the monotonic clock (µs) that --cpu-prof timestamps count on, to cut a profile to it.
        if (apiNodeArgs.length > 0)
          console.log(`\nmeasured window of "${title}": ${from}–${process.hrtime.bigint() / 1000n} µs monotonic`);
        resolve(result);
      },
    );
    // BENCH_CPU_SLICE=<n> prints the serving process's CPU µs a request over each n answers: how
    // a window's cost moves from its first requests (compilation, one-time loads) to its last.
    let sliceCpu = cpuBefore;
    instance.on('response', () => {
      answered += 1;
      lastAnswer = process.hrtime.bigint() / 1000n;
      if (CPU_SLICE > 0 && answered % CPU_SLICE === 0) {
        const cpu = cpuMicros(pid);
        process.stdout.write(` [${answered}: ${Math.round((cpu - sliceCpu) / CPU_SLICE)} µs]`);
        sliceCpu = cpu;
      }
    });
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
    rps: result.rps,
    ratio: baseline ? result.rps / baseline.rps : 1,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpu: result.cpuPerRequest,
    clientCpu: result.clientCpuPerRequest,
    non2xx,
  };
}

// BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the api (written when it exits).
const apiNodeArgs = process.env.BENCH_API_NODE_ARGS ? process.env.BENCH_API_NODE_ARGS.split(' ') : [];
const api = startApp('api', env, { nodeArgs: apiNodeArgs, stdio: 'inherit' });
target.pid = api.pid;
const plain = spawn(process.execPath, [join(root, 'bench/plain-fastify.mjs'), String(PLAIN_PORT)], {
  stdio: 'inherit',
});
const rows = [];
const extraNotes = [];
// The Redis Cluster section of docs/benchmarks.md, when cluster-hold or cluster-purchase ran.
let clusterSection = null;
const bench = { naiveServer: '`bench/naive-hold-server.mjs`, same Fastify stack, same seats, 20 pooled connections' };
try {
  await waitForApi();
  const event = await request('POST', '/api/v1/events', { title: 'Bench stadium', venue: 'Bench' }, await adminToken());
  const started = Date.now();
  const performance = await request(
    'POST',
    `/api/v1/events/${event.id}/performances`,
    {
      startsAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
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
  // (500 page reads a list: only for the runs that read pages). A cursor carries its list's
  // filters, so the free-seat pages follow cursors of their own list.
  const cursors = wanted('seats') ? await sampleCursors(performance.id, '', 50, 9) : [];
  const availableCursors = wanted('available') ? await sampleCursors(performance.id, '&status=AVAILABLE', 50, 9) : [];

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
            path: `/api/v1/performances/${performance.id}/seats?limit=100&status=AVAILABLE&cursor=${availableCursors[nextAvailable++ % availableCursors.length]}`,
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
  const buyers = [
    'late',
    'hold',
    'naive',
    'best',
    'join',
    'poll',
    'purchase',
    'steady',
    'cluster-hold',
    'cluster-purchase',
  ].some(wanted)
    ? await signUpBuyers(BUYERS)
    : [];
  if (wanted('late')) rows.push(await benchLateSale(buyers, trivial));
  // Holds: buyers of the pool in turn, each seat asked for once, in random order (see holdPlan).
  let holds = null;
  let holdCount = 0;
  if (wanted('hold')) {
    ({ result: holds, count: holdCount } = await benchHolds('Bench holds', buyers));
    rows.push(summary('hold a random free seat (one Lua script in Redis)', holds, trivial, 201));
  }
  if (holds && wanted('naive')) {
    const holdsNaive = await naiveHolds(holdCount);
    rows.push(summary('naive baseline: hold with `SELECT … FOR UPDATE` in PostgreSQL', holdsNaive, trivial, 201));
    extraNotes.push(
      `Holds are ${(holds.rps / holdsNaive.rps).toFixed(1)}× the naive PostgreSQL-lock baseline ` +
        `(${bench.naiveServer}).`,
    );
  }
  if (wanted('best')) {
    const best = await benchBestAvailable(buyers, trivial);
    rows.push(best.row);
    extraNotes.push(best.note);
  }
  if (wanted('join') || wanted('poll')) rows.push(...(await benchQueue(buyers, trivial)));
  let purchases = null;
  if (wanted('purchase')) {
    purchases = await benchPurchases(buyers, trivial);
    rows.push(purchases.row);
    extraNotes.push(purchases.flushNote);
  }
  const steadySection = wanted('steady') ? await benchSteady(buyers) : null;
  if (wanted('cluster-hold') || wanted('cluster-purchase')) {
    clusterSection = await benchOnCluster(buyers, trivial, { holds, purchases: purchases?.result ?? null });
    rows.push(...clusterSection.rows);
  }

  printAndWrite(rows, { createMs, totalSeats: performance.totalSeats, steadySection }, clusterSection?.section ?? null);
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
 * BENCH_HOLDS (50,000) holds of one free seat each on fresh performances of `title`, each seat
 * asked for once, buyers of the pool in turn (see holdPlan), on the target api. Answers the
 * autocannon result and the number of holds.
 */
async function benchHolds(title, buyers, label = '') {
  const plan = await holdPlan(title, Number(process.env.BENCH_HOLDS ?? 50_000), buyers);
  await freshTokens(buyers);
  const result = await measure(`hold one free seat (POST /reservations)${label}`, {
    // Each seat is asked for once: past the last one every hold would be a 409.
    amount: plan.length,
    requests: [seatHolds(plan)],
  });
  return { result, count: plan.length };
}

/**
 * The hold and purchase runs again on a second api whose Redis is a local 3-primary, 3-replica
 * Redis Cluster (scripts/redis-cluster.mjs: Debian's redis-server, no persistence as the local
 * single Redis, `min-replicas-to-write 1`) with REDIS_WAIT_REPLICAS=1, as a Cluster is deployed:
 * the same database and buyers, fresh performances (registered on the cluster), the same counts.
 * `single` holds the same run's results on the single Redis (null when not run). Answers the
 * table rows and the docs section, every figure also a ratio to the single Redis.
 */
async function benchOnCluster(buyers, trivial, single) {
  const first = await freeBase(
    20_000,
    11_000,
    Array.from({ length: 12 }, (_, i) => i),
  );
  const dir = mkdtempSync(join(os.tmpdir(), 'bo-bench-redis-cluster-'));
  console.log('\nstarting a local Redis Cluster (3 primaries, 3 replicas) and an api on it');
  const cluster = await startRedisCluster({
    ports: Array.from({ length: 6 }, (_, i) => first + i),
    busPorts: Array.from({ length: 6 }, (_, i) => first + 6 + i),
    dir,
    replicas: 1,
    minReplicasToWrite: 1,
  });
  const clusterEnv = {
    ...env,
    PORT: String(CLUSTER_PORT),
    METRICS_PORT: String(PORT + 302),
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_WAIT_REPLICAS: '1',
  };
  const clusterApi = startApp('api', clusterEnv, { nodeArgs: apiNodeArgs, stdio: 'inherit' });
  const singleTarget = { ...target };
  Object.assign(target, { base: `http://127.0.0.1:${CLUSTER_PORT}`, pid: clusterApi.pid });
  const rows = [];
  const compared = [];
  const label = ' on a Redis Cluster';
  try {
    await waitForApi();
    if (wanted('cluster-hold')) {
      const { result } = await benchHolds('Bench cluster holds', buyers, label);
      rows.push(summary(`hold a random free seat${label}`, result, trivial, 201));
      compared.push({ name: 'hold a random free seat (one Lua script)', single: single.holds, cluster: result });
    }
    if (wanted('cluster-purchase')) {
      const { row, flushNote, result } = await benchPurchases(buyers, trivial, clusterEnv, label);
      rows.push(row);
      extraNotes.push(flushNote);
      compared.push({
        name: 'buy a live hold (charge, one Lua script, stream append; `WAIT 1` on the cluster)',
        single: single.purchases,
        cluster: result,
      });
    }
  } finally {
    Object.assign(target, singleTarget);
    await stopApps([clusterApi]);
    await cluster.stop();
  }
  return { rows, section: clusterMarkdown(compared) };
}

/** The docs section comparing each run on the single Redis and on the Redis Cluster. */
function clusterMarkdown(compared) {
  const rps = (result) => (result ? result.rps.toFixed(0) : '—');
  const p99 = (result) => (result ? String(result.latency.p99) : '—');
  const cpu = (result) => (result ? result.cpuPerRequest.toFixed(0) : '—');
  const table = [
    '| run | requests on each | single Redis req/s | Redis Cluster req/s | **cluster / single** | p99 ms single / cluster | api CPU µs/request single / cluster | unexpected answers on the cluster |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...compared.map(
      ({ name, single, cluster }) =>
        `| ${name} | ${cluster.requests.total} | ${rps(single)} | ${rps(cluster)} | ` +
        `**${single ? (cluster.rps / single.rps).toFixed(2) : '—'}** | ` +
        `${p99(single)} / ${p99(cluster)} | ${cpu(single)} / ${cpu(cluster)} | ${summary('', cluster, null, 201).non2xx} |`,
    ),
  ].join('\n');
  return `${CLUSTER_HEADING}

Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (\`BENCH_ONLY=hold,purchase,cluster-hold,cluster-purchase\`
rewrites only this section): the same runs in one process, first on an \`api\` on the local single
Redis, then on a second \`api\` whose Redis is a local 3-primary, 3-replica Redis Cluster
(\`scripts/redis-cluster.mjs\`: Debian's \`redis-server\`, no persistence like the single Redis,
\`min-replicas-to-write 1\`) with \`REDIS_WAIT_REPLICAS=1\` (each purchase waits for its replica, as a
Cluster is deployed): the same database, buyers and counts, fresh performances on each;
autocannon with ${CONNECTIONS} connections. The six nodes share this machine's cores with the
\`api\`, so the ratio is the cost of the Cluster client and of the replica wait on one machine, not
the gain of primaries on machines of their own; and the single Redis is the machine's shared one
(other sessions' tests use it at the same time) while the cluster is the bench's own, which favours
the cluster in req/s. The api's CPU per request, steadier on a shared machine, shows what the
Cluster client costs the api.

${table}
`;
}

/**
 * Best-available holds (`POST /reservations {performanceId, quantity: 2}`: one Lua script picks
 * and holds the best 2 seats together) on BEST_PERFORMANCES performances of an 80,000-seat venue
 * (8 sections × 100 rows × 100 seats), requests alternating between them, buyers in turn on
 * each, each within BEST_LIMIT seats of a performance, after BEST_WARMUP holds on a warm-up
 * performance; then the script's own time in Redis in its worst cases, also for parties of 9–20,
 * accessible requests and a venue of 8,000 short rows (bench/best-available-worst-case.mjs).
 */
async function benchBestAvailable(buyers, trivial) {
  const started = Date.now();
  const performanceIds = await createPerformances(
    'Bench best available',
    BEST_PERFORMANCES,
    bestAvailableSections(100),
  );
  const createMs = Date.now() - started;
  const count = Math.min(
    Number(process.env.BENCH_BEST_HOLDS ?? 5_000),
    BEST_PERFORMANCES * buyers.length * (BEST_LIMIT / 2),
  );
  const warmup = Math.min(BEST_WARMUP, buyers.length * (BEST_LIMIT / 2));
  if (warmup > 0) {
    const [warmupId] = await createPerformances('Bench best available, warm-up', 1, bestAvailableSections(10));
    await freshTokens(buyers);
    await measure('warm-up: best-available holds on a performance of their own (not counted)', {
      amount: warmup,
      requests: [bestAvailableHolds(buyers, [warmupId])],
    });
  }
  await freshTokens(buyers);
  for (const performanceId of performanceIds) await request('GET', `/api/v1/performances/${performanceId}`);
  const result = await measure('best-available hold, 2 seats together (POST /reservations {quantity: 2})', {
    amount: count,
    requests: [bestAvailableHolds(buyers, performanceIds)],
  });
  const worst = await bestAvailableWorstCase({
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `${env.REDIS_KEY_PREFIX}worst:`,
  });
  const figure = (case_) =>
    `median ${case_.median.toFixed(2)} ms, max ${case_.max.toFixed(2)} ms over ${case_.runs} runs`;
  const note =
    `Best-available holds ran on ${BEST_PERFORMANCES} performances of an 80,000-seat venue (created in ${createMs} ms), ` +
    `${count} holds of 2 seats alternating between them` +
    (warmup > 0 ? `, after ${warmup} holds of 2 on a performance of their own (not counted). ` : '. ') +
    `The best-available script's own time inside Redis (Redis TIME around it, no network), ${worst.seats} seats: ` +
    `near-full venue falling through to SPLIT: ${figure(worst.split)}; near-full, together (every rung searched, ` +
    `nothing held): ${figure(worst.noFit)}; empty venue: ${figure(worst.empty)}; filling the venue from empty with ` +
    `parties of 2, this bench's case: ${figure(worst.filling)}; the same with parties of 3: ` +
    `${figure(worst.fillingThree)}, of 4: ${figure(worst.fillingFour)}, of 5: ${figure(worst.fillingFive)}, ` +
    `of 8: ${figure(worst.fillingEight)}; parties of 6 in rows of runs of three seats (ADJACENT_ROWS), aligned: ` +
    `${figure(worst.adjacentAligned)}, staggered (no aligned placement, every set of rows scored): ` +
    `${figure(worst.adjacentStaggered)}. Past the default request (${worst.seats} seats again): ` +
    [...worst.large, ...worst.accessible, ...worst.shortRows]
      .map((case_) => `${case_.name} (${case_.answers.join('/')}): ${figure(case_)}`)
      .join('; ') +
    `. The first search after seat-id holds took a seat in every row refreshes the rows they left stale ` +
    `before its own work: ` +
    worst.deferred.map((case_) => `${case_.name} (${case_.answers.join('/')}): ${figure(case_)}`).join('; ') +
    `. Redis's busy-script threshold (busy-reply-threshold) is 5,000 ms.`;
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
        const ticket = await request('POST', `/api/v1/performances/${queue}/queue`, undefined, buyer.token);
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
 * `?status=AVAILABLE` seat pages late in a sale: a 5,000-seat performance where every buyer bought
 * 19 best-available seats (4,864 of 256 buyers' sold, the worst seats left, at the back), pages
 * read from the start and from every 1,000th seat.
 */

/**
 * Up to `samples` cursors of a performance's seat list (`query`: its filters, e.g.
 * `&status=AVAILABLE`), the first page's and then one `every` pages (of 100, `every` ≥ 1) further
 * each, read by walking the list with its own cursors.
 */
async function sampleCursors(performanceId, query, samples, every) {
  const cursors = [];
  let page = await request('GET', `/api/v1/performances/${performanceId}/seats?limit=100${query}`);
  while (cursors.length < samples && page.nextCursor) {
    cursors.push(page.nextCursor);
    for (let skip = 0; skip < every && page.nextCursor; skip += 1) {
      page = await request(
        'GET',
        `/api/v1/performances/${performanceId}/seats?limit=100${query}&cursor=${page.nextCursor}`,
      );
    }
  }
  return cursors;
}

async function benchLateSale(buyers, trivial) {
  const [performanceId] = await createPerformances('Bench late sale', 1, [
    { name: 'Floor', grade: 'VIP', price: 220000, rows: 10, seatsPerRow: 100 },
    { name: 'Stand', grade: 'R', price: 150000, rows: 40, seatsPerRow: 100 },
  ]);
  process.stdout.write(`\nselling ${buyers.length} × 19 seats of a 5,000-seat performance `);
  await freshTokens(buyers);
  for (let i = 0; i < buyers.length; i += 32) {
    await Promise.all(
      buyers.slice(i, i + 32).map(async (buyer) => {
        const hold = await request('POST', '/api/v1/reservations', { performanceId, quantity: 19 }, buyer.token);
        await request('POST', '/api/v1/purchases', { reservationId: hold.id }, buyer.token);
      }),
    );
    process.stdout.write('.');
  }
  // Every page of the free seats (a cursor carries its list's filters: the list's own cursors).
  const starts = ['', ...(await sampleCursors(performanceId, '&status=AVAILABLE', 100, 1)).map((c) => `&cursor=${c}`)];
  const free = (await request('GET', `/api/v1/performances/${performanceId}`)).available;
  let next = 0;
  const result = await measure(`late sale: seat page of free seats only (?status=AVAILABLE, ${free} of 5,000 free)`, {
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/api/v1/performances/${performanceId}/seats?limit=100&status=AVAILABLE${starts[next++ % starts.length]}`,
        }),
      },
    ],
  });
  return summary(`late sale: seat page \`?status=AVAILABLE\`, ${free} of 5,000 seats free`, result, trivial);
}

/**
 * Purchases per second (each request buys its own live hold, made by the same buyer beforehand)
 * and the write-behind flush rate of one `batch` process.
 */
async function benchPurchases(buyers, trivial, appEnv = env, label = '') {
  const count = Number(process.env.BENCH_PURCHASES ?? 20000);
  const plan = await holdPlan('Bench purchases', count, buyers);
  const performanceIds = [...new Set(plan.map((entry) => entry.performanceId))];
  const db = new pg.Client({ connectionString: appEnv.DATABASE_URL });
  await db.connect();
  process.stdout.write(`\nholding ${plan.length} seats for the purchase benchmark `);
  const holds = await holdAll(plan, buyers);
  await freshTokens(buyers);
  const bought = await measure(`buy ${holds.length} holds (POST /purchases)`, {
    amount: holds.length,
    requests: [purchases(holds)],
  });
  const row = summary(`buy a live hold (charge + one Lua script + stream append)${label}`, bought, trivial, 201);

  // One batch process flushes the whole backlog (timed from its statements, see bench/flush-rate.mjs).
  const answered = bought.statusCodeStats?.['201']?.count ?? 0;
  // BENCH_BATCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the flushing batch (written when it exits).
  const batchNodeArgs = process.env.BENCH_BATCH_NODE_ARGS ? process.env.BENCH_BATCH_NODE_ARGS.split(' ') : [];
  const batch = startApp(
    'batch',
    { ...appEnv, PURCHASE_FLUSH_AGE_SECONDS: '0', METRICS_PORT: String(PORT + 301) },
    { nodeArgs: batchNodeArgs },
  );
  let persisted = 0;
  let window;
  try {
    // Polled rarely: counting 20,000 rows costs PostgreSQL ~10 ms (see bench/flush-rate.mjs).
    persisted = await waitForRows(db, performanceIds, answered);
    window = await flushRate(db, performanceIds);
  } finally {
    await stopApps([batch]);
    await db.end();
  }
  // Timed between the first and the last flush statement's start, so the process start-up is not counted.
  const flushNote =
    `One \`batch\` process${label} wrote ${persisted} purchases (with their tickets and outbox rows) to PostgreSQL, ` +
    `${window.rows} of them in ${window.seconds.toFixed(1)} s between its first and last statement: ` +
    `**${window.rate === null ? 'n/a' : window.rate.toFixed(0)} purchases/s** flushed ` +
    `(one statement per batch of up to PURCHASE_FLUSH_BATCH_SIZE stream entries, several batches in flight).`;
  console.log(flushNote);
  return { row, flushNote, result: bought };
}

/**
 * Latency at a steady offered rate: the plain route, liveness, a seat-id hold and a purchase, each
 * sent at STEADY_RATE requests/s (autocannon's `overallRate` over the same CONNECTIONS, for
 * DURATION s, latencies corrected for coordinated omission), below every route's capacity. The
 * saturated runs above keep CONNECTIONS requests always waiting, so their mean latency is
 * CONNECTIONS / throughput (Little's law) whatever the api does; this phase shows what a buyer
 * waits while the api keeps up. Answers the docs section (markdown).
 */
async function benchSteady(buyers) {
  const amount = STEADY_RATE * DURATION;
  const steady = { overallRate: STEADY_RATE, amount };
  const holdPlanned = await holdPlan('Bench steady holds', amount, buyers);
  const holds = await holdAll(await holdPlan('Bench steady purchases', amount, buyers), buyers);
  const runs = [
    {
      name: 'plain Fastify `GET /hello` (own process)',
      pid: plain.pid,
      options: { url: `http://127.0.0.1:${PLAIN_PORT}`, requests: [{ method: 'GET', path: '/hello' }] },
      expected: 200,
    },
    { name: '`GET /health/live`', options: { requests: [{ method: 'GET', path: '/health/live' }] }, expected: 200 },
    { name: 'hold a free seat (seat ids)', options: { requests: [seatHolds(holdPlanned)] }, expected: 201 },
    { name: 'buy a live hold', options: { requests: [purchases(holds)] }, expected: 201 },
  ];
  const lines = [];
  for (const run of runs) {
    await freshTokens(buyers);
    const result = await measure(`${run.name} at ${STEADY_RATE} requests/s`, { ...run.options, ...steady }, run.pid);
    const row = summary(run.name, result, null, run.expected);
    const { p50, p90, p99, max } = result.latency;
    lines.push(
      `| ${run.name} | ${row.rps.toFixed(0)} | ${p50} | ${p90} | ${p99} | ${max} | ${row.cpu.toFixed(0)} | ${row.non2xx} |`,
    );
  }
  const section = `${STEADY_HEADING}

Each route sent at a steady ${STEADY_RATE.toLocaleString('en-US')} requests/s (autocannon's \`overallRate\` over ${CONNECTIONS}
connections, ${amount.toLocaleString('en-US')} requests, latencies corrected for coordinated omission), below every
route's capacity in the table above: what a buyer waits while the api keeps up. The table above
loads each route to saturation with ${CONNECTIONS} requests always waiting, so its mean latency is
${CONNECTIONS} / throughput (Little's law) whatever the api does: at ${CONNECTIONS} connections a
p99 under 10 ms would need more than ${Math.ceil(CONNECTIONS / 0.01).toLocaleString('en-US')} answers a second even with no
spread at all. \`BENCH_STEADY_RATE\` changes the rate.

| route | answered req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/request | unexpected answers |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${lines.join('\n')}
`;
  console.log(`\n${section}`);
  return section;
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

function printAndWrite(results, extra, clusterSection) {
  const table = [
    '| benchmark | req/s | ratio to plain Fastify | p50 ms | p99 ms | server CPU µs/request | load generator CPU µs/request | unexpected answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.p50} | ${r.p99} | ` +
        `${r.cpu === undefined ? '' : r.cpu.toFixed(0)} | ${r.clientCpu === undefined ? '' : r.clientCpu.toFixed(0)} | ${r.non2xx} |`,
    ),
  ].join('\n');
  console.log(`\n${table}\n`);
  if (clusterSection) console.log(`\n${clusterSection}`);
  const path = join(root, 'docs', 'benchmarks.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  // Hand-kept sections below the generated ones: the cluster comparison (when this run did not
  // measure it), the sold-out load runs and what follows them.
  const cluster = previous.indexOf(CLUSTER_HEADING);
  const loadRuns = previous.indexOf(LOAD_RUNS_HEADING);
  const keptCluster = cluster >= 0 ? previous.slice(cluster, loadRuns > cluster ? loadRuns : undefined) : '';
  const kept = loadRuns >= 0 ? previous.slice(loadRuns) : '';
  if (ONLY) {
    // A subset rewrites only the cluster section, when it measured it.
    if (clusterSection && previous) {
      const head = cluster >= 0 ? previous.slice(0, cluster) : loadRuns >= 0 ? previous.slice(0, loadRuns) : previous;
      writeFileSync(path, `${head.trimEnd()}\n\n${clusterSection}\n${kept}`);
      console.log('wrote the Redis Cluster section of docs/benchmarks.md');
    }
    return;
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const doc = `# Benchmarks

Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu},
${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, one \`api\` process (NODE_ENV=production),
local PostgreSQL and Redis, autocannon with ${CONNECTIONS} connections for ${DURATION} s per figure.

The machine is shared and noisy, so each figure is given as a ratio to a plain Fastify route
(\`bench/plain-fastify.mjs\`: \`GET /hello\` answering \`{status:'ok'}\`, its own process, the
project's own Fastify) measured in the same run; read the ratios, not the absolute numbers.
req/s is the answers over the time from the start to the last answer (runs of a set number of
requests, such as the holds, end between two of autocannon's one-second ticks). Each figure
starts once the machine is quiet (at most 15 % of its cores busy over a quarter second, waited
for up to 15 s), so work a setup started (a new performance's import, a reconciler's pass) stays
out of the window. The load generator (autocannon, in the bench's own process) shares the cores
with the api and Redis: its CPU a request is the column before last, from ~20 µs for the plain
route to ~60 µs for a purchase, whose bodies it builds request by request.

${table}

![ratios to the plain Fastify route](benchmarks.svg)

Creating the ${extra.totalSeats}-seat performance (seats generated in PostgreSQL, registered in Redis)
took ${extra.createMs} ms in this run.

${extraNotes.join('\n\n')}

${extra.steadySection ?? ''}

Rerun with \`npm run build && npm run bench\` (\`BENCH_SECONDS\`, \`BENCH_CONNECTIONS\` change the load).
`;
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(join(root, 'docs', 'benchmarks.svg'), ratioChart(results));
  // The sold-out load runs (npm run loadtest) are recorded by hand below the benchmarks: keep them.
  const section = clusterSection ?? keptCluster;
  writeFileSync(
    path,
    [doc, section, kept]
      .filter(Boolean)
      .map((part) => part.trimEnd())
      .join('\n\n') + '\n',
  );
  console.log('wrote docs/benchmarks.md');
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
