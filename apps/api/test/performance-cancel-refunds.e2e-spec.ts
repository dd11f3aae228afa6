import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { BulkRefund, PaymentGateway, PaymentReconciler, performanceKeys } from '@app/ticketing';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

interface Progress {
  status: 'IN_PROGRESS' | 'COMPLETED';
  reason: string | null;
  completedAt: string | null;
  refunded: number;
  remaining: number;
  failing: number;
}

/**
 * The bulk refund when something does not go to plan: a refund the gateway keeps refusing holds
 * back neither later cancellations nor the rest of its own performance; a sale let through after
 * the cancel by a live state that lost its CANCELED status is refunded even once the cancellation
 * had completed; an attempt the reconciler settled DECLINED is settled; a long reason is counted
 * as the DTO counts it. `batch`'s loops run in this process, step by step; real PostgreSQL and Redis.
 */
describe('performance cancel: bulk refund past failures (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await close?.();
  });

  async function buy(buyer: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const held = await hold(api.app, buyer, performanceId, seatIds);
    const sold = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json().id as string;
  }

  const cancel = (performanceId: number, body?: object) =>
    call('POST', `/admin/performances/${performanceId}/cancel`, { session: admin, ...(body ? { body } : {}) });

  async function progress(performanceId: number): Promise<Progress> {
    const answer = await call('GET', `/admin/performances/${performanceId}/cancellation`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as Progress;
  }

  /** One round of batch's steps: bulk refund, flush, reconcile (a refund the gateway refuses fails its pass). */
  async function batchRound(): Promise<void> {
    await api.app.get(BulkRefund).refundOnce();
    await flushPurchases(api.app);
    const reconciler = api.app.get(PaymentReconciler);
    while (await reconciler.reconcileOnce().catch(() => null));
  }

  async function state(purchaseId: string): Promise<{ status: string; attempt: string }> {
    const rows = await db.query(
      `SELECT p.status, a.status AS attempt FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id WHERE p.id = $1`,
      [purchaseId],
    );
    return rows.rows[0];
  }

  it('a refund the gateway keeps refusing holds back neither a later cancellation nor the rest of its performance', async () => {
    const a = await createPerformance(api.app, admin, 4, { price: 1000 });
    const b = await createPerformance(api.app, admin, 4, { price: 1000 });
    const buyer = await createSession(api.app);
    const refused = await buy(buyer, a.id, [a.seatIds[0]]);
    const sameShow = await buy(buyer, a.id, [a.seatIds[1]]);
    const later = await buy(buyer, b.id, [b.seatIds[0]]);
    await flushPurchases(api.app);
    const { charge_id: refusedCharge } = (await db.query('SELECT charge_id FROM purchases WHERE id = $1', [refused]))
      .rows[0] as { charge_id: string };
    const gateway = api.app.get(PaymentGateway);
    const real = gateway.refund.bind(gateway);
    // The processor refuses this one charge's refund (a closed card, say), every time.
    const spy = vi.spyOn(gateway, 'refund').mockImplementation(async (request) => {
      if (request.chargeId === refusedCharge) throw new Error('refund refused by the processor');
      return real(request);
    });
    try {
      expect((await cancel(a.id)).statusCode).toBe(202);
      expect((await cancel(b.id)).statusCode).toBe(202);
      await waitUntil(
        async () => {
          await batchRound();
          return (await progress(b.id)).status === 'COMPLETED' && (await state(sameShow)).attempt === 'REFUNDED';
        },
        'the later cancellation and the rest of the first refunded',
        30_000,
        50,
      );
      expect(await state(later)).toEqual({ status: 'CANCELED', attempt: 'REFUNDED' });
      expect(await state(refused)).toEqual({ status: 'CANCELED', attempt: 'REFUND_OWED' });
      expect(await progress(a.id)).toMatchObject({ status: 'IN_PROGRESS', refunded: 1, remaining: 1, failing: 1 });
      const failures = await db.query(
        'SELECT performance_id, reason FROM performance_refund_failures WHERE purchase_id = $1',
        [refused],
      );
      expect(failures.rows).toEqual([{ performance_id: a.id, reason: expect.stringContaining('refund was not made') }]);
    } finally {
      spy.mockRestore();
    }
    // The processor takes it again: the reconciler's refund settles it, and the cancellation completes.
    await waitUntil(
      async () => {
        await batchRound();
        return (await progress(a.id)).status === 'COMPLETED';
      },
      'the first cancellation completed',
      30_000,
      50,
    );
    expect(await progress(a.id)).toMatchObject({ refunded: 2, remaining: 0, failing: 0 });
    // Its failure row went with the refund that settled it: the table lists only what still needs an operator.
    const left = await db.query('SELECT purchase_id FROM performance_refund_failures WHERE performance_id = $1', [
      a.id,
    ]);
    expect(left.rows).toEqual([]);
  }, 90_000);

  it('refunds a sale a lost CANCELED status let through after the cancellation completed, and completes again with nothing remaining', async () => {
    const performance = await createPerformance(api.app, admin, 4, { price: 1000 });
    expect((await cancel(performance.id)).statusCode).toBe(202);
    await waitUntil(
      async () => (await api.app.get(BulkRefund).refundOnce())?.completed === true,
      'completed',
      20_000,
      50,
    );
    expect(await progress(performance.id)).toMatchObject({ status: 'COMPLETED', remaining: 0 });
    // A failover lost the status write: the live state reads ON_SALE again (no status field).
    await api.app.get(Redis).hdel(performanceKeys(performance.id).meta, 'status');
    const buyer = await createSession(api.app);
    const late = await buy(buyer, performance.id, [performance.seatIds[0]]);
    // Not COMPLETED while a purchase remains, flushed or not.
    expect(await progress(performance.id)).toMatchObject({ status: 'IN_PROGRESS', completedAt: null, remaining: 1 });
    await flushPurchases(api.app);
    expect(await progress(performance.id)).toMatchObject({ status: 'IN_PROGRESS', remaining: 1 });
    await waitUntil(
      async () => {
        await batchRound();
        return (await state(late)).attempt === 'REFUNDED' && (await progress(performance.id)).status === 'COMPLETED';
      },
      'the late sale refunded',
      30_000,
      100,
    );
    expect(await state(late)).toEqual({ status: 'CANCELED', attempt: 'REFUNDED' });
    expect(await progress(performance.id)).toMatchObject({ status: 'COMPLETED', refunded: 1, remaining: 0 });
  }, 60_000);

  it('counts a canceled purchase whose attempt the reconciler settled DECLINED as settled, not owed', async () => {
    const performance = await createPerformance(api.app, admin, 4, { price: 1000 });
    const buyer = await createSession(api.app);
    const purchaseId = await buy(buyer, performance.id, [performance.seatIds[0]]);
    await flushPurchases(api.app);
    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(200);
    await flushPurchases(api.app);
    // As the reconciler leaves an attempt whose charge, asked again, was declined: nothing was charged.
    await db.query(`UPDATE payment_attempts SET status = 'DECLINED', charge_id = NULL WHERE purchase_id = $1`, [
      purchaseId,
    ]);
    expect((await cancel(performance.id)).statusCode).toBe(202);
    await waitUntil(
      async () => {
        await batchRound();
        return (await progress(performance.id)).status === 'COMPLETED';
      },
      'completed',
      20_000,
      50,
    );
    expect(await progress(performance.id)).toMatchObject({ refunded: 1, remaining: 0, failing: 0 });
  }, 60_000);

  it('counts a reason in code points as the DTO does: 300 emoji are taken, 501 get the uniform 400 with the list of field errors', async () => {
    const taken = await createPerformance(api.app, admin, 4);
    const reason = '😀'.repeat(300);
    const answer = await cancel(taken.id, { reason });
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toMatchObject({ reason });
    for (const tooLong of ['😀'.repeat(501), '❤️'.repeat(300)]) {
      const refused = await createPerformance(api.app, admin, 4);
      const bad = await cancel(refused.id, { reason: tooLong });
      expect(bad.statusCode, bad.body).toBe(400);
      expect(bad.json()).toMatchObject({
        statusCode: 400,
        error: expect.any(String),
        message: [expect.stringContaining('reason')],
        requestId: expect.any(String),
      });
    }
  });
});

