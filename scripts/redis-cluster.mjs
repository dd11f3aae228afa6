// A local Redis Cluster of Debian's redis-server, for `npm run start:cluster -- --redis-cluster`,
// `npm start -- --redis-cluster` and the tests (libs/testing/src/redis-cluster.ts): primaries and
// their replicas on loopback ports the caller chose, each node with its own folder, created with
// `redis-cli --cluster create` and ready once every node reports cluster_state:ok and every
// replica is in sync.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Starts `ports.length` nodes (client port `ports[i]`, cluster bus port `busPorts[i]`: given
 * explicitly, because Redis's default bus port, client port + 10000, may fall in the kernel's
 * ephemeral range), makes a cluster of them with `replicas` replicas per primary, and waits
 * until every node answers cluster_state:ok (within `timeoutMs`). Each node's files live under
 * `dir`, which `stop()` removes. `aof: true` runs every node as the deployment runs Redis
 * (`appendonly yes`, `appendfsync always`); otherwise nothing is persisted. `minReplicasToWrite`
 * (with `minReplicasMaxLag` seconds, default 10) makes a primary refuse writes (`NOREPLICAS`)
 * while fewer replicas than that acknowledged it within the lag: a primary cut off from its
 * replicas stops taking sales a failover would undo (the api's REDIS_WAIT_REPLICAS covers the lag).
 * `nodeTimeoutMs` (default 2000) is `cluster-node-timeout`: how long a node may not answer before
 * its replica takes over.
 *
 * @param {{ ports: number[], busPorts: number[], dir: string, replicas?: number, aof?: boolean,
 *   minReplicasToWrite?: number, minReplicasMaxLag?: number, nodeTimeoutMs?: number, timeoutMs?: number,
 *   onLine?: (node: number, line: string) => void }} options
 * @returns {Promise<{ nodes: string, ports: number[], pids: number[], stop: () => Promise<void> }>}
 *   `nodes` is the value for REDIS_CLUSTER_NODES. Rejects (after stopping what it started) when
 *   redis-server is missing or the cluster does not form in time.
 */
export async function startRedisCluster(options) {
  const { ports, busPorts, dir, replicas = 1, aof = false, timeoutMs = 30_000, onLine } = options;
  const { minReplicasToWrite = 0, minReplicasMaxLag = 10, nodeTimeoutMs = 2000 } = options;
  if (ports.length !== busPorts.length) throw new Error('one bus port per node');
  if (ports.length < 3 * (replicas + 1)) throw new Error(`at least ${3 * (replicas + 1)} nodes for 3 primaries`);
  const children = ports.map((port, i) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no'],
        ...['--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i])],
        ...['--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', String(nodeTimeoutMs)],
        ...['--dir', nodeDir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
        ...(aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...['--min-replicas-to-write', String(minReplicasToWrite)],
        ...['--min-replicas-max-lag', String(minReplicasMaxLag)],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        for (const line of chunk.toString().split('\n')) if (line.trim() && onLine) onLine(port, line);
      });
    }
    return child;
  });
  const exited = (child) => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    await Promise.all(
      children.map((child) =>
        exited(child) ? undefined : new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM')),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const spawnFailed = Promise.race(children.map((child) => new Promise((_, reject) => child.once('error', reject))));
  try {
    const deadline = Date.now() + timeoutMs;
    await Promise.race([spawnFailed, waitFor(deadline, () => everyNode(ports, ['PING'], (out) => out === 'PONG'))]);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await waitFor(deadline, () =>
      everyNode(
        ports,
        ['CLUSTER', 'INFO'],
        (out) => out.includes('cluster_state:ok') && out.includes(`cluster_known_nodes:${ports.length}`),
      ),
    );
    // Every replica in sync with its primary, so a primary with min-replicas-to-write takes writes.
    await waitFor(deadline, () =>
      everyNode(ports, ['INFO', 'replication'], (out) =>
        out.includes('role:slave')
          ? out.includes('master_link_status:up')
          : (out.match(/^slave\d+:.*state=online/gm) ?? []).length >= replicas,
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => `127.0.0.1:${port}`).join(','), ports, pids: children.map((c) => c.pid), stop };
}

async function everyNode(ports, command, ok) {
  const answers = await Promise.all(
    ports.map((port) =>
      run('redis-cli', ['-p', String(port), ...command]).then(
        ({ stdout }) => stdout.trim(),
        () => '',
      ),
    ),
  );
  return answers.every(ok);
}

async function waitFor(deadline, check) {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ready in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
