import Redis, { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { isCluster } from '@app/redis';
import {
  ApiHarness,
  createSession,
  LocalRedisCluster,
  startTestRedisCluster,
  TestSession,
  waitUntil,
} from '@app/testing';
import {
  HoldSweeper,
  PERFORMANCE_REGISTRY_KEY,
  performanceKeys,
  PurchaseFlusher,
  SeatStateStore,
} from '@app/ticketing';
import { caller, createPerformance, persisted } from './purchase-helpers';
import { startTestApi } from './support/api';

/** Primaries of the cluster as Redis stores keys (no prefix), from the app's own client. */
const primariesOf = (redis: Redis) => (redis as unknown as Cluster).nodes('master');

/** Commandstats of one node: command → calls and failed calls. */
async function commandStats(node: Redis): Promise<Map<string, { calls: number; failed: number }>> {
  const stats = new Map<string, { calls: number; failed: number }>();
  for (const line of (await node.info('commandstats')).split('\n')) {
    const match = /^cmdstat_(\w+):calls=(\d+),.*failed_calls=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1], { calls: Number(match[2]), failed: Number(match[3]) });
  }
  return stats;
}

describe('the sale on a local 3-primary, 3-replica Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let cluster: LocalRedisCluster;
  let api: ApiHarness;
  let redis: Redis;
  let admin: TestSession;
  let buyers: TestSession[];
  let call: ReturnType<typeof caller>;
  const performances: { id: number; seatIds: number[] }[] = [];

  /** The primary that holds the performance's keys (its hash tag's slot). */
  async function primaryOf(performanceId: number): Promise<Redis> {
    const key = `${api.env.REDIS_KEY_PREFIX}${performanceKeys(performanceId).meta}`;
    const nodes = primariesOf(redis);
    const slot = (await nodes[0].cluster('KEYSLOT', key)) as number;
    // COUNTKEYSINSLOT counts a node's own keys; any other command on a key elsewhere answers MOVED.
    const owners: Redis[] = [];
    for (const node of nodes) if (((await node.cluster('COUNTKEYSINSLOT', slot)) as number) > 0) owners.push(node);
    expect(owners).toHaveLength(1);
    return owners[0];
  }

  const reserve = (buyer: TestSession, performanceId: number, seatIds: number[]) =>
    call('POST', '/reservations', { body: { performanceId, seatIds }, session: buyer });

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    api = await startTestApi({
      REDIS_CLUSTER_NODES: cluster.nodes,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      RESERVATION_TTL_SECONDS: '2',
      SIGNUP_RATE_LIMIT: '3',
    });
    redis = api.app.get(Redis);
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyers = await Promise.all(Array.from({ length: 8 }, () => createSession(api.app)));
    for (let i = 0; i < 6; i++) performances.push(await createPerformance(api.app, admin, 20));
  });
  afterAll(async () => {
    await api?.close();
    await cluster?.stop();
  });

  it('runs on a Cluster client, ready by a real script, with every performance registered', async () => {
    expect(isCluster(redis)).toBe(true);
    const ready = await api.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().info.redis).toEqual({ status: 'up' });
    expect((await redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number).sort((a, b) => a - b)).toEqual(
      performances.map((p) => p.id).sort((a, b) => a - b),
    );
  });

  it('keeps each performance on one primary and spreads performances over the primaries', async () => {
    const owners = new Set<string>();
    for (const { id } of performances) {
      const owner = await primaryOf(id);
      owners.add(`${owner.options.host}:${owner.options.port}`);
      // Every key of the performance is on that one primary.
      const pattern = `${api.env.REDIS_KEY_PREFIX}${performanceKeys(id).everyKey}`;
      const [, keys] = await owner.scan('0', 'MATCH', pattern, 'COUNT', 10_000);
      expect(keys.length).toBeGreaterThanOrEqual(5);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('lets exactly one of many concurrent holds take one seat', async () => {
    const [performance] = performances;
    const seat = performance.seatIds[0];
    const answers = await Promise.all(buyers.map((buyer) => reserve(buyer, performance.id, [seat])));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, ...Array(buyers.length - 1).fill(409)]);
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [seat])).toEqual(['HELD']);
  });

  it('buys holds of performances on different primaries, lists them before the flush, and flushes them to PostgreSQL', async () => {
    const targets = performances.slice(1);
    const buyer = buyers[0];
    const bought: string[] = [];
    for (const performance of targets) {
      const held = await reserve(buyer, performance.id, performance.seatIds.slice(0, 2));
      expect(held.statusCode).toBe(201);
      const purchase = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
      expect(purchase.statusCode).toBe(201);
      bought.push(purchase.json().id);
    }
    // Not flushed yet: the user's index points at purchases in several slots.
    const listed = await call('GET', '/purchases?limit=100', { session: buyer });
    expect(listed.statusCode).toBe(200);
    expect(
      listed
        .json()
        .items.map((p: { id: string }) => p.id)
        .sort(),
    ).toEqual([...bought].sort());

    const flusher = api.app.get(PurchaseFlusher);
    await waitUntil(async () => {
      await flusher.flushOnce();
      return (await persisted(api.env.DATABASE_URL, bought)).purchases.length === bought.length;
    });
    const db = await persisted(api.env.DATABASE_URL, bought);
    expect(db.purchases.map((p) => p.status)).toEqual(bought.map(() => 'PAID'));
    expect(db.tickets).toHaveLength(bought.length * 2);
    for (const performance of targets) {
      expect((await api.app.get(SeatStateStore).counts(performance.id)).sold).toBe(2);
    }
  });

  it('answers a repeated purchase with the same Idempotency-Key with the first answer', async () => {
    const performance = performances[2];
    const buyer = buyers[1];
    const held = await reserve(buyer, performance.id, [performance.seatIds[5]]);
    expect(held.statusCode).toBe(201);
    const headers = { 'idempotency-key': `cluster-${held.json().id}` };
    const body = { reservationId: held.json().id };
    const first = await call('POST', '/purchases', { body, session: buyer, headers });
    const again = await call('POST', '/purchases', { body, session: buyer, headers });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
  });

  it('frees the seats of an expired hold through the sweeper', async () => {
    const performance = performances[3];
    const held = await reserve(buyers[2], performance.id, [performance.seatIds[10], performance.seatIds[11]]);
    expect(held.statusCode).toBe(201);
    const store = api.app.get(SeatStateStore);
    expect((await store.counts(performance.id)).held).toBe(2);
    const sweeper = api.app.get(HoldSweeper);
    await waitUntil(async () => {
      await sweeper.sweepOnce();
      return (await store.counts(performance.id)).held === 0;
    });
    const counts = await store.counts(performance.id);
    expect(counts.available).toBe(counts.total - counts.sold);
  });

  it('throttles signups from one address across the cluster', async () => {
    const signup = (n: number) =>
      api.app.inject({
        method: 'POST',
        url: '/api/v1/auth/signup',
        payload: { email: `cluster-throttle-${n}@example.test`, password: 'long-enough-pw', name: 'T' },
        remoteAddress: '203.0.113.77',
      });
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) statuses.push((await signup(n)).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('survives SCRIPT FLUSH on every primary: EVALSHA meets NOSCRIPT and ioredis falls back to EVAL', async () => {
    const performance = performances[4];
    const owner = await primaryOf(performance.id);
    // Used once, so the scripts are cached on the owner and its connection sends EVALSHA.
    expect((await reserve(buyers[3], performance.id, [performance.seatIds[15]])).statusCode).toBe(201);
    for (const node of primariesOf(redis)) {
      await node.script('FLUSH');
      await node.config('RESETSTAT');
    }
    expect((await reserve(buyers[4], performance.id, [performance.seatIds[16]])).statusCode).toBe(201);
    const stats = await commandStats(owner);
    expect(stats.get('evalsha')?.failed).toBeGreaterThanOrEqual(1);
    expect(stats.get('eval')?.calls).toBeGreaterThanOrEqual(1);
    expect((await api.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('goes on selling after a replica of the performance’s primary is promoted (its script cache is empty)', async () => {
    const performance = performances[5];
    const owner = await primaryOf(performance.id);
    const ownerId = ((await owner.cluster('MYID')) as string).trim();
    const replicaLine = ((await owner.cluster('NODES')) as string)
      .split('\n')
      .find((line) => line.split(' ')[3] === ownerId);
    expect(replicaLine).toBeDefined();
    const replicaAddress = replicaLine!.split(' ')[1].split('@')[0];
    const replica = new Redis(Number(replicaAddress.split(':')[1]), '127.0.0.1');
    try {
      expect(await replica.script('EXISTS', '0'.repeat(40))).toEqual([0]);
      await replica.cluster('FAILOVER');
      await waitUntil(async () => ((await replica.role()) as string[])[0] === 'master', 'the replica promoted');
      let holdId = '';
      await waitUntil(async () => {
        // While the slot moves the client retries by itself; a 5xx here would be a lost request.
        const answer = await reserve(buyers[5], performance.id, [performance.seatIds[3]]);
        expect(answer.statusCode).toBe(201);
        holdId = answer.json().id;
        return true;
      }, 'a hold on the promoted replica');
      const purchase = await call('POST', '/purchases', { body: { reservationId: holdId }, session: buyers[5] });
      expect(purchase.statusCode).toBe(201);
      expect(await replica.exists(`${api.env.REDIS_KEY_PREFIX}${performanceKeys(performance.id).meta}`)).toBe(1);
    } finally {
      replica.disconnect();
    }
  });
});
