import Redis, { Cluster } from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import {
  ApiHarness,
  createSession,
  LocalRedisCluster,
  startTestRedisCluster,
  TestSession,
  waitUntil,
} from '@app/testing';
import { PaymentGateway, performanceKeys, PurchaseFlusher, SeatStateStore } from '@app/ticketing';
import { caller, createPerformance } from './purchase-helpers';
import { startTestApi } from './support/api';
import { reconcileUntilSettled } from './support/payments';

// Long enough that a hold made while a purchase waits is answered well within the wait.
const WAIT_TIMEOUT_MS = 2000;

describe('the durability wait of purchases on a Redis Cluster (REDIS_WAIT_REPLICAS=1)', () => {
  let cluster: LocalRedisCluster;
  let api: ApiHarness;
  let redis: Redis;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  const stopped = new Set<number>();

  /** Client ports of the primary holding the performance's slot (CLUSTER SLOTS) and of its replica. */
  async function nodesOf(performanceId: number): Promise<{ primary: number; replica: number }> {
    const key = `${api.env.REDIS_KEY_PREFIX}${performanceKeys(performanceId).meta}`;
    const [any] = (redis as unknown as Cluster).nodes('master');
    const slot = (await any.cluster('KEYSLOT', key)) as number;
    const ranges = await any.cluster('SLOTS');
    const range = ranges.find(([from, to]) => from <= slot && slot <= to);
    if (!range) throw new Error(`slot ${slot} not served`);
    const [, , [, primary]] = range;
    // The primary's own view of its replica (other nodes learn it by gossip, a moment later).
    const node = new Redis({ port: primary, host: '127.0.0.1' });
    try {
      const replica = /^slave0:.*port=(\d+)/m.exec(await node.info('replication'));
      if (!replica) throw new Error(`primary ${primary} has no replica`);
      return { primary, replica: Number(replica[1]) };
    } finally {
      node.disconnect();
    }
  }

  const pidOf = (port: number) => cluster.pids[cluster.ports.indexOf(port)];
  const purchase = (reservationId: string, key: string) =>
    call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });

  async function rows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      return (await db.query(sql, params)).rows;
    } finally {
      await db.end();
    }
  }

  beforeAll(async () => {
    // As `npm start -- --redis-cluster` runs it: primaries refuse writes without a replica.
    cluster = await startTestRedisCluster({ minReplicasToWrite: 1, minReplicasMaxLag: 10 });
    api = await startTestApi({
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
    redis = api.app.get(Redis);
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
  });
  afterAll(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await api?.close();
    await cluster?.stop();
  });

  it('answers 201 once the replica of the slot has the purchase', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const bought = await purchase(held.json().id, 'durable-1');
    expect(bought.statusCode).toBe(201);
    // The replica has it: read there (READONLY lets a replica answer for its primary's slot).
    const { replica } = await nodesOf(performance.id);
    const replicaClient = new Redis({ port: replica, host: '127.0.0.1', lazyConnect: true });
    try {
      await replicaClient.connect();
      await replicaClient.call('READONLY');
      const key = `${api.env.REDIS_KEY_PREFIX}${performanceKeys(performance.id).purchase(bought.json().id)}`;
      expect(await replicaClient.hget(key, 'status')).toBe('PAID');
    } finally {
      replicaClient.disconnect();
    }
  });

  it('answers holds on the primary of the slot while a purchase there waits for its stopped replica', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const other = await createSession(api.app);
    const { primary: primaryPort, replica } = await nodesOf(performance.id);
    const primary = new Redis({ port: primaryPort, host: '127.0.0.1' });
    const pid = pidOf(replica);
    try {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
      const answered: string[] = [];
      const buying = purchase(held.json().id, 'durable-wait').then((response) => {
        answered.push('purchase');
        return response;
      });
      // The purchase's WAIT is blocked on the primary of the performance's slot.
      const inWait = async () => / cmd=wait( |$)/m.test(String(await primary.client('LIST')));
      await waitUntil(inWait, 'purchase in WAIT');
      const holding = call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [performance.seatIds[1]] },
        session: other,
      }).then((response) => {
        answered.push('hold');
        return response;
      });
      const hold = await holding;
      expect(hold.statusCode).toBe(201);
      // The hold did not queue behind the WAIT: it was answered while the WAIT still blocked.
      expect(await inWait()).toBe(true);
      expect((await buying).statusCode).toBe(503);
      expect(answered).toEqual(['hold', 'purchase']);
    } finally {
      process.kill(pid, 'SIGCONT');
      stopped.delete(pid);
      primary.disconnect();
    }
  });

  it('answers 503 when the replica is stopped, keeps the purchase, and a retry with the key gets that one purchase', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(0, 2) },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const { replica } = await nodesOf(performance.id);
    const pid = pidOf(replica);
    process.kill(pid, 'SIGSTOP');
    stopped.add(pid);

    const started = Date.now();
    const refused = await purchase(held.json().id, 'durable-2');
    // REDIS_WAIT_TIMEOUT_MS bounds a purchase's wait for replicas (libs/config env.ts), counted from the request.
    expect(
      Date.now() - started,
      'a purchase waits for a stopped replica at most REDIS_WAIT_TIMEOUT_MS (+2 s slack), then 503',
    ).toBeLessThan(WAIT_TIMEOUT_MS + 2000);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable', path: '/api/v1/purchases' });
    expect(refused.json().requestId).toBeTruthy();

    // The sale stands on the primary: the buyer sees it, the seats are sold, nothing else was sold.
    const listed = await call('GET', '/purchases?limit=100', { session: buyer });
    const mine = listed.json().items.filter((p: { reservationId: string }) => p.reservationId === held.json().id);
    expect(mine).toHaveLength(1);
    const purchaseId: string = mine[0].id;
    expect(await api.app.get(SeatStateStore).statuses(performance.id, performance.seatIds.slice(0, 2))).toEqual([
      'SOLD',
      'SOLD',
    ]);
    // A retry while the replica is still away answers the same way and charges nothing more.
    expect((await purchase(held.json().id, 'durable-2')).statusCode).toBe(503);

    process.kill(pid, 'SIGCONT');
    stopped.delete(pid);
    let retried = await purchase(held.json().id, 'durable-2');
    await waitUntil(async () => {
      if (retried.statusCode === 201) return true;
      retried = await purchase(held.json().id, 'durable-2');
      return retried.statusCode === 201;
    });
    expect(retried.json()).toMatchObject({ id: purchaseId, reservationId: held.json().id, status: 'PAID' });
    expect((await purchase(held.json().id, 'durable-2')).json().id).toBe(purchaseId);

    // Written once to PostgreSQL, charged once.
    const flusher = api.app.get(PurchaseFlusher);
    await waitUntil(async () => {
      await flusher.flushOnce();
      return (await rows('SELECT id FROM purchases WHERE id = $1', [purchaseId])).length === 1;
    });
    const attempts = await rows('SELECT purchase_id, charge_id FROM payment_attempts WHERE reservation_id = $1', [
      held.json().id,
    ]);
    expect(attempts).toHaveLength(1);
    expect(attempts[0].purchase_id).toBe(purchaseId);
    expect(await rows('SELECT id FROM purchases WHERE reservation_id = $1', [held.json().id])).toHaveLength(1);
  });

  it('answers a cancel 503 while the replica is stopped, refunding nothing; the flushed cancellation owes the refund, batch makes it', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    const bought = await purchase(held.json().id, 'durable-cancel');
    expect(bought.statusCode).toBe(201);
    const purchaseId: string = bought.json().id;
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const { replica } = await nodesOf(performance.id);
    const pid = pidOf(replica);
    process.kill(pid, 'SIGSTOP');
    stopped.add(pid);

    const refused = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json().message).toContain('the cancellation could not be confirmed durably');
    // Not confirmed: a failover could still undo it, so nothing was given back.
    expect(refund).not.toHaveBeenCalled();

    process.kill(pid, 'SIGCONT');
    stopped.delete(pid);
    // It stood on the primary: a retried cancel, now confirmed by the replica, says so (200, the
    // purchase CANCELED), and the refund follows through batch (the retry asks for none).
    const cancelAgain = () => call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    let retried = await cancelAgain();
    // A 503 again until the replica, back, has caught up.
    await waitUntil(async () => retried.statusCode === 200 || (retried = await cancelAgain()).statusCode === 200);
    expect(retried.json()).toMatchObject({ id: purchaseId, status: 'CANCELED' });
    expect(refund).not.toHaveBeenCalled();
    const flusher = api.app.get(PurchaseFlusher);
    await waitUntil(async () => {
      await flusher.flushOnce();
      const [attempt] = await rows('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchaseId]);
      return attempt?.status === 'REFUND_OWED';
    });
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      await reconcileUntilSettled(api, db, [purchaseId]);
    } finally {
      await db.end();
    }
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchaseId}`]);
    refund.mockRestore();
    expect(await rows('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).toEqual([
      { status: 'REFUNDED' },
    ]);
  });

  it('answers 503 and sells nothing while the primary refuses writes for lack of replicas (min-replicas-to-write)', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const { primary: primaryPort, replica } = await nodesOf(performance.id);
    const primary = new Redis({ port: primaryPort, host: '127.0.0.1' });
    const pid = pidOf(replica);
    try {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
      // A 1 s lag instead of 10, so the primary gives its replica up within the test.
      await primary.config('SET', 'min-replicas-max-lag', '1');
      await waitUntil(async () => (await primary.info('replication')).includes('min_slaves_good_slaves:0'));

      const refused = await purchase(held.json().id, 'durable-3');
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(await api.app.get(SeatStateStore).statuses(performance.id, [performance.seatIds[0]])).toEqual(['HELD']);
      const listed = await call('GET', '/purchases?limit=100', { session: buyer });
      expect(
        listed.json().items.filter((p: { reservationId: string }) => p.reservationId === held.json().id),
      ).toHaveLength(0);

      process.kill(pid, 'SIGCONT');
      stopped.delete(pid);
      await primary.config('SET', 'min-replicas-max-lag', '10');
      let retried = await purchase(held.json().id, 'durable-3');
      await waitUntil(async () => {
        if (retried.statusCode === 201) return true;
        retried = await purchase(held.json().id, 'durable-3');
        return retried.statusCode === 201;
      });
      expect(retried.json()).toMatchObject({ reservationId: held.json().id, status: 'PAID' });
      const attempts = await rows('SELECT purchase_id FROM payment_attempts WHERE reservation_id = $1', [
        held.json().id,
      ]);
      expect(attempts).toEqual([{ purchase_id: retried.json().id }]);
    } finally {
      primary.disconnect();
    }
  });
});
