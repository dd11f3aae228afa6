#!/usr/bin/env node
// `npm run bench:compare -- <build> <build> …`: two or more builds of the api side by side, in
// alternating rounds. On a shared host one build's CPU a request moves by ±15 % between runs a
// minute apart, so two full `npm run bench` runs cannot show a 10 % change; builds loaded in turn,
// many short rounds, each round's order reversed from the last, can (docs/performance.md,
// "Per-request envelope"). A build is a checkout with `dist/` built (`npm run build`), e.g. a git
// worktree of the commit to compare; `.` is this one.
//
// Every build's api runs as deployed (NODE_ENV=production, access log on, its deployed Node
// options) on one database, Redis prefix and RabbitMQ namespace of its own run, beside a plain
// Fastify route (bench/plain-fastify.mjs). Without --route one GET route that needs no token or
// data is loaded (default /health/live; any public GET such as /api/v1/events works), each round
// for --seconds. With --route, a hot POST route is loaded as `npm run bench` loads it (the same
// requests, from bench/bench-api.mjs): buyers signed up and logged in through the API first, each
// build with performances and seats of its own (so no build runs out in its rounds), each round
// --requests requests a build, every one on a fresh seat. The setup goes through one more api of
// the first build, never loaded, so no measured process does any of it:
//   hold       POST /reservations {performanceId, seatIds: [one free seat]} (performances of
//              buyers × 4 seats, each buyer holding 4 random seats of each)
//   purchase   POST /purchases {reservationId}, each buying a live hold its buyer made (through the
//              setup api) just before the round, outside the measured windows; no Idempotency-Key
// (Best-available holds are not offered: loaded so, they cost the api ~1,100 µs a request against
// ~200 in `npm run bench`, not yet explained; docs/performance.md, 2026-12-06.)
// The first window of each build is a warm-up (a process's first requests of a route cost 2–2.5×
// the later ones), not counted. Prints, per build, the median over the rounds of the api's CPU µs
// a request (from /proc) and of its req/s as a ratio to the plain route's, then every round's CPU
// figure. Drops the run's database, keys and queues after.
//
//   --rounds N    rounds (default 12)    --seconds S   seconds a GET route (and the plain route) is loaded each round (default 2)
//   --path P      the GET route (default /health/live)    --connections C   autocannon's (default 64)
//   --route R     hold or purchase instead of a GET route    --requests Q   requests a build each round
//                 with --route (default 3,000 hold, 2,000 purchase)    --buyers B   (default 256)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { APP_NODE_OPTIONS } from '../scripts/local-stack.mjs';
import { dropRun, root } from '../scripts/stack.mjs';
import { benchApi, purchases, seatHolds } from './bench-api.mjs';
import { cpuMicros, waitForQuietMachine } from './process-cpu.mjs';

/** Requests a build each round with --route, by route (see the header). */
const ROUTE_REQUESTS = { hold: 3_000, purchase: 2_000 };

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '2' },
    path: { type: 'string', default: '/health/live' },
    connections: { type: 'string', default: '64' },
    route: { type: 'string' },
    requests: { type: 'string' },
    buyers: { type: 'string', default: '256' },
  },
  allowPositionals: true,
});
const route = values.route;
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const perRound = Number(values.requests ?? ROUTE_REQUESTS[route] ?? 1);
const buyerCount = Number(values.buyers);
if (
  positionals.length < 2 ||
  (route !== undefined && !(route in ROUTE_REQUESTS)) ||
  ![rounds, seconds, connections, perRound, buyerCount].every((n) => Number.isInteger(n) && n > 0)
) {
  console.error(
    'usage: npm run bench:compare -- [--rounds N] [--seconds S] [--path P | --route hold|purchase ' +
      '[--requests Q] [--buyers B]] [--connections C] <build> <build> …',
  );
  process.exit(2);
}
const builds = positionals.map((dir) => ({
  dir: resolve(dir),
  entry: join(resolve(dir), 'dist', 'apps', 'api', 'main.js'),
}));
for (const build of builds) {
  if (!existsSync(build.entry)) {
    console.error(`${build.entry} is missing: run "npm run build" in ${build.dir} first`);
    process.exit(2);
  }
}

