// What `npm start` and `npm run start:cluster` share: running the local processes in the
// foreground with prefixed output, restarting one that crashes, the mail catcher, and stopping
// them in order (the apps, then the mail catcher).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';
import { childEnv } from './config.mjs';
import { startRedisCluster } from './redis-cluster.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Node's options of each app as deployed; the same in the Dockerfile's entrypoint
 * (deploy/docker/entrypoint.sh) and `npm run start:api`. The api's young generation is larger than
 * V8's default (semi-spaces of at most 16 MB): a hold or purchase allocates tens of kB that die
 * young, and at 64 MB the api scavenges 3–4× less often under the bench (docs/performance.md,
 * fourth slice), for up to ~100 MB more memory per api process under load.
 * @type {Record<'api' | 'batch' | 'mailer', string[]>}
 */
export const APP_NODE_OPTIONS = { api: ['--max-semi-space-size=64'], batch: [], mailer: [] };

export const appEntry = (app) => join(root, 'dist', 'apps', app, 'main.js');

/**
 * Prints `boxoffice is ready` once `url` (a readiness route) answers 200, polling every 250 ms for
 * up to 120 s; says so and gives up after that (the processes' own output tells why).
 */
export async function announceWhenReady(url) {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return console.log(`boxoffice is ready: ${url} answers 200`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.log(`boxoffice is not ready after 120 s: ${url} does not answer 200 (see the output above)`);
}

export function buildOrExit() {
  buildIfStale();
}

/** The first restart of a crashed child waits this long (ms); each next one twice as long, up to RESTART_MAX_MS. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A child that ran this long (ms) before it died is restarted after RESTART_FIRST_MS again. */
const RESTART_STABLE_MS = 60_000;
/**
 * A child that dies this many times in a row, each within RESTART_QUICK_MS of its start, cannot
 * start (a bad setting, a port taken, a service down): the stack stops with exit code 1 instead of
 * retrying for ever.
 */
const RESTART_GIVE_UP = 3;
const RESTART_QUICK_MS = 10_000;
/** How long a stop waits (ms) after its signal before it kills what is still running (SIGKILL). */
const STOP_GRACE_MS = 20_000;

/**
 * The processes of a local stack, run in the foreground with prefixed output. A child that exits
 * when nobody asked (a crash, a `kill -9`) is started again after a backoff (1 s, then twice as
 * long each time up to 30 s; 1 s again after a minute up), with a line saying so; the others keep
 * running; one that dies RESTART_GIVE_UP times in a row within seconds of its start stops the
 * stack (exit code 1), its output above saying why. Ctrl-C or SIGTERM stops them in order: the apps first, and once they have all exited the
 * children run with `last` (the mail catcher: the mailer finishes its notices into it), then the
 * cleanups (a local Redis Cluster). A `last` child runs in a process group of its own, so the
 * terminal's Ctrl-C (sent to the whole foreground group) does not stop it before the apps.
 */
export class ProcessGroup {
  /** @type {{ last: boolean, child: import('node:child_process').ChildProcess, timer?: NodeJS.Timeout }[]} */
  entries = [];
  /** Run after every child has exited, before onStopped (e.g. stopping a local Redis Cluster). */
  cleanups = [];
  stopping = false;

  /** @param {{ onStopped?: () => void, stopSignal?: (child) => NodeJS.Signals }} options */
  constructor(options = {}) {
    this.options = options;
    process.on('SIGINT', () => this.stop(0));
    process.on('SIGTERM', () => this.stop(0));
    // However the script ends, no child outlives it (a `last` one is out of the terminal's reach).
    process.on('exit', () => {
      for (const { child } of this.entries) if (running(child)) child.kill('SIGKILL');
    });
  }

  /**
   * Starts `command` as the child `name`, restarted when it dies unasked (see the class).
   * @param {{ last?: boolean }} [options] `last`: stopped after every other child has exited
   */
  run(name, command, args, env = childEnv(), { last = false } = {}) {
    const entry = { last, child: undefined, timer: undefined };
    const prefix = `[${name}]`.padEnd(10);
    let failures = 0;
    let quickFailures = 0;
    const start = () => {
      entry.timer = undefined;
      const startedAt = Date.now();
      const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: last });
      entry.child = child;
      for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream.on('data', (chunk) => {
          const lines = (rest + chunk.toString()).split('\n');
          rest = lines.pop();
          for (const line of lines) console.log(`${prefix}${line}`);
        });
      }
      child.on('error', (error) => console.log(`${prefix}could not start: ${error.message}`));
      child.on('exit', (code, signal) => {
        console.log(`${prefix}exited (${signal ?? code})`);
        if (this.stopping) return;
        const ran = Date.now() - startedAt;
        if (ran >= RESTART_STABLE_MS) failures = 0;
        quickFailures = ran < RESTART_QUICK_MS ? quickFailures + 1 : 0;
        if (quickFailures >= RESTART_GIVE_UP) {
          console.log(`${prefix}died ${quickFailures} times in a row within seconds of starting: stopping the stack`);
          void this.stop(1);
          return;
        }
        const delay = Math.min(RESTART_FIRST_MS * 2 ** failures, RESTART_MAX_MS);
        failures += 1;
        console.log(`${prefix}restarting in ${delay / 1000} s (restart ${failures}); the others keep running`);
        entry.timer = setTimeout(start, delay);
      });
    };
    start();
    this.entries.push(entry);
    return entry.child;
  }

  /**
   * Starts MailDev on its ports unless SMTP_URL is set, stopped after the apps; returns the
   * environment the apps need to use it.
   * @param {import('../libs/config/src').MailCatcher} catcher libs/config's `mailCatcher()`
   */
  startMailCatcher(catcher) {
    if (!catcher.run) return {};
    this.run(
      'mail',
      join(root, 'node_modules', '.bin', 'maildev'),
      [
        ...['--smtp', String(catcher.smtpPort), '--web', String(catcher.webPort)],
        ...['--ip', '127.0.0.1', '--web-ip', '127.0.0.1'],
      ],
      childEnv(),
      { last: true },
    );
    return { SMTP_URL: catcher.smtpUrl };
  }

  /** Stops the apps, then the `last` children, then runs the cleanups; exits with `code`. */
  async stop(code = 0) {
    if (this.stopping) return;
    this.stopping = true;
    console.log('stopping…');
    for (const entry of this.entries) clearTimeout(entry.timer);
    await this.terminate(this.entries.filter((entry) => !entry.last));
    await this.terminate(this.entries.filter((entry) => entry.last));
    await Promise.all(this.cleanups.map((cleanup) => cleanup().catch(() => undefined)));
    this.options.onStopped?.();
    process.exit(code);
  }

  /**
   * Signals the live children of `entries` (stopSignal, else SIGTERM) and resolves once they
   * exited and their output is read; SIGKILL to one still running STOP_GRACE_MS later.
   */
  async terminate(entries) {
    await Promise.all(
      entries
        .map(({ child }) => child)
        .filter(running)
        .map(async (child) => {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          const closed = new Promise((resolve) => child.once('close', resolve));
          child.kill(this.options.stopSignal?.(child) ?? 'SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(force);
          // Its last lines may still be in the pipe: print them before the script exits (a second
          // at most, should a grandchild hold the pipe open).
          await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
        }),
    );
  }
}

