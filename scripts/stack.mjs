// What the scripts that run the built apps share (scripts/loadtest.mjs, bench/run.mjs,
// bench/flush.mjs): the built entry points, starting and stopping them, the Redis key layout from
// its one source (libs/ticketing/src/redis-keys.ts, as built), and removing what a run left on the
// shared services (its database, Redis keys, RabbitMQ queues and exchanges). Their configuration:
// scripts/config.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import Redis from 'ioredis';
import pg from 'pg';
import { appConfig } from './config.mjs';
import { APP_NODE_OPTIONS } from './local-stack.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The built entry point of `api`, `batch` or `mailer` (`npm run build`, or scripts/build-if-stale.mjs). */
export function appEntry(app) {
  return join(root, 'dist', 'apps', app, 'main.js');
}

/** How long `stopApps` waits after SIGTERM before it kills what is still running (SIGKILL). */
const STOP_GRACE_MS = 20_000;

/** Every app `startApp` started that has not exited yet. */
const running = new Set();

/**
 * The first start installs what makes the apps die with the script: SIGINT or SIGTERM to the script
 * (Ctrl-C, a test harness stopping it) stops them before it exits, and the script's exit, however it
 * comes, kills any still running (only synchronous calls run then; a SIGKILL needs no answer).
 */
function stopAppsWithScript() {
  if (stopAppsWithScript.installed) return;
  stopAppsWithScript.installed = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.once(signal, () => stopApps([...running]).finally(() => process.exit(code)));
  }
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts a built app as a child process, with its deployed Node options (APP_NODE_OPTIONS) before `nodeArgs`.
 * It never outlives the script (see stopAppsWithScript).
 * @param {'api' | 'batch' | 'mailer'} app
 * @param {NodeJS.ProcessEnv} env its whole environment
 * @param {{ nodeArgs?: string[], stdio?: import('node:child_process').StdioOptions }} [options]
 */
export function startApp(app, env, { nodeArgs = [], stdio = 'ignore' } = {}) {
  const entry = appEntry(app);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  stopAppsWithScript();
  const child = spawn(process.execPath, [...APP_NODE_OPTIONS[app], ...nodeArgs, entry], { env, stdio });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/**
 * Sends SIGTERM to every child still running and resolves once all have exited; a child still
 * running STOP_GRACE_MS later (stuck in its start, say) is killed with SIGKILL.
 */
export async function stopApps(children) {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    }),
  );
}

/**
 * The ticketing rules' Redis keys (`performanceKeys`, `purchasePointerKey`, `userPurchasesKey`,
 * …), from the built api: the one definition the apps use, never a copy. Needs a build.
 * @returns {typeof import('../libs/ticketing/src/redis-keys')}
 */
export function redisKeys() {
  return createRequire(import.meta.url)(join(root, 'dist/apps/api/libs/ticketing/src/redis-keys.js'));
}

/**
 * Drops a run's database, deletes every key under its prefix and its queues and exchanges.
 * `serverUrl`: a PostgreSQL URL of the database's server (its database part is not used). The keys
 * are deleted on the one Redis at `redisUrl`. A URL not given is the configured one (DATABASE_URL,
 * REDIS_URL, RABBITMQ_URL as the apps read them: libs/config, from the build).
 * @param {{ database: string, keyPrefix: string, namespace: string, serverUrl?: string, redisUrl?: string, rabbitmqUrl?: string }} run
 */
export async function dropRun({ database, keyPrefix, namespace, serverUrl, redisUrl, rabbitmqUrl }) {
  const configured = serverUrl && redisUrl && rabbitmqUrl ? undefined : appConfig().loadEnv();
  const server = new URL(serverUrl ?? configured.DATABASE_URL);
  server.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await dropQueues(namespace, rabbitmqUrl ?? configured.RABBITMQ_URL);
  await dropKeys(keyPrefix, redisUrl ?? configured.REDIS_URL);
}

async function dropKeys(prefix, url) {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function dropQueues(namespace, url) {
  const connection = await amqp.connect(url);
  try {
    // AMQP cannot list queues: rabbitmqctl, on the machine that runs RabbitMQ, can.
    const listing = spawnSync('rabbitmqctl', ['-q', 'list_queues', 'name'], { encoding: 'utf8' });
    if (listing.error || listing.status !== 0) {
      console.warn(`rabbitmqctl could not list the queues; the queues of ${namespace}.* are left`);
    }
    const channel = await connection.createChannel();
    const queues = (listing.stdout ?? '').split('\n').map((queue) => queue.trim());
    for (const queue of queues.filter((name) => name.startsWith(`${namespace}.`))) {
      await channel.deleteQueue(queue);
    }
    for (const exchange of ['events', 'dead']) await channel.deleteExchange(`${namespace}.${exchange}`);
    await channel.close();
  } finally {
    await connection.close();
  }
}
