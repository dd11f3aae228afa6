#!/usr/bin/env node
// `npm start [-- --redis-cluster]`: the whole local stack in the foreground. Checks PostgreSQL, Redis
// and RabbitMQ, builds, starts a mail catcher (unless SMTP_URL is set; on MAIL_CATCHER_SMTP_PORT and
// MAIL_CATCHER_WEB_PORT), `api`, `batch` and `mailer`, prints where to look, and stops everything on
// Ctrl-C or SIGTERM. `--redis-cluster` starts a local 3-primary, 3-replica Redis Cluster (ports
// 7000-7005) and runs everything on it instead of REDIS_URL.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  announceWhenReady,
  APP_NODE_OPTIONS,
  appEntry,
  buildOrExit,
  mailViewerLine,
  ProcessGroup,
  root,
  startLocalRedisCluster,
} from './local-stack.mjs';
import { appConfig } from './stack.mjs';

const { values: options } = parseArgs({ options: { 'redis-cluster': { type: 'boolean', default: false } } });
const env = process.env;
const port = env.PORT ?? '3000';

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
  if (service.name === 'Redis' && options['redis-cluster']) continue;
  const url = new URL(service.url);
  const address = `${url.hostname}:${url.port || service.defaultPort}`;
  if (!(await reachable(url.hostname, Number(url.port || service.defaultPort)))) {
    down += 1;
    console.error(`✗ ${service.name} is not reachable at ${address}. Start it with:\n    ${service.start}`);
  }
}
if (down > 0) process.exit(1);

buildOrExit();
// After the build: libs/config comes from it.
const catcher = appConfig().mailCatcher();

const group = new ProcessGroup();
const redisCluster = options['redis-cluster'] ? await startLocalRedisCluster(group) : {};

// A first start gets one demo event to look at; a database with events is left alone.
const seed = spawnSync(
  process.execPath,
  [join(root, 'dist/apps/api/seed.js'), '--if-empty', '--events', '1', '--performances', '2'],
  { cwd: root, stdio: 'inherit', env: { ...env, ...redisCluster } },
);
// Stops the Redis Cluster too, when one was started.
if (seed.status !== 0) group.stop(seed.status ?? 1);
else startApps();

function startApps() {
  const extra = { ...redisCluster, ...group.startMailCatcher(catcher) };
  for (const app of ['api', 'batch', 'mailer'])
    group.run(app, process.execPath, [...APP_NODE_OPTIONS[app], appEntry(app)], { ...env, ...extra });
  console.log(`
boxoffice is starting:
  API          http://127.0.0.1:${port}/api/v1
  Swagger UI   http://127.0.0.1:${port}/docs
  Health       http://127.0.0.1:${port}/health/ready
  Metrics      http://127.0.0.1:${port}/metrics
  Mail viewer  ${mailViewerLine(catcher)}
  Redis        ${redisCluster.REDIS_CLUSTER_NODES ? `Cluster ${redisCluster.REDIS_CLUSTER_NODES}` : (env.REDIS_URL ?? 'redis://127.0.0.1:6379')}
Ctrl-C stops everything.
`);
  void announceWhenReady(`http://127.0.0.1:${port}/health/ready`);
}