/** Started (a command that could not start has no pid) and not exited. */
function running(child) {
  return child?.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * @param {import('../libs/config/src').MailCatcher} catcher libs/config's `mailCatcher()`
 * @param {string | undefined} bulkSmtpUrl SMTP_BULK_URL, validated: only its host and port are shown
 */
export function mailViewerLine(catcher, bulkSmtpUrl) {
  const main = catcher.run
    ? `http://127.0.0.1:${catcher.webPort}/index.html`
    : `(SMTP_URL is set: e-mails go to ${catcher.smtpUrl})`;
  return bulkSmtpUrl ? `${main} (bulk notices: SMTP_BULK_URL, ${new URL(bulkSmtpUrl).host})` : main;
}

/**
 * Client ports of the local Redis Cluster of `--redis-cluster` (the usual ones of the Redis Cluster
 * tutorial), and their cluster bus ports: fixed, below the ephemeral range, checked free first.
 */
export const REDIS_CLUSTER_PORTS = [7000, 7001, 7002, 7003, 7004, 7005];
export const REDIS_CLUSTER_BUS_PORTS = REDIS_CLUSTER_PORTS.map((port) => port + 10_000);

function canListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `--redis-cluster`: starts a 3-primary, 3-replica Redis Cluster of Debian's redis-server on
 * REDIS_CLUSTER_PORTS (AOF, appendfsync always, as the deployment runs Redis), stopped with the
 * group. Returns the environment the apps need (REDIS_CLUSTER_NODES); exits when redis-server is
 * missing or a port is taken.
 */
export async function startLocalRedisCluster(group) {
  if (spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli']).status !== 0) {
    console.error('✗ redis-server is not installed. On Debian: apt-get install -y redis-server');
    process.exit(1);
  }
  for (const port of [...REDIS_CLUSTER_PORTS, ...REDIS_CLUSTER_BUS_PORTS]) {
    if (!(await canListen(port))) {
      console.error(`✗ port ${port} is taken; --redis-cluster needs ${REDIS_CLUSTER_PORTS.join(', ')} and +10000 free`);
      process.exit(1);
    }
  }
  console.log('starting a local Redis Cluster (3 primaries, 3 replicas)…');
  const cluster = await startRedisCluster({
    ports: REDIS_CLUSTER_PORTS,
    busPorts: REDIS_CLUSTER_BUS_PORTS,
    dir: mkdtempSync(join(tmpdir(), 'boxoffice-redis-cluster-')),
    aof: true,
    minReplicasToWrite: 1,
    onLine: (port, line) => console.log(`[redis-${port}] ${line}`),
  }).catch((error) => {
    console.error(`✗ the Redis Cluster did not start: ${error.message}`);
    process.exit(1);
  });
  group.cleanups.push(cluster.stop);
  // Every purchase waits for its replica before 201 (see README, Redis Cluster).
  return { REDIS_CLUSTER_NODES: cluster.nodes, REDIS_WAIT_REPLICAS: '1' };
}
