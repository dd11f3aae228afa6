import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase } from '@app/testing';
import { DatabaseUnavailableError, ROW_LOCK_TIMEOUT_MS } from '../database-unavailable';
import { PaymentAttemptStatus } from '../entities/payment-attempt.entity';
import { PurchaseStatus } from '../entities/purchase.entity';
import { PaymentAttemptsRepository } from './payment-attempts.repository';
import { PerformanceCancellationsRepository } from './performance-cancellations.repository';
import { PurchaseRecord, PurchaseRepository } from './purchase.repository';

const BOUNDS = { statementTimeoutMs: 30_000 };

/**
 * A canceled purchase's refund is owed durably: the flush of its cancellation (or of the purchase
 * written already canceled) marks its payment attempt REFUND_OWED unless a refund was recorded
 * (REFUNDED), and the reconciler's claim finds it. Every status an attempt can have when the
 * cancellation arrives, and replays of the same batch, against real PostgreSQL.
 */
describe('payment attempts of canceled purchases: REFUND_OWED (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let purchases: PurchaseRepository;
  let attempts: PaymentAttemptsRepository;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    purchases = new PurchaseRepository(db);
    attempts = new PaymentAttemptsRepository(db);
    userId = await insertUser(db, 'buyer@example.test', 'Buyer');
    ({ performanceId } = await insertShow(db));
  });
  afterAll(() => close?.());

  /** A purchase without seats (PAID unless told), and its attempt with `status` and no charge noted, touched an hour ago. */
  const purchaseWithAttempt = async (
    status: PaymentAttemptStatus,
    purchaseStatus = PurchaseStatus.Paid,
  ): Promise<PurchaseRecord> => {
    const id = randomUUID();
    const reservationId = randomUUID();
    await db.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status, touched_at)
       VALUES ($1, $2, $3, $4, 1000, 'KRW', $6, $5, now() - interval '1 hour')`,
      [id, reservationId, userId, performanceId, status, id],
    );
    const canceled = purchaseStatus === PurchaseStatus.Canceled;
    return {
      id,
      reservationId,
      userId,
      performanceId,
      seatIds: [],
      amount: 1000,
      currency: 'KRW',
      chargeId: `ch_${id}`,
      status: purchaseStatus,
      createdAt: new Date(),
      canceledAt: canceled ? new Date() : null,
    };
  };

  const attemptOf = async (id: string) => {
    const [row] = await db.query(
      `SELECT status, charge_id, resolved_at, touched_at > now() - interval '1 minute' AS touched_now
       FROM payment_attempts WHERE purchase_id = $1`,
      [id],
    );
    return row as { status: string; charge_id: string | null; resolved_at: Date | null; touched_now: boolean };
  };

  // Written by the flush: due to the reconciler at once (the api refunds only what PostgreSQL had canceled).
  const owed = (id: string) => ({
    status: 'REFUND_OWED',
    charge_id: `ch_${id}`,
    resolved_at: null,
    touched_now: false,
  });

  it.each([PaymentAttemptStatus.Pending, PaymentAttemptStatus.Charged, PaymentAttemptStatus.Completed])(
    'the cancellation of a flushed purchase makes its %s attempt REFUND_OWED, due at once, with the charge; a replay changes nothing',
    async (status) => {
      const purchase = await purchaseWithAttempt(status);
      await purchases.writeBatch({ purchases: [purchase], cancellations: [] }, BOUNDS);
      // The flush completes an open attempt; the reconciler may have completed it before.
      expect((await attemptOf(purchase.id)).status).toBe('COMPLETED');
      if (status !== PaymentAttemptStatus.Completed) {
        await db.query(`UPDATE payment_attempts SET status = $2 WHERE purchase_id = $1`, [purchase.id, status]);
      }
      const cancellation = {
        purchases: [],
        cancellations: [{ purchaseId: purchase.id, canceledAt: new Date(), canceledBy: 'buyer' as const }],
      };
      await purchases.writeBatch(cancellation, BOUNDS);
      expect(await attemptOf(purchase.id)).toEqual(owed(purchase.id));
      await purchases.writeBatch(cancellation, BOUNDS);
      expect(await attemptOf(purchase.id)).toEqual(owed(purchase.id));
    },
  );

  it.each([PaymentAttemptStatus.Pending, PaymentAttemptStatus.Charged, PaymentAttemptStatus.Completed])(
    'a purchase written already CANCELED makes its %s attempt REFUND_OWED',
    async (status) => {
      const purchase = await purchaseWithAttempt(status, PurchaseStatus.Canceled);
      await purchases.writeBatch({ purchases: [purchase], cancellations: [] }, BOUNDS);
      expect(await attemptOf(purchase.id)).toEqual(owed(purchase.id));
    },
  );

  it('a token an older version wrote without its digest (a roll): every statement that settles the attempt keeps its SHA-256 as it clears the token', async () => {
    const withOldToken = async (status: PaymentAttemptStatus, purchaseStatus?: PurchaseStatus) => {
      const purchase = await purchaseWithAttempt(status, purchaseStatus);
      await oldToken(purchase.id);
      return purchase;
    };
    const oldToken = (id: string) =>
      db.query(
        `UPDATE payment_attempts SET payment_token = 'pm_' || purchase_id, payment_token_sha256 = NULL WHERE purchase_id = $1`,
        [id],
      );
    const tokenOf = async (id: string) =>
      (
        (await db.query(`SELECT payment_token, payment_token_sha256 FROM payment_attempts WHERE purchase_id = $1`, [
          id,
        ])) as unknown[]
      )[0];
    const cleared = (id: string) => ({
      payment_token: null,
      payment_token_sha256: createHash('sha256').update(`pm_${id}`).digest(),
    });

    const flushed = await withOldToken(PaymentAttemptStatus.Pending);
    await purchases.writeBatch({ purchases: [flushed], cancellations: [] }, BOUNDS);
    expect(await tokenOf(flushed.id)).toEqual(cleared(flushed.id));

    await oldToken(flushed.id);
    await purchases.writeBatch(
      { purchases: [], cancellations: [{ purchaseId: flushed.id, canceledAt: new Date(), canceledBy: 'buyer' }] },
      BOUNDS,
    );
    expect((await attemptOf(flushed.id)).status).toBe('REFUND_OWED');
    expect(await tokenOf(flushed.id)).toEqual(cleared(flushed.id));

    const declined = await withOldToken(PaymentAttemptStatus.Pending);
    expect(await attempts.resolve(declined.id, PaymentAttemptStatus.Declined)).toBe(true);
    expect(await tokenOf(declined.id)).toEqual(cleared(declined.id));

    const refunded = await withOldToken(PaymentAttemptStatus.Charged);
    expect(await attempts.markRefunded(refunded.id)).toBe(true);
    expect(await tokenOf(refunded.id)).toEqual(cleared(refunded.id));
  });

  it('a cancellation of a purchase PostgreSQL does not have owes nothing yet (the refund follows a durable cancellation)', async () => {
    const unwritten = await purchaseWithAttempt(PaymentAttemptStatus.Charged);
    await purchases.writeBatch(
      {
        purchases: [],
        cancellations: [{ purchaseId: unwritten.id, canceledAt: new Date(), canceledBy: 'buyer' as const }],
      },
      BOUNDS,
    );
    expect((await attemptOf(unwritten.id)).status).toBe('CHARGED');
    expect(await purchases.cancelWritten(unwritten.id, new Date(), 'buyer')).toBe('absent');
    expect((await attemptOf(unwritten.id)).status).toBe('CHARGED');
  });

  it('cancelWritten of a flushed purchase: canceled there, its attempt owed and touched now (the api refunds next)', async () => {
    const purchase = await purchaseWithAttempt(PaymentAttemptStatus.Charged);
    await purchases.writeBatch({ purchases: [purchase], cancellations: [] }, BOUNDS);
    expect(await purchases.cancelWritten(purchase.id, new Date(), 'buyer')).toBe('canceled');
    expect(await attemptOf(purchase.id)).toEqual({ ...owed(purchase.id), touched_now: true });
    expect(await purchases.cancelWritten(purchase.id, new Date(), 'buyer')).toBe('canceled');
  });

  it('a purchase canceled and its cancellation in one batch: REFUND_OWED once', async () => {
    const purchase = await purchaseWithAttempt(PaymentAttemptStatus.Charged, PurchaseStatus.Canceled);
    await purchases.writeBatch(
      {
        purchases: [purchase],
        cancellations: [{ purchaseId: purchase.id, canceledAt: new Date(), canceledBy: 'buyer' as const }],
      },
      BOUNDS,
    );
    expect(await attemptOf(purchase.id)).toEqual(owed(purchase.id));
  });

  it('a refund recorded before the flush (REFUNDED) stays so, whichever way the cancellation arrives, replays included', async () => {
    const early = await purchaseWithAttempt(PaymentAttemptStatus.Charged, PurchaseStatus.Canceled);
    expect(await attempts.markRefunded(early.id)).toBe(true);
    await purchases.writeBatch(
      {
        purchases: [early],
        cancellations: [{ purchaseId: early.id, canceledAt: new Date(), canceledBy: 'buyer' as const }],
      },
      BOUNDS,
    );
    expect((await attemptOf(early.id)).status).toBe('REFUNDED');

    const flushed = await purchaseWithAttempt(PaymentAttemptStatus.Charged);
    await purchases.writeBatch({ purchases: [flushed], cancellations: [] }, BOUNDS);
    expect(await attempts.markRefunded(flushed.id)).toBe(true);
    const cancellation = {
      purchases: [],
      cancellations: [{ purchaseId: flushed.id, canceledAt: new Date(), canceledBy: 'buyer' as const }],
    };
    await purchases.writeBatch(cancellation, BOUNDS);
    await purchases.writeBatch(cancellation, BOUNDS);
    expect(await attemptOf(flushed.id)).toMatchObject({ status: 'REFUNDED', resolved_at: expect.any(Date) });
  });

  it('markRefunded ends an attempt from every status a canceled purchase can leave it in, and nothing else', async () => {
    for (const status of [
      PaymentAttemptStatus.Pending,
      PaymentAttemptStatus.Charged,
      PaymentAttemptStatus.Completed,
      PaymentAttemptStatus.RefundOwed,
    ]) {
      const purchase = await purchaseWithAttempt(status);
      expect(await attempts.markRefunded(purchase.id), status).toBe(true);
      expect((await attemptOf(purchase.id)).status).toBe('REFUNDED');
    }
    for (const status of [PaymentAttemptStatus.Refunded, PaymentAttemptStatus.Declined]) {
      const purchase = await purchaseWithAttempt(status);
      expect(await attempts.markRefunded(purchase.id), status).toBe(false);
      expect((await attemptOf(purchase.id)).status).toBe(status);
    }
    expect(await attempts.markRefunded(randomUUID())).toBe(false);
  });

  it('resolve answers whether it ended an open attempt', async () => {
    const open = await purchaseWithAttempt(PaymentAttemptStatus.RefundOwed);
    expect(await attempts.resolve(open.id, PaymentAttemptStatus.Refunded)).toBe(true);
    expect(await attempts.resolve(open.id, PaymentAttemptStatus.Refunded)).toBe(false);
  });

  it('markRefunded waits for a row held elsewhere at most ROW_LOCK_TIMEOUT_MS, then rejects with DatabaseUnavailableError', async () => {
    const purchase = await purchaseWithAttempt(PaymentAttemptStatus.Completed);
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT 1 FROM payment_attempts WHERE purchase_id = $1 FOR UPDATE`, [purchase.id]);
      const startedAt = performance.now();
      await expect(attempts.markRefunded(purchase.id)).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(ROW_LOCK_TIMEOUT_MS - 50);
      expect(holder.isTransactionActive).toBe(true);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect((await attemptOf(purchase.id)).status).toBe('COMPLETED');
    expect(await attempts.markRefunded(purchase.id)).toBe(true);
  }, 30_000);

  it('the reconciler claims a stale REFUND_OWED attempt through the open attempts index; once REFUNDED, none', async () => {
    await db.query(
      `UPDATE payment_attempts SET status = 'REFUNDED' WHERE status IN ('PENDING', 'CHARGED', 'REFUND_OWED')`,
    );
    const purchase = await purchaseWithAttempt(PaymentAttemptStatus.RefundOwed);
    // The claim's predicate, as claimStale sends it; the table is tiny, so sequential scans are
    // ruled out for the plan to show whether the partial index can serve it at all.
    const plan: { 'QUERY PLAN': string }[] = await db.transaction(async (manager) => {
      await manager.query('SET LOCAL enable_seqscan = off');
      return manager.query(
        `EXPLAIN SELECT purchase_id FROM payment_attempts
         WHERE status IN ('PENDING', 'CHARGED', 'REFUND_OWED') AND touched_at < statement_timestamp() - interval '1 second'
         ORDER BY touched_at LIMIT 1`,
      );
    });
    expect(plan.map((line) => line['QUERY PLAN']).join('\n')).toContain('payment_attempts_open');
    expect(await attempts.claimStale(60_000)).toMatchObject({
      purchaseId: purchase.id,
      status: PaymentAttemptStatus.RefundOwed,
    });
    expect(await attempts.markRefunded(purchase.id)).toBe(true);
    await db.query(`UPDATE payment_attempts SET touched_at = now() - interval '1 hour' WHERE purchase_id = $1`, [
      purchase.id,
    ]);
    expect(await attempts.claimStale(60_000)).toBeNull();
  });

  it('openFigures counts the open attempts per status and ages the oldest: from creation, a refund owed from its cancellation', async () => {
    await db.query(
      `UPDATE payment_attempts SET status = 'REFUNDED' WHERE status IN ('PENDING', 'CHARGED', 'REFUND_OWED')`,
    );
    expect(await attempts.openFigures()).toEqual([
      { status: 'PENDING', count: 0, oldestSeconds: 0 },
      { status: 'CHARGED', count: 0, oldestSeconds: 0 },
      { status: 'REFUND_OWED', count: 0, oldestSeconds: 0 },
    ]);
    const createdAgo = async (purchase: PurchaseRecord, interval: string) =>
      db.query(`UPDATE payment_attempts SET created_at = now() - $2::interval WHERE purchase_id = $1`, [
        purchase.id,
        interval,
      ]);
    await createdAgo(await purchaseWithAttempt(PaymentAttemptStatus.Pending), '2 hours');
    await createdAgo(await purchaseWithAttempt(PaymentAttemptStatus.Charged), '10 minutes');
    await createdAgo(await purchaseWithAttempt(PaymentAttemptStatus.Charged), '1 minute');
    await createdAgo(await purchaseWithAttempt(PaymentAttemptStatus.Completed), '3 days');
    // Bought three days ago, canceled five minutes ago: owed for five minutes.
    const canceled = await purchaseWithAttempt(PaymentAttemptStatus.Completed, PurchaseStatus.Canceled);
    await purchases.writeBatch({ purchases: [canceled], cancellations: [] }, BOUNDS);
    await createdAgo(canceled, '3 days');
    await db.query(`UPDATE purchases SET canceled_at = now() - interval '5 minutes' WHERE id = $1`, [canceled.id]);

    const figures = await attempts.openFigures();
    expect(figures.map(({ status, count }) => [status, count])).toEqual([
      ['PENDING', 1],
      ['CHARGED', 2],
      ['REFUND_OWED', 1],
    ]);
    const oldest = Object.fromEntries(figures.map(({ status, oldestSeconds }) => [status, oldestSeconds]));
    // now() is the transaction's start; the statement reads clock_timestamp(): a few ms later.
    expect(oldest.PENDING).toBeGreaterThanOrEqual(7200);
    expect(oldest.PENDING).toBeLessThan(7260);
    expect(oldest.CHARGED).toBeGreaterThanOrEqual(600);
    expect(oldest.CHARGED).toBeLessThan(660);
    expect(oldest.REFUND_OWED).toBeGreaterThanOrEqual(300);
    expect(oldest.REFUND_OWED).toBeLessThan(360);
  });

  it("a purchase's refund failure noted for the operator goes once its refund is settled (made, recorded or declined), and is not noted after", async () => {
    const cancellations = new PerformanceCancellationsRepository(db);
    await db.query(`UPDATE performances SET status = 'CANCELED' WHERE id = $1`, [performanceId]);
    await db.query(`INSERT INTO performance_cancellations (performance_id) VALUES ($1) ON CONFLICT DO NOTHING`, [
      performanceId,
    ]);
    const failing = async () =>
      (
        (await db.query(`SELECT purchase_id FROM performance_refund_failures WHERE performance_id = $1`, [
          performanceId,
        ])) as { purchase_id: string }[]
      ).map((row) => row.purchase_id);
    const byReconciler = await purchaseWithAttempt(PaymentAttemptStatus.RefundOwed);
    const byApi = await purchaseWithAttempt(PaymentAttemptStatus.RefundOwed);
    const declined = await purchaseWithAttempt(PaymentAttemptStatus.Pending);
    const stillOwed = await purchaseWithAttempt(PaymentAttemptStatus.RefundOwed);
    for (const purchase of [byReconciler, byApi, declined, stillOwed]) {
      await cancellations.recordFailure(performanceId, purchase.id, 'the refund was not made now');
    }
    expect((await failing()).sort()).toEqual([byReconciler.id, byApi.id, declined.id, stillOwed.id].sort());

    expect(await attempts.resolve(byReconciler.id, PaymentAttemptStatus.Refunded, `ch_${byReconciler.id}`)).toBe(true);
    expect(await attempts.markRefunded(byApi.id)).toBe(true);
    expect(await attempts.resolve(declined.id, PaymentAttemptStatus.Declined)).toBe(true);
    expect(await failing()).toEqual([stillOwed.id]);
    // Settled already: a late note of a failure (a step that lost the race) is not written.
    await cancellations.recordFailure(performanceId, byApi.id, 'the refund was not made now');
    expect(await failing()).toEqual([stillOwed.id]);
    // A resolve of an attempt no longer open changes nothing.
    expect(await attempts.resolve(byApi.id, PaymentAttemptStatus.Refunded)).toBe(false);
  });

  it('notes no refund failure for a free purchase PostgreSQL has, and drops one noted before it was written', async () => {
    const cancellations = new PerformanceCancellationsRepository(db);
    await db.query(`INSERT INTO performance_cancellations (performance_id) VALUES ($1) ON CONFLICT DO NOTHING`, [
      performanceId,
    ]);
    const noted = async (id: string) =>
      (await db.query(`SELECT 1 FROM performance_refund_failures WHERE purchase_id = $1`, [id])).length;
    const free = randomUUID();
    await db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, status, created_at)
       VALUES ($1, $2, $3, $4, 0, 'KRW', 'PAID', now())`,
      [free, randomUUID(), userId, performanceId],
    );
    await cancellations.recordFailure(performanceId, free, 'the cancel failed: redis down');
    expect(await noted(free)).toBe(0);

    // Not written yet when its cancel failed: noted (its amount is not known), then dropped once canceled.
    const unwritten = randomUUID();
    await cancellations.recordFailure(performanceId, unwritten, 'the cancel failed: redis down');
    expect(await noted(unwritten)).toBe(1);
    await cancellations.clearFailure(unwritten);
    expect(await noted(unwritten)).toBe(0);
  });
});
