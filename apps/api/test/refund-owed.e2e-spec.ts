import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { AppProcess, createSession, freePort, PROCESS_TEST_TIMEOUT_MS } from '@app/testing';
import { PaymentAttemptsRepository } from '@app/database';
import {
  digestOfKey,
  HoldDesk,
  idempotencyKey,
  PaymentGateway,
  PaymentReconciler,
  performanceKeys,
  refundIdempotencyKey,
  SeatStateStore,
} from '@app/ticketing';
import Redis from 'ioredis';
import { flushPurchases, flushPurchasesAfterLoss, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { BuyerOfShow, startBuyerOfShow } from './support/buyer';
import { reconcileUntilSettled, RefundLedger } from './support/payments';

interface AttemptRow {
  status: string;
  charge_id: string | null;
  resolved_at: Date | null;
}

/**
 * A canceled purchase's refund is never lost (P9 for cancellations): the cancel script's entry
 * makes the flusher mark the payment attempt REFUND_OWED unless the api recorded its refund, and
 * `batch`'s payment reconciler refunds what is owed. Shown with the api killed between the cancel
 * and its refund (FAULT_CRASH_AFTER_CANCEL, a built api process) before and after the purchase was
 * written to PostgreSQL, and with a gateway that fails the refund call; real PostgreSQL and Redis.
 */
describe('refunds owed by canceled purchases (built api killed mid-cancel, real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let { buyer, performance, seats, buy } = {} as BuyerOfShow;
  const processes: AppProcess[] = [];
  let doomed: Promise<{ proc: AppProcess; url: string }>[];

  const attemptOf = async (purchaseId: string): Promise<AttemptRow> =>
    (await db.query(`SELECT status, charge_id, resolved_at FROM payment_attempts WHERE purchase_id = $1`, [purchaseId]))
      .rows[0] as AttemptRow;

  /** The ledger's rule for cancellations: every canceled purchase with a charge has it REFUNDED. */
  async function expectEveryCanceledChargeRefunded(): Promise<void> {
    // Settled first: a purchase canceled before its flush is refunded once the flush has written it.
    await flushPurchases(api.app);
    const open = await db.query(
      `SELECT purchase_id FROM payment_attempts WHERE status IN ('PENDING', 'CHARGED', 'REFUND_OWED')`,
    );
    await reconcileUntilSettled(
      api,
      db,
      open.rows.map((row: { purchase_id: string }) => row.purchase_id),
    );
    const { rows } = await db.query(
      `SELECT p.id, a.status FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id
       WHERE p.status = 'CANCELED' AND a.status <> 'REFUNDED'`,
    );
    expect(rows).toEqual([]);
  }

  /** The buyer's purchase of `reservationId` with Idempotency-Key `key`. */
  const buyWith = (reservationId: string, key: string) =>
    call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });

  /** Cancels on an api that kills itself right after the cancel script, before the refund. */
  async function cancelAndCrash(purchaseId: string): Promise<void> {
    const next = doomed.shift();
    if (!next) throw new Error('every doomed api is used: start more');
    const { proc, url } = await next;
    await expect(
      fetch(`${url}/purchases/${purchaseId}/cancel`, { method: 'POST', headers: buyer.headers }),
    ).rejects.toThrow();
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
  }

  async function expectCanceledAndSeatsFree(purchase: { id: string; seatIds: number[] }): Promise<void> {
    const read = await call('GET', `/purchases/${purchase.id}`, { session: buyer });
    expect(read.json()).toMatchObject({ id: purchase.id, status: 'CANCELED' });
    // The buyer's retry of the cancel the api died in answers as that cancel would have (docs/guide/buying.md,
    // "A cancel is safe to retry"), its refund already made by the reconciler.
    const again = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(read.json());
    // The seats were freed by the script before the crash: another hold takes them.
    await hold(api.app, buyer, performance.id, purchase.seatIds);
  }

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    }));
    ({ buyer, performance, seats, buy } = await startBuyerOfShow(api.app, admin, 100, { price: 1050 }));
    doomed = [1, 2].map(async () => {
      const port = await freePort();
      const proc = new AppProcess('api', { ...api.env, PORT: String(port), FAULT_CRASH_AFTER_CANCEL: 'true' });
      processes.push(proc);
      await proc.waitForLine('api listening');
      return { proc, url: `http://127.0.0.1:${port}/api/v1` };
    });
    // A start that fails before its test awaits it fails that test, not the run (unhandled).
    for (const start of doomed) start.catch(() => undefined);
  });
  afterAll(async () => {
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((proc) => proc.exited));
    await close?.();
  });

  it(
    'a purchase in PostgreSQL, the api killed before the refund: the flushed cancellation owes it, the reconciler refunds it once',
    async () => {
      const purchase = await buy(2);
      await flushPurchases(api.app);
      await reconcileUntilSettled(api, db, [purchase.id]);
      expect((await attemptOf(purchase.id)).status).toBe('COMPLETED');

      await cancelAndCrash(purchase.id);
      // Nothing refunded yet, nothing recorded: the attempt is as the sale left it.
      expect((await attemptOf(purchase.id)).status).toBe('COMPLETED');
      await flushPurchases(api.app);
      expect(await attemptOf(purchase.id)).toEqual({
        status: 'REFUND_OWED',
        charge_id: `ch_${purchase.id}`,
        resolved_at: null,
      });

      const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
      expect(await reconcileUntilSettled(api, db, [purchase.id])).toContain('refunded');
      expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchase.id}`]);
      refund.mockRestore();
      expect(await attemptOf(purchase.id)).toMatchObject({ status: 'REFUNDED', resolved_at: expect.any(Date) });
      await expectCanceledAndSeatsFree(purchase);
      await expectEveryCanceledChargeRefunded();
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a purchase not flushed yet, the api killed before the refund: the reconciler waits for the cancellation in PostgreSQL, then refunds it once',
    async () => {
      const purchase = await buy(1);
      expect((await attemptOf(purchase.id)).status).toBe('CHARGED');
      await cancelAndCrash(purchase.id);

      const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
      // Canceled in Redis only: a failover could still lose that cancel, so nothing is refunded yet.
      const reconciler = api.app.get(PaymentReconciler);
      await db.query(
        `UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`,
        [purchase.id],
      );
      expect(await reconciler.reconcileOnce()).toBe('deferred');
      expect(refund).not.toHaveBeenCalled();
      expect((await attemptOf(purchase.id)).status).toBe('CHARGED');
      // The purchase reaches PostgreSQL canceled: the refund is owed, and made once.
      await flushPurchases(api.app);
      expect((await attemptOf(purchase.id)).status).toBe('REFUND_OWED');
      expect(await reconcileUntilSettled(api, db, [purchase.id])).toContain('refunded');
      expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchase.id}`]);
      refund.mockRestore();
      expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
      await expectCanceledAndSeatsFree(purchase);
      await expectEveryCanceledChargeRefunded();
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.each([
    ['a buyer', () => ({ url: (id: string) => `/purchases/${id}/cancel`, session: buyer, body: undefined })],
    ['an operator', () => ({ url: (id: string) => `/admin/purchases/${id}/refund`, session: admin, body: {} })],
  ])(
    'a refund whose answer the gateway loses on %s’s cancel: answered 200 (the cancellation stands), then owed and asked again by the reconciler, the money moved once',
    async (_, route) => {
      const purchase = await buy(1);
      await flushPurchases(api.app);
      // The processor makes the refund; the api hears an error (a timeout, a connection reset).
      const ledger = new RefundLedger();
      const { refund } = ledger.install(api.app.get(PaymentGateway));
      ledger.loseNextAnswer('error');
      const warn = vi.spyOn(Logger.prototype, 'warn');
      const { url, session, body } = route();
      const canceled = await call('POST', url(purchase.id), { session, body });
      expect(canceled.statusCode, canceled.body).toBe(200);
      expect(canceled.json()).toMatchObject({ id: purchase.id, status: 'CANCELED' });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`refund of canceled purchase ${purchase.id} not made`));
      warn.mockRestore();
      // Owed already: the cancellation was written to PostgreSQL before the refund was tried.
      expect((await attemptOf(purchase.id)).status).toBe('REFUND_OWED');

      await flushPurchases(api.app);
      expect((await attemptOf(purchase.id)).status).toBe('REFUND_OWED');
      expect(await reconcileUntilSettled(api, db, [purchase.id])).toContain('refunded');
      // The reconciler's ask carries the api's key: answered as that refund, nothing moved again.
      const asked = {
        chargeId: `ch_${purchase.id}`,
        idempotencyKey: refundIdempotencyKey(purchase.id),
        amount: 1050,
        currency: 'KRW',
      };
      expect(refund.mock.calls).toEqual([[asked], [asked]]);
      expect(ledger.refundsOf(`ch_${purchase.id}`)).toEqual([{ request: asked, asks: 2 }]);
      ledger.expectMoneyMovedOnce();
      vi.restoreAllMocks();
      expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
      await expectEveryCanceledChargeRefunded();
    },
  );

  it('a same-key purchase retry after the purchase was canceled (its first answer never stored) is told so, charging nothing', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const key = 'bought-then-canceled';
    const buyWithKey = () => buyWith(held.id, key);
    const sold = await buyWithKey();
    expect(sold.statusCode).toBe(201);
    // As if the api had died before storing its answer: the retry runs the purchase again.
    await api.app.get(Redis).del(idempotencyKey(buyer.id, digestOfKey(key)));
    expect((await call('POST', `/purchases/${sold.json().id}/cancel`, { session: buyer })).statusCode).toBe(200);
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    const retried = await buyWithKey();
    expect(retried.statusCode).toBe(409);
    expect(retried.json().message).toBe('purchase has already been canceled');
    expect(charge).not.toHaveBeenCalled();
    charge.mockRestore();
    const read = await call('GET', `/purchases/${sold.json().id}`, { session: buyer });
    expect(read.json()).toMatchObject({ status: 'CANCELED' });
    await expectEveryCanceledChargeRefunded();
    expect((await attemptOf(sold.json().id)).status).toBe('REFUNDED');
  });

  it('a same-key retry of a purchase that happened, whose hold record goes while it runs, refunds nothing', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const key = 'bought-then-hold-gone';
    const buyWithKey = () => buyWith(held.id, key);
    const sold = await buyWithKey();
    expect(sold.statusCode).toBe(201);
    const purchaseId: string = sold.json().id;
    await flushPurchases(api.app);
    expect((await attemptOf(purchaseId)).status).toBe('COMPLETED');
    // The first answer never stored (the api died first); the hold's record goes (its retention
    // ends, or Redis loses it) while the retry waits for its attempt's row.
    await api.app.get(Redis).del(idempotencyKey(buyer.id, digestOfKey(key)));
    const attempts = api.app.get(PaymentAttemptsRepository);
    const begin = attempts.begin.bind(attempts);
    const waited = vi.spyOn(attempts, 'begin').mockImplementationOnce(async (attempt) => {
      await api.app.get(Redis).del(performanceKeys(performance.id).hold(held.id));
      return begin(attempt);
    });
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const retried = await buyWithKey();
    expect(waited).toHaveBeenCalled();
    waited.mockRestore();
    expect(retried.statusCode).toBe(404);
    expect(refund).not.toHaveBeenCalled();
    refund.mockRestore();
    expect((await attemptOf(purchaseId)).status).toBe('COMPLETED');
    expect((await call('GET', `/purchases/${purchaseId}`, { session: buyer })).json()).toMatchObject({
      status: 'PAID',
    });
  });

  it('a cancel of a purchase in PostgreSQL is written there before its refund: Redis losing it afterwards brings nothing back', async () => {
    // A buyer of its own: the per-user hold limit counts the holds the other tests left.
    const own = await createSession(api.app);
    const held = await hold(api.app, own, performance.id, seats(2));
    const sold = await call('POST', '/purchases', { body: { reservationId: held.id }, session: own });
    expect(sold.statusCode, sold.body).toBe(201);
    const purchase = sold.json() as { id: string; seatIds: number[] };
    await flushPurchases(api.app);
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const canceled = await call('POST', `/purchases/${purchase.id}/cancel`, { session: own });
    expect(canceled.statusCode).toBe(200);
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchase.id}`]);
    refund.mockRestore();
    // Redis loses the performance before the cancel entry's flush (a restart without persistence).
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const { rows } = await db.query(
      `SELECT p.status, array_agg(DISTINCT t.status::text) AS tickets FROM purchases p JOIN tickets t ON t.purchase_id = p.id
       WHERE p.id = $1 GROUP BY p.status`,
      [purchase.id],
    );
    expect(rows).toEqual([{ status: 'CANCELED', tickets: ['CANCELED'] }]);
    expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
    expect((await call('GET', `/purchases/${purchase.id}`, { session: own })).json()).toMatchObject({
      status: 'CANCELED',
    });
    // The rebuilt performance has the seats for sale; the cancellation notice went out once.
    await expect(api.app.get(HoldDesk).hold(own.id, performance.id, purchase.seatIds)).resolves.toMatchObject({
      status: 'HELD',
    });
    await flushPurchasesAfterLoss(api.app);
    expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
    const notices = await db.query(`SELECT count(*)::int AS n FROM outbox WHERE message_id = $1`, [
      `purchase-canceled:${purchase.id}`,
    ]);
    expect(notices.rows[0].n).toBeLessThanOrEqual(1);
    await expectEveryCanceledChargeRefunded();
  });

  it('a refund that went through is recorded at once: the flushed cancellation owes nothing, the reconciler refunds nothing', async () => {
    const purchase = await buy(1);
    await flushPurchases(api.app);
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const canceled = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);
    expect(await attemptOf(purchase.id)).toMatchObject({ status: 'REFUNDED', resolved_at: expect.any(Date) });
    await flushPurchases(api.app);
    expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute'`);
    expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBeNull();
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchase.id}`]);
    refund.mockRestore();
    await expectEveryCanceledChargeRefunded();
  });

  it('a purchase not in PostgreSQL yet is refunded after its flush, not at once: owed due at once, refunded once', async () => {
    const purchase = await buy(1);
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const canceled = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);
    // A Redis that lost this cancel would lose the purchase with it: nothing is refunded before
    // PostgreSQL has the cancellation.
    expect(refund).not.toHaveBeenCalled();
    expect((await attemptOf(purchase.id)).status).toBe('CHARGED');
    await flushPurchases(api.app);
    expect((await attemptOf(purchase.id)).status).toBe('REFUND_OWED');
    // Due at once: no PAYMENT_RECONCILE_AFTER_SECONDS to wait for an api refund that never comes.
    expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBe('refunded');
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchase.id}`]);
    refund.mockRestore();
    expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
    await expectEveryCanceledChargeRefunded();
  });
});
