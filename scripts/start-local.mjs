#!/usr/bin/env node
// `npm start`: the whole local stack in the foreground. Checks PostgreSQL, Redis and RabbitMQ,
// builds, starts a mail catcher (unless SMTP_URL is set), `api`, `batch` and `mailer`, prints
// where to look, and stops everything on Ctrl-C or SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const port = env.PORT ?? '3000';
const MAIL_WEB_PORT = 1080;
const MAIL_SMTP_PORT = 1025;

const services = [
  {
    name: 'PostgreSQL',
    url: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/boxoffice',
    defaultPort: 5432,
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  {
    name: 'Redis',
    url: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    defaultPort: 6379,
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  },
  {
    name: 'RabbitMQ',
    url: env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    defaultPort: 5672,
    start: 'rabbitmq-server -detached',
  },
];

function reachable(host, portNumber) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: portNumber, timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

let down = 0;
for (const service of services) {
  const url = new URL(service.url);
  const address = `${url.hostname}:${url.port || service.defaultPort}`;
  if (!(await reachable(url.hostname, Number(url.port || service.defaultPort)))) {
    down += 1;
    console.error(`✗ ${service.name} is not reachable at ${address}. Start it with:\n    ${service.start}`);
  }
}
if (down > 0) process.exit(1);

console.log('building…');
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// A first start gets one demo event to look at; a database with events is left alone.
const seed = spawnSync(
  process.execPath,
  [join(root, 'dist/apps/api/apps/api/src/cli/seed.js'), '--if-empty', '--events', '1', '--performances', '2'],
  { cwd: root, stdio: 'inherit' },
);
if (seed.status !== 0) process.exit(seed.status ?? 1);

const children = [];
function run(name, command, args, extraEnv = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}]`.padEnd(9);
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop();
      for (const line of lines) console.log(`${prefix}${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${prefix}exited (${signal ?? code})`);
    if (!stopping) stop(code ?? 1);
  });
  children.push(child);
  return child;
}

const extra = {};
if (!env.SMTP_URL) {
  run('mail', join(root, 'node_modules', '.bin', 'maildev'), [
    '--smtp',
    String(MAIL_SMTP_PORT),
    '--web',
    String(MAIL_WEB_PORT),
    '--ip',
    '127.0.0.1',
    '--web-ip',
    '127.0.0.1',
  ]);
  extra.SMTP_URL = `smtp://127.0.0.1:${MAIL_SMTP_PORT}`;
}
for (const app of ['api', 'batch', 'mailer']) {
  run(app, process.execPath, [join(root, 'dist', 'apps', app, 'apps', app, 'src', 'main.js')], extra);
}

console.log(`
boxoffice is starting:
  API          http://127.0.0.1:${port}/api/v1
  Swagger UI   http://127.0.0.1:${port}/docs
  Health       http://127.0.0.1:${port}/health/ready
  Metrics      http://127.0.0.1:${port}/metrics
  Mail viewer  ${env.SMTP_URL ? `(SMTP_URL is set: e-mails go to ${env.SMTP_URL})` : `http://127.0.0.1:${MAIL_WEB_PORT}`}
Ctrl-C stops everything.
`);

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('stopping…');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(1);
  }, 20_000);
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => {
    clearTimeout(force);
    process.exit(code);
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