/**
 * REDIS_WAIT_REPLICAS on the cancel: the CANCELED status must reach that many replicas before the
 * PostgreSQL commit. The single Redis of `int` has no replica: 503, nothing committed; the Cluster
 * of `int-cluster` has one per primary: 202.
 */
describe('performance cancel waits for REDIS_WAIT_REPLICAS replicas of its status (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' }));
  });
  afterAll(() => close?.());

  it('commits the cancel only once a replica has the status, else answers 503 and keeps nothing', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const answer = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
    const committed = await db.query(
      `SELECT p.status, c.performance_id IS NOT NULL AS canceled
       FROM performances p LEFT JOIN performance_cancellations c ON c.performance_id = p.id WHERE p.id = $1`,
      [performance.id],
    );
    if (api.env.REDIS_CLUSTER_NODES) {
      expect(answer.statusCode, answer.body).toBe(202);
      expect(committed.rows).toEqual([{ status: 'CANCELED', canceled: true }]);
    } else {
      expect(answer.statusCode, answer.body).toBe(503);
      expect(answer.json()).toMatchObject({
        statusCode: 503,
        message: `the cancellation of performance ${performance.id} could not be confirmed durably; retry`,
        requestId: expect.any(String),
      });
      expect(committed.rows).toEqual([{ status: 'ON_SALE', canceled: false }]);
      // Nor in Redis: the status written before the commit is written back, so it still sells.
      const buyer = await createSession(api.app);
      const held = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: performance.seatIds.slice(0, 1) },
        session: buyer,
      });
      expect(held.statusCode, held.body).toBe(201);
    }
  });
});
