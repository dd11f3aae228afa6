import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import { createTestEnvWithoutDatabase, LocalRedisCluster, startTestRedisCluster, waitUntil } from '@app/testing';
import { sendThenWaitForReplicas } from './cluster';
import { createRedis } from './redis.module';

const TIMEOUT_MS = 300;

/**
 * Issue #17's silent flusher: a Cluster client keeps a command in its own offline queue, where no
 * node's `commandTimeout` covers it, while it is not `ready` (reconnecting, its slots refresh
 * failing on every node). With every node stopped (SIGSTOP: connections open, no answer), such a
 * command, or the flusher's pipeline of `sendThenWaitForReplicas`, waited as long as the nodes did.
 */
describe('a Cluster client whose nodes do not answer', () => {
  let cluster: LocalRedisCluster;
  const env = createTestEnvWithoutDatabase();
  const clients: Redis[] = [];
  const stopped = new Set<number>();

  const stopEveryNode = () => {
    for (const pid of cluster.pids) {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
    }
  };
  const resumeEveryNode = () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped.clear();
  };
  const client = (name: string, lazyConnect: boolean) => {
    const redis = createRedis({ ...env, REDIS_CLUSTER_NODES: cluster.nodes }, name, {
      lazyConnect,
      commandTimeoutMs: TIMEOUT_MS,
    });
    clients.push(redis);
    return redis;
  };
  /** How `promise` settled, once it has; fails the test when it is still pending after `withinMs`. */
  const settledWithin = async (promise: Promise<unknown>, withinMs: number) => {
    let outcome: { error?: unknown; value?: unknown } | undefined;
    promise.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    await waitUntil(async () => outcome !== undefined, 'the command settled', withinMs, 20);
    return outcome!;
  };

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
  });
  afterAll(async () => {
    resumeEveryNode();
    for (const redis of clients) redis.disconnect();
    await cluster?.stop();
  });

  it('fails a command or pipeline of a client that connects meanwhile, then works once they answer', async () => {
    // The flusher's PURCHASE_REDIS client connects at its first command (lazyConnect).
    const redis = client('bounded-lazy', true);
    stopEveryNode();
    try {
      const command = await settledWithin(redis.get('{b}:lazy'), 4 * TIMEOUT_MS);
      expect(command.error).toBeInstanceOf(StoreUnavailableError);
      const pipeline = await settledWithin(
        sendThenWaitForReplicas(redis, ['xclaim', '{b}:stream', 'g', 'c', 0, '0-1', 'JUSTID'], 1, 100),
        4 * TIMEOUT_MS,
      );
      expect(pipeline.error).toBeInstanceOf(StoreUnavailableError);
      expect((redis as unknown as { status: string }).status).not.toBe('ready');
    } finally {
      resumeEveryNode();
    }
    // The next pass of a loop tries again, and gets through.
    await waitUntil(async () => (await redis.set('{b}:lazy', 'v').catch(() => null)) === 'OK', 'a write', 20_000);
  });

  it('fails a command or pipeline of a client whose connections all dropped, then works once they answer', async () => {
    const redis = client('bounded-dropped', false);
    // A first write within the 300 ms bound: on a loaded machine the client's first connections
    // and slot map may take longer than that.
    await waitUntil(
      async () => (await redis.set('{b}:dropped', 'v').catch(() => null)) === 'OK',
      'a first write',
      20_000,
    );
    stopEveryNode();
    try {
      // Every connection drops (a network reset): the client reconnects, its slots refresh fails
      // on every stopped node, and it is not `ready` until they answer again.
      for (const node of (redis as unknown as { nodes: () => Redis[] }).nodes()) {
        if (node.stream) node.stream.destroy();
        else node.disconnect();
      }
      await waitUntil(
        async () => (redis as unknown as { status: string }).status !== 'ready',
        'the client reconnecting',
        5_000,
        10,
      );
      const command = await settledWithin(redis.get('{b}:dropped'), 4 * TIMEOUT_MS);
      expect(command.error).toBeInstanceOf(StoreUnavailableError);
      const pipeline = await settledWithin(
        sendThenWaitForReplicas(redis, ['xclaim', '{b}:stream', 'g', 'c', 0, '0-1', 'JUSTID'], 1, 100),
        4 * TIMEOUT_MS,
      );
      expect(pipeline.error).toBeInstanceOf(StoreUnavailableError);
    } finally {
      resumeEveryNode();
    }
    await waitUntil(async () => (await redis.get('{b}:dropped').catch(() => null)) === 'v', 'a read', 20_000);
  });
});
