import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, MockInstance, vi } from 'vitest';
import { Role } from '@app/auth';
import {
  ApiHarness,
  AppProcess,
  createSession,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestSession,
  waitUntil,
} from '@app/testing';
import {
  HoldService,
  PaymentGateway,
  PaymentReconciler,
  performanceKeys,
  PurchaseFlusher,
  refundIdempotencyKey,
} from '@app/ticketing';
import { caller, createPerformance, hold } from './purchase-helpers';
import { startTestApi } from './support/api';
import { reconcileUntilSettled, RefundLedger } from './support/payments';

// The reconciler's bound on one gateway call (10 s in production): long enough for the test to see
// the row locked while a refund hangs, even on a loaded machine.
const GATEWAY_TIMEOUT_MS = 2000;

interface AttemptRow {
  purchase_id: string;
  reservation_id: string;
  amount: string;
  currency: string;
  idempotency_key: string;
  charge_id: string | null;
  status: string;
  resolved_at: Date | null;
}

/**
 * P9 — no buyer is charged without a purchase: the api records each payment attempt before the
 * charge, and `batch`'s reconciliation refunds the charges whose purchase never happened.
 */
describe('payment reconciliation (built api killed between charge and sale, real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let admin: TestSession;
  let buyer: TestSession;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));
  const processes: AppProcess[] = [];

  const attempts = async (where: string, values: unknown[]): Promise<AttemptRow[]> =>
    (await db.query(`SELECT * FROM payment_attempts WHERE ${where} ORDER BY created_at`, values)).rows as AttemptRow[];

  /** The ledger's rule: every charge taken was either sold (with its purchase) or refunded. */
  async function expectEveryChargeSoldOrRefunded(): Promise<void> {
    const rows = (
      await db.query(
        `SELECT a.purchase_id, a.status, a.charge_id FROM payment_attempts a
         WHERE a.charge_id IS NOT NULL AND a.status <> 'REFUNDED' AND a.status <> 'COMPLETED'`,
      )
    ).rows;
    expect(rows).toEqual([]);
  }

  async function startApiProcess(extra: Record<string, string> = {}): Promise<{ proc: AppProcess; url: string }> {
    const port = await freePort();
    const proc = new AppProcess('api', { ...api.env, PORT: String(port), ...extra });
    processes.push(proc);
    await proc.waitForLine('api listening');
    return { proc, url: `http://127.0.0.1:${port}/api/v1` };
  }

  let crashStarts: {
    doomed: Promise<{ proc: AppProcess; url: string }>[];
    retry: Promise<{ proc: AppProcess; url: string }>;
  };
  /**
   * The apis of a crash test, started at the first call: one that dies right after its first
   * charge (FAULT_CRASH_AFTER_CHARGE; each crash test takes its own, in turn) and the one a buyer
   * retries on after the crash (as a restarted one: without faults, shared). All three start at
   * once, so the second crash test waits for no start of its own; a doomed api that is not used
   * yet takes no requests.
   */
  const crashApis = async (): Promise<[{ proc: AppProcess; url: string }, { proc: AppProcess; url: string }]> => {
    if (!crashStarts) {
      crashStarts = {
        doomed: [1, 2].map(() => startApiProcess({ FAULT_CRASH_AFTER_CHARGE: 'true' })),
        retry: startApiProcess(),
      };
      // A start that fails before its test awaits it fails that test, not the run (unhandled).
      for (const start of [...crashStarts.doomed, crashStarts.retry]) start.catch(() => undefined);
    }
    const doomed = crashStarts.doomed.shift();
    if (!doomed) throw new Error('every doomed api is used: start more for another crash test');
    return Promise.all([doomed, crashStarts.retry]);
  };

  const postPurchase = (url: string, reservationId: string, key: string) =>
    fetch(`${url}/purchases`, {
      method: 'POST',
      headers: { ...buyer.headers, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ reservationId }),
    });

  /**
   * The api leaves a sold purchase's attempt CHARGED; `batch` completes it. Runs the reconciler
   * until the attempts of `reservationId` are closed, none refunded.
   */
  async function reconcileUntilClosed(reservationId: string): Promise<void> {
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const ids = (await attempts('reservation_id = $1', [reservationId])).map((row) => row.purchase_id);
    await reconcileUntilSettled(api, db, ids);
    expect(refund).not.toHaveBeenCalled();
    refund.mockRestore();
  }

  beforeAll(async () => {
    api = await startTestApi({
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      // The killed api's claim lapses after 1 s instead of 5 before a retry takes over (every api
      // process started here gets it too: they run on this env).
      IDEMPOTENCY_CLAIM_LEASE_MS: '1000',
      PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: String(GATEWAY_TIMEOUT_MS),
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 100, { price: 1050 });
  });
  afterAll(async () => {
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((proc) => proc.exited));
    await db?.end();
    await api?.close();
  });

  it(
    'refunds the charge of an api killed between charge and sale once its hold has expired, not before; the retry with the same key is a clear 409, a new hold buys',
    async () => {
      const held = await hold(api.app, buyer, performance.id, seats(2));
      const key = `crash-${randomUUID()}`;

      const [doomed, restarted] = await crashApis();
      await expect(postPurchase(doomed.url, held.id, key)).rejects.toThrow();
      expect(await doomed.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });

      // Charged, not sold: the attempt was recorded before the charge and holds the charge.
      const [charged] = await attempts('reservation_id = $1', [held.id]);
      expect(charged).toMatchObject({ status: 'CHARGED', amount: '2100', currency: 'KRW', resolved_at: null });
      expect(charged.charge_id).toEqual(expect.any(String));
      expect(charged.idempotency_key).toBe(charged.purchase_id);
      expect((await api.app.get(HoldService).get(buyer.id, held.id)).status).toBe('HELD');

      // A built batch leaves it open while the hold can still be bought (a retry with the same key
      // would sell it on this very charge, as after a failover that lost the sale), and refunds it
      // once the hold's time has run out.
      const batch = new AppProcess('batch', { ...api.env, PAYMENT_RECONCILE_AFTER_SECONDS: '1' });
      processes.push(batch);
      const left = await batch.waitForLine(
        `payment attempt ${charged.purchase_id} of reservation ${held.id} left open`,
      );
      expect(left).toMatchObject({ boxoffice: { payment_reconcile: { outcome: 'deferred' } } });
      expect(await attempts('reservation_id = $1', [held.id])).toMatchObject([{ status: 'CHARGED' }]);
      // The hold expires: its expiry moved into the past, in its record and its seats' holder entries.
      const keys = performanceKeys(performance.id);
      const past = Date.now() - 1000;
      await api.app.get(Redis).hset(keys.hold(held.id), 'expiresAt', String(past));
      await api.app
        .get(Redis)
        .hset(keys.seatHolds, ...held.seatIds.flatMap((id) => [String(id), `${past}:${held.id}`]));
      const line = await batch.waitForLine(
        `payment attempt ${charged.purchase_id} of reservation ${held.id} reconciled`,
      );
      expect(line).toMatchObject({
        boxoffice: {
          payment_reconcile: { outcome: 'refunded', amount: 2100, currency: 'KRW', charge_id: charged.charge_id },
        },
      });
      batch.kill('SIGTERM');
      expect(await batch.exited).toEqual({ code: 0, signal: null });
      const [refunded] = await attempts('reservation_id = $1', [held.id]);
      expect(refunded).toMatchObject({
        status: 'REFUNDED',
        charge_id: charged.charge_id,
        resolved_at: expect.any(Date),
      });

      // The buyer retries with the same key on another api (as after a restart): told to wait while the dead
      // request's claim lapses, then a clear 409 — never a 5xx, never a second charge.
      let retry!: Response;
      await waitUntil(
        async () => {
          retry = await postPurchase(restarted.url, held.id, key);
          expect(retry.status).toBeLessThan(500);
          return retry.status !== 409 || retry.headers.get('retry-after') === null;
        },
        'the dead request’s claim to lapse',
        15_000,
        250,
      );
      expect(retry.status).toBe(409);
      expect(await retry.json()).toMatchObject({ statusCode: 409, message: 'reservation has expired' });
      expect(await attempts('reservation_id = $1', [held.id])).toEqual([refunded]);

      // Holding the seats again and buying with a new key works, charged once more.
      const again = await hold(api.app, buyer, performance.id, held.seatIds);
      const bought = await postPurchase(restarted.url, again.id, `crash-${randomUUID()}`);
      expect(bought.status).toBe(201);
      const purchase = (await bought.json()) as { id: string; amount: number };
      expect(purchase.amount).toBe(2100);
      const rows = await attempts('reservation_id = ANY($1::uuid[])', [[held.id, again.id]]);
      expect(rows.map((row) => row.status)).toEqual(['REFUNDED', 'CHARGED']);
      expect(rows[1].purchase_id).toBe(purchase.id);
      await reconcileUntilClosed(again.id);
      expect(
        (await attempts('reservation_id = ANY($1::uuid[])', [[held.id, again.id]])).map((row) => row.status),
      ).toEqual(['REFUNDED', 'COMPLETED']);
      await expectEveryChargeSoldOrRefunded();
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'sells to a same-key retry that comes before the reconciliation, on the first charge, and the reconciliation completes it',
    async () => {
      const held = await hold(api.app, buyer, performance.id, seats(1));
      const key = `crash-${randomUUID()}`;
      const [doomed, restarted] = await crashApis();
      await expect(postPurchase(doomed.url, held.id, key)).rejects.toThrow();
      expect(await doomed.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const [charged] = await attempts('reservation_id = $1', [held.id]);
      expect(charged.status).toBe('CHARGED');

      let retry!: Response;
      await waitUntil(
        async () => {
          retry = await postPurchase(restarted.url, held.id, key);
          expect(retry.status).toBeLessThan(500);
          return retry.status !== 409 || retry.headers.get('retry-after') === null;
        },
        'the dead request’s claim to lapse',
        15_000,
        250,
      );
      expect(retry.status).toBe(201);
      expect(((await retry.json()) as { id: string }).id).toBe(charged.purchase_id);
      // The same idempotency key at the gateway: the charge of the dead request, not a second one.
      // The attempt stays CHARGED after the answer, until `batch` completes it.
      expect(await attempts('reservation_id = $1', [held.id])).toEqual([{ ...charged, touched_at: expect.any(Date) }]);
      const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
      await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute'`);
      expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBe('completed');
      expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBeNull();
      expect(refund).not.toHaveBeenCalled();
      refund.mockRestore();
      expect(await attempts('reservation_id = $1', [held.id])).toEqual([
        { ...charged, status: 'COMPLETED', touched_at: expect.any(Date), resolved_at: expect.any(Date) },
      ]);
      await expectEveryChargeSoldOrRefunded();
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('refunds and records the charge of a sale refused after it (the hold expired between charge and sale)', async () => {
    const gateway = api.app.get(PaymentGateway);
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const charge = gateway.charge.bind(gateway);
    const refund = vi.spyOn(gateway, 'refund');
    vi.spyOn(gateway, 'charge').mockImplementationOnce(async (request) => {
      await api.app.get(Redis).hset(performanceKeys(performance.id).hold(held.id), 'expiresAt', String(Date.now() - 1));
      return charge(request);
    });
    const res = await caller(api.app)('POST', '/purchases', {
      body: { reservationId: held.id },
      session: buyer,
      headers: { 'idempotency-key': `refused-${randomUUID()}` },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toBe('reservation has expired');
    const [attempt] = await attempts('reservation_id = $1', [held.id]);
    expect(attempt).toMatchObject({ status: 'REFUNDED', amount: '1050', resolved_at: expect.any(Date) });
    expect(refund).toHaveBeenCalledWith(expect.objectContaining({ chargeId: attempt.charge_id }));
    vi.restoreAllMocks();
    await expectEveryChargeSoldOrRefunded();
  });

  it('completes a stale attempt whose purchase happened, and two reconcilers at once refund each charge once', async () => {
    // A purchase made: the api leaves its attempt open (CHARGED) for `batch` to complete.
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const sold = await caller(api.app)('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode).toBe(201);
    expect(await attempts('purchase_id = $1', [sold.json().id])).toMatchObject([{ status: 'CHARGED' }]);

    // Attempts charged whose request died before the sale.
    const orphans = Array.from({ length: 12 }, () => randomUUID());
    for (const id of orphans) {
      await db.query(
        `INSERT INTO payment_attempts
           (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, charge_id, status)
         VALUES ($1, $2, $3, $4, 1050, 'KRW', $5, $6, 'CHARGED')`,
        [id, randomUUID(), buyer.id, performance.id, id, `ch_${id}`],
      );
    }

    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    // Two reconcilers at once can leave an attempt for a later pass: one's claim may find the row
    // locked for an instant by the other's look for a stale attempt (its FOR UPDATE SKIP LOCKED
    // skips it: 'contended', touched, due again after PAYMENT_RECONCILE_AFTER_SECONDS). Later passes
    // (made due at once) settle it; what must hold is that each charge is refunded once.
    const outcomes = await reconcileUntilSettled(api, db, [sold.json().id as string, ...orphans], { reconcilers: 2 });
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'refunded')).toHaveLength(orphans.length);
    expect(refund.mock.calls.map(([request]) => request.chargeId).sort()).toEqual(
      orphans.map((id) => `ch_${id}`).sort(),
    );
    refund.mockRestore();
    const [completed] = await attempts('purchase_id = $1', [sold.json().id]);
    expect(completed).toMatchObject({ status: 'COMPLETED', resolved_at: expect.any(Date) });
    await expectEveryChargeSoldOrRefunded();
  });

  it('completes, never refunds, an open attempt whose purchase is only in PostgreSQL (flushed, gone from Redis)', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const sold = await caller(api.app)('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode).toBe(201);
    const purchaseId = sold.json().id as string;
    await waitUntil(
      async () => {
        await api.app.get(PurchaseFlusher).flushOnce();
        return (await db.query('SELECT 1 FROM purchases WHERE id = $1', [purchaseId])).rowCount === 1;
      },
      'the purchase in PostgreSQL',
      15_000,
      100,
    );
    // Flushed but not (yet) marked: the hold and the purchase left Redis, the attempt is open.
    const keys = performanceKeys(performance.id);
    await api.app.get(Redis).del(keys.hold(held.id), keys.purchase(purchaseId));
    await db.query(
      `UPDATE payment_attempts SET status = 'CHARGED', resolved_at = NULL, touched_at = touched_at - interval '1 minute'
       WHERE purchase_id = $1`,
      [purchaseId],
    );

    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBe('completed');
    expect(refund).not.toHaveBeenCalled();
    refund.mockRestore();
    expect(await attempts('purchase_id = $1', [purchaseId])).toMatchObject([
      { status: 'COMPLETED', charge_id: `ch_${purchaseId}`, resolved_at: expect.any(Date) },
    ]);
    await expectEveryChargeSoldOrRefunded();
  });

  /** A charged attempt whose request died before the sale (no hold behind it), untouched for an hour. */
  async function orphan(): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, charge_id, status,
          touched_at)
       VALUES ($1, $2, $3, $4, 1050, 'KRW', $5, $6, 'CHARGED', clock_timestamp() - interval '1 hour')`,
      [id, randomUUID(), buyer.id, performance.id, id, `ch_${id}`],
    );
    return id;
  }

  /** Whether another session can lock the attempt's row now (as the flusher's batch must). */
  async function rowIsFree(purchaseId: string): Promise<boolean> {
    await db.query('BEGIN');
    try {
      await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1 FOR UPDATE NOWAIT', [purchaseId]);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    } finally {
      await db.query('ROLLBACK');
    }
  }

  /** The reconciler's log lines about attempt `purchaseId` seen by `logged`: message and outcome. */
  function reconcileLines(logged: MockInstance, purchaseId: string): { message: string; outcome: string }[] {
    return logged.mock.calls
      .map(
        ([entry]) =>
          entry as { message?: string; boxoffice?: { payment_reconcile?: { purchase_id: string; outcome: string } } },
      )
      .filter((entry) => entry.boxoffice?.payment_reconcile?.purchase_id === purchaseId)
      .map((entry) => ({ message: entry.message ?? '', outcome: entry.boxoffice!.payment_reconcile!.outcome }));
  }

  /** Holds the reconciler's next Redis read (its pipeline) until `release` is called. */
  function holdNextRedisRead(): { reached: () => boolean; release: () => void } {
    const redis = api.app.get(Redis);
    const pipeline = redis.pipeline.bind(redis);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached = false;
    vi.spyOn(redis, 'pipeline').mockImplementationOnce((...args: Parameters<Redis['pipeline']>) => {
      const held = pipeline(...args);
      const exec = held.exec.bind(held);
      held.exec = (async () => {
        reached = true;
        await gate;
        return exec();
      }) as typeof held.exec;
      return held;
    });
    return { reached: () => reached, release };
  }

  it('holds no row lock while it reads Redis: a read that does not answer leaves the attempt free for the flusher', async () => {
    const id = await orphan();
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const read = holdNextRedisRead();
    const reconciled = api.app.get(PaymentReconciler).reconcileOnce();
    await waitUntil(async () => read.reached(), 'the reconciler reading Redis', 10_000, 10);
    // Claimed (touched), but not locked: a batch completing it would not wait.
    expect(await rowIsFree(id)).toBe(true);
    expect(await attempts('purchase_id = $1', [id])).toMatchObject([{ status: 'CHARGED' }]);
    read.release();
    expect(await reconciled).toBe('refunded');
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${id}`]);
    vi.restoreAllMocks();
    await expectEveryChargeSoldOrRefunded();
  });

  for (const { what, outcome, line, meanwhile } of [
    {
      what: 'a same-key retry touched after the claim to that request',
      outcome: 'superseded',
      line: 'left to the request that took it up \\(touched or settled since the claim\\)',
      // What a retry's `begin` does to the attempt.
      meanwhile: async (id: string) => {
        await db.query('UPDATE payment_attempts SET touched_at = clock_timestamp() WHERE purchase_id = $1', [id]);
        return async () => undefined;
      },
    },
    {
      what: 'whose row another session holds unchanged (another reconciler looking) for a later pass',
      outcome: 'contended',
      line: 'left for a later pass: its row was locked by another session \\(most often another reconciler\\), due again in 1 s',
      // What another reconciler's look for a stale attempt does for an instant: the row locked, not changed.
      meanwhile: async (id: string) => {
        await db.query('BEGIN');
        await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1 FOR UPDATE', [id]);
        return async () => void (await db.query('ROLLBACK'));
      },
    },
  ]) {
    it(`leaves an attempt ${what}, says so (${outcome}), and refunds it once it is stale again`, async () => {
      const id = await orphan();
      const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
      const read = holdNextRedisRead();
      const reconciler = api.app.get(PaymentReconciler);
      const reconciled = reconciler.reconcileOnce();
      await waitUntil(async () => read.reached(), 'the reconciler reading Redis', 10_000, 10);
      const after = await meanwhile(id);
      const logged = vi.spyOn(Logger.prototype, 'log');
      read.release();
      try {
        expect(await reconciled).toBe(outcome);
      } finally {
        await after();
      }
      expect(reconcileLines(logged, id)).toEqual([
        { message: expect.stringMatching(new RegExp(`^payment attempt ${id} of reservation \\S+ ${line}$`)), outcome },
      ]);
      expect(refund).not.toHaveBeenCalled();
      expect(await attempts('purchase_id = $1', [id])).toMatchObject([{ status: 'CHARGED', resolved_at: null }]);
      // The request died as well, or the other reconciler moved on: stale again, it is refunded once.
      await db.query(
        `UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`,
        [id],
      );
      expect(await reconciler.reconcileOnce()).toBe('refunded');
      expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${id}`]);
      vi.restoreAllMocks();
      await expectEveryChargeSoldOrRefunded();
    });
  }

  it('gives up a refund the gateway does not answer after PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, unlocking the attempt, and asks it again on a later pass as the same refund', async () => {
    const id = await orphan();
    // The processor makes the refund, but its answer never comes (a timeout at the worst moment).
    const ledger = new RefundLedger();
    const { refund } = ledger.install(api.app.get(PaymentGateway));
    ledger.loseNextAnswer('silence');
    const reconciler = api.app.get(PaymentReconciler);
    const startedAt = Date.now();
    const reconciled = reconciler.reconcileOnce();
    await waitUntil(async () => refund.mock.calls.length === 1, 'the refund asked', 10_000, 10);
    // Under its row lock while the gateway refunds: a same-key retry's `begin` is answered busy meanwhile.
    expect(await rowIsFree(id)).toBe(false);
    await expect(reconciled).rejects.toThrow(`payment gateway refund unanswered after ${GATEWAY_TIMEOUT_MS} ms`);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(GATEWAY_TIMEOUT_MS - 50);
    expect(await rowIsFree(id)).toBe(true);
    expect(await attempts('purchase_id = $1', [id])).toMatchObject([{ status: 'CHARGED', resolved_at: null }]);
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`, [
      id,
    ]);
    expect(await reconciler.reconcileOnce()).toBe('refunded');
    // Asked twice with one key: the second ask answered the first refund, the money moved once.
    const asked = { chargeId: `ch_${id}`, idempotencyKey: refundIdempotencyKey(id), amount: 1050, currency: 'KRW' };
    expect(refund.mock.calls).toEqual([[asked], [asked]]);
    expect(ledger.refundsOf(`ch_${id}`)).toEqual([{ request: asked, asks: 2 }]);
    ledger.expectMoneyMovedOnce();
    vi.restoreAllMocks();
    await expectEveryChargeSoldOrRefunded();
  }, 60_000);

  it('records the refund of a canceled purchase at once (REFUNDED), so its charge is never refunded again', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const sold = await caller(api.app)('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode).toBe(201);
    const purchaseId = sold.json().id as string;
    // In PostgreSQL first: the cancel writes its cancellation there and refunds at once.
    await api.app.get(PurchaseFlusher).flushOnce();
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const canceled = await caller(api.app)('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${purchaseId}`]);
    expect(await attempts('purchase_id = $1', [purchaseId])).toMatchObject([
      { status: 'REFUNDED', resolved_at: expect.any(Date) },
    ]);
    // Even with every trace of the purchase gone, nothing is left for the reconciler to refund.
    const keys = performanceKeys(performance.id);
    await api.app.get(Redis).del(keys.hold(held.id), keys.purchase(purchaseId));
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute'`);
    expect(await api.app.get(PaymentReconciler).reconcileOnce()).toBeNull();
    expect(refund).toHaveBeenCalledTimes(1);
    refund.mockRestore();
  });
});
