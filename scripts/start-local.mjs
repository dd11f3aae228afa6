#!/usr/bin/env node
// `npm start [-- --redis-cluster]`: the whole local stack in the foreground. Builds (when dist is
// stale), reads the configuration as the apps read it (libs/config: a bad value stops it here, with
// the apps' message), checks PostgreSQL, Redis and RabbitMQ, starts a mail catcher (unless SMTP_URL
// is set; on MAIL_CATCHER_SMTP_PORT and MAIL_CATCHER_WEB_PORT), `api`, `batch` and `mailer`, prints
// where to look, restarts an app that dies (scripts/local-stack.mjs ProcessGroup), and on Ctrl-C or
// SIGTERM stops the apps, then the mail catcher. `--redis-cluster` starts a local
// 3-primary, 3-replica Redis Cluster (ports 7000-7005) and runs everything on it instead of REDIS_URL.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appConfig, childEnv, readConfig } from './config.mjs';
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

const { values: options } = parseArgs({ options: { 'redis-cluster': { type: 'boolean', default: false } } });

buildOrExit();
// After the build: libs/config comes from it.
const { env, mailCatcher: catcher } = readConfig();
const port = env.PORT;

/** Where a service listens: the host and port of its validated URL, or the protocol's usual port. */
function address(url, defaultPort) {
  const { hostname, port: given } = new URL(url);
  // An IPv6 literal without its brackets, as net.connect takes it; no host (a socket): this machine.
  return { host: hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(given || defaultPort) };
}

// REDIS_CLUSTER_NODES replaces REDIS_URL (its seed nodes: one answering is enough for the apps).
const redisNodes = appConfig().redisClusterNodes(env.REDIS_CLUSTER_NODES);
const services = [
  {
    name: 'PostgreSQL',
    addresses: [address(env.DATABASE_URL, 5432)],
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  options['redis-cluster']
    ? undefined
    : redisNodes.length > 0
      ? {
          name: 'Redis Cluster',
          addresses: redisNodes,
          start: 'its nodes (REDIS_CLUSTER_NODES), or unset it and run: npm start -- --redis-cluster',
        }
      : {
          name: 'Redis',
          addresses: [address(env.REDIS_URL, 6379)],
          start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
        },
  {
    name: 'RabbitMQ',
    addresses: [address(env.RABBITMQ_URL, 5672)],
    start: 'rabbitmq-server -detached',
  },
].filter(Boolean);

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
  const answers = await Promise.all(service.addresses.map(({ host, port }) => reachable(host, port)));
  if (!answers.includes(true)) {
    down += 1;
    const where = service.addresses.map(({ host, port }) => `${host}:${port}`).join(', ');
    console.error(`✗ ${service.name} is not reachable at ${where}. Start it with:\n    ${service.start}`);
  }
}
if (down > 0) process.exit(1);

const group = new ProcessGroup();
const redisCluster = options['redis-cluster'] ? await startLocalRedisCluster(group) : {};

// A first start gets one demo event to look at; a database with events is left alone.
const seed = spawnSync(
  process.execPath,
  [join(root, 'dist/apps/api/seed.js'), '--if-empty', '--events', '1', '--performances', '2'],
  { cwd: root, stdio: 'inherit', env: childEnv(redisCluster) },
);
// Stops the Redis Cluster too, when one was started.
if (seed.status !== 0) group.stop(seed.status ?? 1);
else startApps();

function startApps() {
  const extra = { ...redisCluster, ...group.startMailCatcher(catcher) };
  const clusterNodes = redisCluster.REDIS_CLUSTER_NODES ?? env.REDIS_CLUSTER_NODES;
  for (const app of ['api', 'batch', 'mailer'])
    group.run(app, process.execPath, [...APP_NODE_OPTIONS[app], appEntry(app)], childEnv(extra));
  console.log(`
boxoffice is starting:
  API          http://127.0.0.1:${port}/api/v1
  Swagger UI   http://127.0.0.1:${port}/docs
  Health       http://127.0.0.1:${port}/health/ready
  Metrics      http://127.0.0.1:${port}/metrics
  Mail viewer  ${mailViewerLine(catcher, env.SMTP_BULK_URL)}
  Redis        ${clusterNodes ? `Cluster ${clusterNodes}` : env.REDIS_URL}
An app that dies is restarted; Ctrl-C stops everything (the mail catcher last).
`);
  void announceWhenReady(`http://127.0.0.1:${port}/health/ready`);
}
