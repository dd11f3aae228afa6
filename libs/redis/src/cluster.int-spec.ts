import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { StoreUnavailableError } from '@app/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestEnvWithoutDatabase,
  deleteRedisKeys,
  freePort,
  LocalRedisCluster,
  REDIS_URL,
  startTestRedisCluster,
  waitUntil,
} from '@app/testing';
import {
  isCluster,
  nodeOf,
  primaries,
  scanEveryPrimary,
  sendAcrossSlots,
  sendThenWaitForReplicas,
  waitForReplicas,
} from './cluster';
import { probeScripts } from './readiness-probe';
import { createRedis } from './redis.module';

/** Keys whose hash tags land on every primary of a 3-primary cluster (slots 0-5460, 5461-10922, 10923-16383). */
const KEYS = Array.from({ length: 30 }, (_, i) => `{k${i}}:v`);

describe.each(['single Redis', 'Redis Cluster'])('cluster helpers on a %s', (mode) => {
  let cluster: LocalRedisCluster | undefined;
  let redis: Redis;
  const env = createTestEnvWithoutDatabase();

  beforeAll(async () => {
    if (mode === 'Redis Cluster') cluster = await startTestRedisCluster();
    redis = createRedis({ ...env, REDIS_CLUSTER_NODES: cluster?.nodes });
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('knows which client it is', () => {
    expect(isCluster(redis)).toBe(mode === 'Redis Cluster');
  });

  it('sends commands across slots, answering each in order with its own error', async () => {
    const writes = await sendAcrossSlots(
      redis,
      KEYS.map((key, i) => ['set', key, i]),
    );
    expect(writes).toEqual(KEYS.map(() => [null, 'OK']));
    const replies = await sendAcrossSlots(redis, [
      ['get', KEYS[0]],
      ['hgetall', KEYS[1]],
      ['get', KEYS[29]],
      ['hgetall', '{nothing}:here'],
    ]);
    expect(replies[0]).toEqual([null, '0']);
    expect(replies[1][0]?.message).toMatch(/WRONGTYPE/);
    expect(replies[2]).toEqual([null, '29']);
    // Reply transformers apply as in a pipeline: HGETALL answers an object.
    expect(replies[3]).toEqual([null, {}]);
    expect(await sendAcrossSlots(redis, [])).toEqual([]);
  });

  it('scans every primary, and only the prefix asked for', async () => {
    if (mode === 'Redis Cluster') expect(primaries(redis)).toHaveLength(3);
    const found: string[] = [];
    const holders = new Set<Redis>();
    await scanEveryPrimary(redis, `${env.REDIS_KEY_PREFIX}{k*`, async (keys, node) => {
      found.push(...keys);
      holders.add(node);
    });
    expect(found.sort()).toEqual(KEYS.map((key) => `${env.REDIS_KEY_PREFIX}${key}`).sort());
    expect(holders.size).toBe(mode === 'Redis Cluster' ? 3 : 1);
  });

  it('sends a command and WAIT together, and follows a slot that moved', async () => {
    expect(await sendThenWaitForReplicas(redis, ['set', KEYS[0], 'waited'], 0, 100)).toEqual(['OK', 0]);
    if (mode === 'Redis Cluster') {
      // The client's map sends the key's slot to another primary, as after a failover: that
      // primary answers MOVED to the SET and 0 to WAIT, a pipeline the client does not redirect.
      const cluster = redis as unknown as Cluster;
      const slot = Number(await redis.cluster('KEYSLOT', `${env.REDIS_KEY_PREFIX}${KEYS[0]}`));
      const other = cluster
        .nodes('master')
        .find((node) => `${node.options.host}:${node.options.port}` !== cluster.slots[slot][0])!;
      cluster.slots[slot] = [`${other.options.host}:${other.options.port}`];
      expect(await sendThenWaitForReplicas(redis, ['set', KEYS[0], 'moved'], 0, 100)).toEqual(['OK', 0]);
    }
    expect(await redis.get(KEYS[0])).toBe(mode === 'Redis Cluster' ? 'moved' : 'waited');
  });

  it('names the node a key goes to: the one that holds it', async () => {
    for (const key of KEYS.slice(0, 6)) {
      await redis.set(key, 'here');
      const holders: string[] = [];
      for (const node of primaries(redis)) {
        // Node clients of a Cluster carry no prefix (a single Redis's client is the one above),
        // and answer MOVED for a key of another node's slot.
        const stored = isCluster(redis) ? `${env.REDIS_KEY_PREFIX}${key}` : key;
        if ((await node.get(stored).catch(() => null)) === 'here')
          holders.push(`${node.options.host}:${node.options.port}`);
      }
      expect([nodeOf(redis, key)]).toEqual(holders);
    }
  });

  it('runs the readiness probe script, also after every node lost its script cache', async () => {
    await probeScripts(redis);
    for (const node of primaries(redis)) await node.script('FLUSH');
    await probeScripts(redis);
  });

  it.runIf(mode === 'Redis Cluster')(
    'answers a key whose slot is moving (ASK) in a pipeline as Redis unavailable, never with the raw ASK',
    async () => {
      // As `redis-cli --cluster reshard` leaves a slot between its keys: the source MIGRATING, the
      // target IMPORTING, the key already on the target. A single command follows the ASK; a
      // pipeline (a command and WAIT, a read and TIME) gets it back beside an answer.
      const key = KEYS[3];
      const stored = `${env.REDIS_KEY_PREFIX}${key}`;
      await redis.set(key, 'moving');
      // A key of the same slot that stays on the source, and one that exists nowhere.
      const [staying, nowhere] = ['{k3}:staying', '{k3}:nowhere'];
      await redis.set(staying, 'here');
      const slot = Number(await redis.cluster('KEYSLOT', stored));
      const nodes = primaries(redis);
      const from = nodes.find((node) => `${node.options.host}:${node.options.port}` === nodeOf(redis, key))!;
      const to = nodes.find((node) => node !== from)!;
      const [fromId, toId] = [String(await from.cluster('MYID')), String(await to.cluster('MYID'))];
      await to.cluster('SETSLOT', slot, 'IMPORTING', fromId);
      await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
      await from.call('MIGRATE', to.options.host!, String(to.options.port), stored, '0', '5000');
      try {
        expect(await redis.get(key)).toBe('moving');
        const waited = await sendThenWaitForReplicas(redis, ['exists', key], 0, 100).catch((error: unknown) => error);
        expect(waited).toBeInstanceOf(StoreUnavailableError);
        expect(await waitForReplicas(redis, key, 0, 100).catch((error: unknown) => error)).toBeInstanceOf(
          StoreUnavailableError,
        );
        const [[readError]] = (await redis.pipeline().get(key).time().exec())!;
        expect(readError).toBeInstanceOf(StoreUnavailableError);
        // A transaction whose commands the source redirects (a key gone, or never there) ends
        // EXECABORT, as WaitingRoomStore.queueState's did (a 500 on every hold of the moment).
        for (const keys of [
          [nowhere, staying],
          [key, staying],
        ]) {
          const aborted = await redis
            .multi()
            .exists(keys[0])
            .exists(keys[1])
            .hget(keys[1], 'x')
            .exec()
            .catch((error: unknown) => error);
          expect(aborted, String(aborted)).toBeInstanceOf(StoreUnavailableError);
        }
      } finally {
        // The move ends as a reshard ends it: the slot is the target's, which the client follows.
        for (const node of [to, from, ...nodes.filter((n) => n !== to && n !== from)]) {
          await node.cluster('SETSLOT', slot, 'NODE', toId);
        }
      }
      expect(await redis.get(key)).toBe('moving');
    },
  );

  it.runIf(mode === 'Redis Cluster')(
    'follows an ASK to a primary that holds no slot yet, leaving no rejection unhandled when its connection closes',
    async () => {
      // `redis-cli --cluster add-node` then `reshard`: the slot's keys move to a primary that holds
      // no slot yet, which CLUSTER SLOTS does not list. A command asked there makes the client open
      // a connection to it and send ASKING on it; the client's next slot refresh closes that
      // connection (the node holds no slot). ASKING and the command still queued on it fail
      // "Connection is closed."; the command is retried, ASKING's rejection had no handler (an
      // unhandled rejection ends a Node process).
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const dir = mkdtempSync(join(tmpdir(), 'bo-ask-target-'));
      const [port, busPort] = [await freePort(), await freePort()];
      const added = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--cluster-enabled', 'yes'],
          ...['--cluster-port', String(busPort), '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir],
          ...['--cluster-node-timeout', '15000', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
        ],
        { stdio: 'ignore' },
      );
      // Connects (retrying) while the server starts; its connection errors until then are expected.
      const target = new Redis(port).on('error', () => undefined);
      try {
        await waitUntil(
          () =>
            target.ping().then(
              (pong) => pong === 'PONG',
              () => false,
            ),
          'the added node answers',
        );
        const key = KEYS[5];
        const stored = `${env.REDIS_KEY_PREFIX}${key}`;
        await redis.set(key, 'moving');
        const slot = Number(await redis.cluster('KEYSLOT', stored));
        const from = primaries(redis).find(
          (node) => `${node.options.host}:${node.options.port}` === nodeOf(redis, key),
        )!;
        const [fromId, toId] = [String(await from.cluster('MYID')), String(await target.cluster('MYID'))];
        await from.call('CLUSTER', 'MEET', '127.0.0.1', String(port), String(busPort));
        const knows = async (node: Redis, id: string) =>
          String(await node.cluster('NODES'))
            .split('\n')
            .some((line) => line.startsWith(id) && !line.includes('handshake'));
        // MIGRATE needs the target to know every slot's owner (cluster_state:ok), not only the source.
        await waitUntil(
          async () =>
            (await knows(from, toId)) &&
            (await knows(target, fromId)) &&
            String(await target.cluster('INFO')).includes('cluster_state:ok'),
          'the added node knows the cluster',
        );
        await target.cluster('SETSLOT', slot, 'IMPORTING', fromId);
        await from.cluster('SETSLOT', slot, 'MIGRATING', toId);
        await from.call('MIGRATE', '127.0.0.1', String(port), stored, '0', '5000');
        // The added node stops answering for a moment (a loaded host): ASKING and GET wait on the
        // client's new connection to it while a slot refresh closes that connection.
        added.kill('SIGSTOP');
        const cluster = redis as unknown as Cluster;
        const read = redis.get(key);
        await waitUntil(
          () => cluster.nodes().some((node) => node.options.port === port),
          'a connection to the ASK target',
        );
        await new Promise((resolve) => cluster.refreshSlotsCache(resolve));
        await waitUntil(() => !cluster.nodes().some((node) => node.options.port === port), 'the refresh closes it');
        added.kill('SIGCONT');
        expect(await read).toBe('moving');
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled.map(String)).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        target.disconnect();
        added.kill('SIGCONT');
        await new Promise((resolve) => added.once('exit', resolve).kill('SIGTERM'));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
