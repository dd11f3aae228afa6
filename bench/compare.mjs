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
// Fastify route (bench/plain-fastify.mjs); one GET route that needs no token or data is loaded
// (default /health/live; any public GET such as /api/v1/events works). Prints, per build, the
// median over the rounds of the api's CPU µs a request (from /proc) and of its req/s as a ratio to
// the plain route's, then every round's CPU figure. Drops the run's database, keys and queues after.
//
//   --rounds N    rounds (default 12)    --seconds S   seconds a build is loaded each round (default 2)
//   --path P      the route (default /health/live)    --connections C   autocannon's (default 64)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { APP_NODE_OPTIONS } from '../scripts/local-stack.mjs';
import { dropRun, root } from '../scripts/stack.mjs';
import { cpuMicros } from './process-cpu.mjs';

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '2' },
    path: { type: 'string', default: '/health/live' },
    connections: { type: 'string', default: '64' },
  },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
if (positionals.length < 2 || ![rounds, seconds, connections].every((n) => Number.isInteger(n) && n > 0)) {
  console.error(
    'usage: npm run bench:compare -- [--rounds N] [--seconds S] [--path P] [--connections C] <build> <build> …',
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
  LOG_LEVEL: 'info',
  ACCESS_LOG: 'true',
  LOG_CONSOLE: 'none',
  LOG_DIR: join(os.tmpdir(), `bo-compare-${id}`),
};

const servers = [];
let port = 4600;
const plainPort = (port = await freePort(port));
servers.push({
  name: 'plain Fastify',
  path: '/hello',
  port: plainPort,
  child: spawn(process.execPath, [join(root, 'bench', 'plain-fastify.mjs'), String(plainPort)], { stdio: 'ignore' }),
});
for (const [i, build] of builds.entries()) {
  const apiPort = (port = await freePort(port + 1));
  const metricsPort = (port = await freePort(port + 1));
  servers.push({
    name: `${i + 1}: ${basename(build.dir)}`,
    path: values.path,
    port: apiPort,
    child: spawn(process.execPath, [...APP_NODE_OPTIONS.api, build.entry], {
      env: { ...env, PORT: String(apiPort), METRICS_PORT: String(metricsPort) },
      stdio: 'ignore',
    }),
  });
}

/** SIGTERM to every server still running; resolves once all have exited. */
const stop = () =>
  Promise.all(
    servers.map(({ child }) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((done) => child.once('exit', done).kill('SIGTERM')),
    ),
  );
process.once('SIGINT', () => stop().finally(() => process.exit(130)));

/** Waits (up to 2 minutes) for a server to answer 200 on its route. */
async function ready(server) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited with ${server.child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${server.port}${server.path}`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`${server.name} did not answer on ${server.path}`);
}

/** Loads one server for `duration` s: its req/s and CPU µs a request. */
function load(server, duration) {
  const before = cpuMicros(server.child.pid);
  return new Promise((done, fail) =>
    autocannon({ url: `http://127.0.0.1:${server.port}${server.path}`, connections, duration }, (error, result) => {
      if (error) return fail(error);
      const answered = Math.max(1, result.requests.total);
      if (result.non2xx > 0 || result.errors > 0) {
        return fail(new Error(`${server.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`));
      }
      done({ rps: answered / duration, cpu: (cpuMicros(server.child.pid) - before) / answered });
    }),
  );
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[numbers.length >> 1];

try {
  for (const server of servers) await ready(server);
  // A warm-up each: a process's first requests of a route cost 2–2.5× the later ones.
  for (const server of servers) await load(server, 2);
  const results = new Map(servers.map((server) => [server, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) results.get(server).push(await load(server, seconds));
    process.stdout.write(`round ${round + 1} of ${rounds}\r`);
  }
  const plainRps = median(results.get(servers[0]).map((result) => result.rps));
  console.log(`\n${values.path}, ${rounds} rounds of ${seconds} s, ${connections} connections (medians):`);
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