/** A free loopback port at or after `from` (below the kernel's ephemeral range). */
async function freePort(from) {
  for (let port = from; port < from + 200; port += 1) {
    const free = await new Promise((done) => {
      const server = net.createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}–${from + 199}`);
}

const id = Date.now().toString(36);
const run = {
  database: `bo_compare_${id}`,
  keyPrefix: `bo_compare_${id}:`,
  namespace: `bo_compare_${id}`,
};
const env = {
  ...process.env,
  NODE_ENV: 'production',
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${run.database}`,
  REDIS_KEY_PREFIX: run.keyPrefix,
  RABBITMQ_NAMESPACE: run.namespace,
  JWT_ACCESS_SECRET: 'compare-access-secret-0123456789abcdef0123',
  JWT_REFRESH_SECRET: 'compare-refresh-secret-0123456789abcdef012',
  TICKET_SIGNING_SECRET: 'compare-ticket-secret-0123456789abcdef01234',
  ADMIN_EMAIL: 'compare-admin@boxoffice.local',
  ADMIN_PASSWORD: 'compare-admin-password',
  // As `npm run bench`: every buyer signs up from this one address.
  SIGNUP_RATE_LIMIT: '0',
  LOG_LEVEL: 'info',
  ACCESS_LOG: 'true',
  LOG_CONSOLE: 'none',
  LOG_DIR: join(os.tmpdir(), `bo-compare-${id}`),
};
const admin = { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD };

/**
 * The servers loaded in turn: the plain route first, then one api a build. `window()` answers
 * autocannon's options for the server's next window (a build's requests with --route);
 * `prepare(round)` readies a build's data for that window outside it (the purchases' holds).
 */
const servers = [];
let port = 4600;
const plainPort = (port = await freePort(port));
servers.push({
  name: 'plain Fastify',
  readyPath: '/hello',
  port: plainPort,
  child: spawn(process.execPath, [join(root, 'bench', 'plain-fastify.mjs'), String(plainPort)], { stdio: 'ignore' }),
  window: () => ({ requests: [{ method: 'GET', path: '/hello' }], duration: seconds }),
});
for (const [i, build] of builds.entries()) {
  const server = await startApi(build, `${i + 1}: ${basename(build.dir)}`);
  server.window = () => ({ requests: [{ method: 'GET', path: values.path }], duration: seconds });
  servers.push(server);
}

// With --route, one more api of the first build does the setup (buyers, performances, the
// purchases' holds before each round), so no measured process does any of it between windows.
const setup = route ? await startApi(builds[0], 'setup') : null;

/** Starts a build's api on free ports; a server without a `window` yet. */
async function startApi(build, name) {
  const apiPort = (port = await freePort(port + 1));
  const metricsPort = (port = await freePort(port + 1));
  return {
    name,
    readyPath: route ? '/health/ready' : values.path,
    port: apiPort,
    child: spawn(process.execPath, [...APP_NODE_OPTIONS.api, build.entry], {
      env: { ...env, PORT: String(apiPort), METRICS_PORT: String(metricsPort) },
      stdio: 'ignore',
    }),
  };
}

/** SIGTERM to every server still running; resolves once all have exited. */
const stop = () =>
  Promise.all(
    [...servers, ...(setup ? [setup] : [])].map(({ child }) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((done) => child.once('exit', done).kill('SIGTERM')),
    ),
  );
process.once('SIGINT', () => stop().finally(() => process.exit(130)));

/** Waits (up to 2 minutes) for a server to answer 200 on its readiness path. */
async function ready(server) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited with ${server.child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${server.port}${server.readyPath}`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`${server.name} did not answer on ${server.readyPath}`);
}

/**
 * Sets each build up for --route (see the header) through the setup api: buyers signed up once,
 * then each build's performances and seats, for the warm-up and every round.
 */
async function prepareRoute(apis) {
  const windows = rounds + 1;
  const api = benchApi({ base: `http://127.0.0.1:${setup.port}` }, admin);
  const buyers = await api.signUpBuyers(buyerCount);
  for (const server of apis) {
    const title = `Compare ${route} ${server.name}`;
    process.stdout.write(`\n${server.name}: preparing ${windows} windows of ${perRound} requests `);
    const plan = await api.holdPlan(title, windows * perRound, buyers);
    if (route === 'hold') {
      const requests = [seatHolds(plan)];
      server.window = () => ({ requests, amount: perRound });
    } else {
      let holds = [];
      server.prepare = async (round) => {
        holds = await api.holdAll(plan.slice(round * perRound, (round + 1) * perRound), buyers);
      };
      server.window = () => ({ requests: [purchases(holds)], amount: perRound });
    }
  }
  refreshTokens = () => api.freshTokens(buyers);
  console.log(`\nbuyers and data ready; waiting for a quiet machine`);
  await waitForQuietMachine();
}

/** Refreshes the buyers' tokens (with --route) before a window. */
let refreshTokens = async () => {};

/**
 * Readies window `round` (0: the warm-up) of every server outside the measured windows, then
 * waits (up to 3 s) for the machine to settle from it.
 */
async function prepareWindow(round) {
  if (!route) return;
  await refreshTokens();
  for (const server of servers) await server.prepare?.(round);
  await waitForQuietMachine({ timeoutMs: 3_000 });
}

/**
 * Loads one server for one window (its `window()` options): its req/s (answers over the time
 * from the start to the last answer) and CPU µs a request. Fails on any non-2xx answer.
 */
function load(server) {
  const before = cpuMicros(server.child.pid);
  const from = process.hrtime.bigint();
  let last = from;
  return new Promise((done, fail) => {
    const instance = autocannon(
      { url: `http://127.0.0.1:${server.port}`, connections, ...server.window() },
      (error, result) => {
        if (error) return fail(error);
        const answered = Math.max(1, result.requests.total);
        if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
          return fail(
            new Error(
              `${server.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
            ),
          );
        }
        const elapsed = Math.max(1, Number(last - from)) / 1e9;
        done({ rps: answered / elapsed, cpu: (cpuMicros(server.child.pid) - before) / answered });
      },
    );
    instance.on('response', () => (last = process.hrtime.bigint()));
  });
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[numbers.length >> 1];

try {
  for (const server of [...servers, ...(setup ? [setup] : [])]) await ready(server);
  if (route) await prepareRoute(servers.slice(1));
  // A warm-up each: a process's first requests of a route cost 2–2.5× the later ones.
  await prepareWindow(0);
  for (const server of servers) await load(server);
  const results = new Map(servers.map((server) => [server, []]));
  for (let round = 0; round < rounds; round += 1) {
    await prepareWindow(round + 1);
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) results.get(server).push(await load(server));
    process.stdout.write(`round ${round + 1} of ${rounds}\r`);
  }
  const plainRps = median(results.get(servers[0]).map((result) => result.rps));
  const what = route
    ? `--route ${route}, ${rounds} rounds of ${perRound} requests a build (plain route: ${seconds} s)`
    : `${values.path}, ${rounds} rounds of ${seconds} s`;
  console.log(`\n${what}, ${connections} connections (medians):`);
  for (const server of servers) {
    const rounds = results.get(server);
    const cpu = median(rounds.map((result) => result.cpu)).toFixed(1);
    const ratio = (median(rounds.map((result) => result.rps)) / plainRps).toFixed(2);
    const each = rounds.map((result) => result.cpu.toFixed(0)).join(', ');
    console.log(`${server.name.padEnd(28)} ${cpu.padStart(7)} µs CPU a request, ratio ${ratio}   (rounds: ${each})`);
  }
} finally {
  await stop();
  await dropRun(run);
}
