import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { PaymentAttemptsRepository, PaymentAttemptStatus } from '@app/database';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { HoldService, PaymentGateway } from '@app/ticketing';
import { caller, createPerformance, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

/**
 * P9's attempt writes are group-committed: concurrent purchases share the `begin` and
 * `markCharged` statements (real PostgreSQL and Redis), each still getting its own row's answer.
 */
describe('payment attempts written in batches (in-process api, real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  // A buyer holds at most MAX_SEATS_PER_RESERVATION (20 here) seats at once: 200 purchases need 10.
  let buyers: TestSession[];
  let buyer: TestSession;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  /** One-seat holds, spread over `owners`. */
  const holdEach = (count: number, owners: TestSession[]) =>
    Promise.all(
      seats(count).map(async (seat, index) => {
        const owner = owners[index % owners.length];
        return { owner, ...(await hold(api.app, owner, performance.id, [seat])) };
      }),
    );
  const buyAll = (holds: { id: string; owner: TestSession }[]) =>
    Promise.all(
      holds.map((held) =>
        caller(api.app)('POST', '/purchases', { body: { reservationId: held.id }, session: held.owner }),
      ),
    );
  const batching = () => {
    const { begin, markCharged } = api.app.get(PaymentAttemptsRepository).batching;
    return { begin: { ...begin }, markCharged: { ...markCharged } };
  };

  beforeAll(async () => {
    api = await startTestApi({
      MAX_SEATS_PER_RESERVATION: '20',
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    const admin = await createSession(api.app, { role: Role.Admin });
    buyers = await Promise.all(Array.from({ length: 10 }, () => createSession(api.app)));
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 300, { price: 1050 });
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('records every attempt of 200 concurrent purchases with its charge, in fewer statements than requests', async () => {
    const holds = await holdEach(200, buyers);
    const before = batching();

    const answers = await buyAll(holds);

    expect(answers.map((res) => res.statusCode)).toEqual(holds.map(() => 201));
    const bought = answers.map((res) => res.json() as { id: string; reservationId: string });
    expect(bought.map((purchase) => purchase.reservationId)).toEqual(holds.map((held) => held.id));
    const rows = (
      await db.query(
        `SELECT purchase_id, reservation_id, charge_id, status, amount FROM payment_attempts
         WHERE purchase_id = ANY($1::uuid[]) ORDER BY purchase_id`,
        [bought.map((purchase) => purchase.id)],
      )
    ).rows;
    // Each attempt holds its own charge (the default gateway's id follows from the attempt's key);
    // it stays CHARGED until `batch` completes it.
    expect(rows).toEqual(
      bought
        .map((purchase) => ({
          purchase_id: purchase.id,
          reservation_id: purchase.reservationId,
          charge_id: `ch_${purchase.id}`,
          status: PaymentAttemptStatus.Charged,
          amount: '1050',
        }))
        .sort((a, b) => (a.purchase_id < b.purchase_id ? -1 : 1)),
    );

    const after = batching();
    expect(after.begin.items - before.begin.items).toBe(200);
    expect(after.markCharged.items - before.markCharged.items).toBe(200);
    expect(after.begin.batches - before.begin.batches).toBeLessThan(200);
    expect(after.markCharged.batches - before.markCharged.batches).toBeLessThan(200);
  });

  it('fails every caller of a batch whose statement fails, and charges none of them', async () => {
    const holds = await holdEach(20, [buyer]);
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    // A real statement failure: PostgreSQL refuses every new attempt row.
    await db.query('ALTER TABLE payment_attempts ADD CONSTRAINT test_refuse_attempts CHECK (amount < 0) NOT VALID');
    const before = batching();
    let answers;
    try {
      answers = await buyAll(holds);
    } finally {
      await db.query('ALTER TABLE payment_attempts DROP CONSTRAINT test_refuse_attempts');
    }
    const after = batching();

    expect(answers.map((res) => res.statusCode)).toEqual(holds.map(() => 500));
    expect(after.begin.items - before.begin.items).toBe(20);
    // Some statement carried several callers, and each of them got the failure.
    expect(after.begin.batches - before.begin.batches).toBeLessThan(20);
    expect(charge).not.toHaveBeenCalled();
    charge.mockRestore();
    const rows = await db.query('SELECT purchase_id FROM payment_attempts WHERE reservation_id = ANY($1::uuid[])', [
      holds.map((held) => held.id),
    ]);
    expect(rows.rows).toEqual([]);
    for (const held of holds) expect((await api.app.get(HoldService).get(buyer.id, held.id)).status).toBe('HELD');

    // Nothing is stuck: the same holds are bought once PostgreSQL accepts the rows again.
    const retried = await buyAll(holds.slice(0, 3));
    expect(retried.map((res) => res.statusCode)).toEqual([201, 201, 201]);
  });

  /**
   * A new payment attempt of 1050 KRW (minor units) by the buyer for the performance, as checkout
   * begins one: a new purchase id (its idempotency key too) and reservation id, `paymentToken`.
   */
  function newAttempt(paymentToken: string | null) {
    const purchaseId = randomUUID();
    return {
      purchaseId,
      reservationId: randomUUID(),
      userId: buyer.id,
      performanceId: performance.id,
      amount: 1050,
      currency: 'KRW',
      idempotencyKey: purchaseId,
      paymentToken,
    };
  }

  it('answers each caller of one purchase id named twice in a batch, with one row', async () => {
    const attempts = api.app.get(PaymentAttemptsRepository);
    const attempt = newAttempt(null);
    const { purchaseId } = attempt;
    // The first goes alone; the next four wait for it and share one statement, the same id twice.
    const others = Array.from({ length: 3 }, () => ({ ...attempt, purchaseId: randomUUID() }));
    const statuses = await Promise.all(
      [others[0], attempt, { ...attempt }, others[1], others[2]].map((a) => attempts.begin(a)),
    );
    expect(statuses).toEqual(statuses.map(() => ({ status: PaymentAttemptStatus.Pending, otherToken: false })));
    const charged = await Promise.all([
      attempts.markCharged(others[0].purchaseId, 'ch_a'),
      attempts.markCharged(purchaseId, 'ch_b'),
      attempts.markCharged(purchaseId.toUpperCase(), 'ch_b'),
      attempts.markCharged(randomUUID(), 'ch_none'),
    ]);
    expect(charged).toEqual([true, true, true, false]);
    const rows = await db.query('SELECT charge_id, status FROM payment_attempts WHERE purchase_id = $1', [purchaseId]);
    expect(rows.rows).toEqual([{ charge_id: 'ch_b', status: PaymentAttemptStatus.Charged }]);
  });

  it('answers otherToken, touching nothing, to a caller whose payment token is not the row’s, in its batch or later', async () => {
    const attempts = api.app.get(PaymentAttemptsRepository);
    const attempt = newAttempt('pm_a');
    const { purchaseId } = attempt;
    const others = Array.from({ length: 2 }, () => ({ ...attempt, purchaseId: randomUUID(), paymentToken: null }));
    // The first goes alone; the next three share one statement, the same purchase id with two tokens:
    // one row is written (the last's), and the other caller is told its token is not the row's.
    const begun = await Promise.all(
      [others[0], attempt, { ...attempt, paymentToken: 'pm_b' }, others[1]].map((a) => attempts.begin(a)),
    );
    const pending = { status: PaymentAttemptStatus.Pending, otherToken: false };
    expect(begun).toEqual([pending, { ...pending, otherToken: true }, pending, pending]);
    const row = `SELECT payment_token, status, touched_at::text FROM payment_attempts WHERE purchase_id = $1`;
    const [written] = (await db.query(row, [purchaseId])).rows;
    expect(written).toMatchObject({ payment_token: 'pm_b', status: PaymentAttemptStatus.Pending });
    // Later, alone: another token (or none) leaves the row as it was; the same one touches it.
    expect(await attempts.begin(attempt)).toEqual({ ...pending, otherToken: true });
    expect(await attempts.begin({ ...attempt, paymentToken: null })).toEqual({ ...pending, otherToken: true });
    expect((await db.query(row, [purchaseId])).rows).toEqual([written]);
    expect(await attempts.begin({ ...attempt, paymentToken: 'pm_b' })).toEqual(pending);
    expect((await db.query(row, [purchaseId])).rows[0].touched_at).not.toBe(written.touched_at);
    // Over (its purchase happened): still told, with the status it has.
    await db.query(`UPDATE payment_attempts SET status = 'COMPLETED' WHERE purchase_id = $1`, [purchaseId]);
    expect(await attempts.begin(attempt)).toEqual({ status: PaymentAttemptStatus.Completed, otherToken: true });
    expect(await attempts.begin({ ...attempt, paymentToken: 'pm_b' })).toEqual({
      status: PaymentAttemptStatus.Completed,
      otherToken: false,
    });
  });

  /**
   * Holds the row of attempt `purchaseId` in a transaction of its own, as `batch`'s reconciler holds
   * it across a refund (up to 2 × PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS), until `release` is called.
   */
  async function holdRow(purchaseId: string): Promise<{ release: () => Promise<void> }> {
    const holder = new Client({ connectionString: api.env.DATABASE_URL });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1 FOR UPDATE', [purchaseId]);
    return {
      release: async () => {
        await holder.query('ROLLBACK');
        await holder.end();
      },
    };
  }

  /** `work`, or a rejection naming `what` once `ms` have passed without its end. */
  const within = <T>(work: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      work,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
    ]);

  it('answers busy, at once and touching nothing, the begin of an attempt whose row another session holds; the rest of its group is answered at once', async () => {
    const attempts = api.app.get(PaymentAttemptsRepository);
    const held = newAttempt(null);
    await attempts.begin(held);
    await attempts.markCharged(held.purchaseId, `ch_${held.purchaseId}`);
    const row = `SELECT status, touched_at::text FROM payment_attempts WHERE purchase_id = $1`;
    const [before] = (await db.query(row, [held.purchaseId])).rows;
    const others = [newAttempt(null), newAttempt(null), newAttempt(null)];
    const lock = await holdRow(held.purchaseId);
    let begun;
    const sent = batching();
    try {
      // One turn: all four share a statement (or the first goes alone, and the held one shares the next).
      begun = await within(
        Promise.all([others[0], held, others[1], others[2]].map((attempt) => attempts.begin(attempt))),
        3000,
        'the begins of a group with a held row',
      );
      expect((await db.query(row, [held.purchaseId])).rows).toEqual([before]);
    } finally {
      await lock.release();
    }
    const pending = { status: PaymentAttemptStatus.Pending, otherToken: false };
    expect(begun).toEqual([
      pending,
      { status: PaymentAttemptStatus.Charged, otherToken: false, busy: true },
      pending,
      pending,
    ]);
    expect(batching().begin.batches - sent.begin.batches).toBeLessThanOrEqual(2);
    // Released: the same begin touches it as a same-key retry's always did.
    expect(await attempts.begin(held)).toEqual({ status: PaymentAttemptStatus.Charged, otherToken: false });
    expect((await db.query(row, [held.purchaseId])).rows[0].touched_at).not.toBe(before.touched_at);
  });

  it('answers a same-key retry whose attempt the reconciler holds 409 PurchaseInProgress with Retry-After, charging nothing; once let go the retry buys', async () => {
    const [held] = await Promise.all(seats(1).map((seat) => hold(api.app, buyer, performance.id, [seat])));
    const key = randomUUID();
    const buy = () =>
      caller(api.app)('POST', '/purchases', {
        body: { reservationId: held.id },
        session: buyer,
        headers: { 'idempotency-key': key },
      });
    // The first request's charge fails (its outcome unknown): the attempt stays PENDING.
    const gateway = api.app.get(PaymentGateway);
    const charge = vi.spyOn(gateway, 'charge').mockRejectedValueOnce(new Error('the processor did not answer'));
    expect((await buy()).statusCode).toBe(503);
    const [attempt] = (
      await db.query('SELECT purchase_id, status FROM payment_attempts WHERE reservation_id = $1', [held.id])
    ).rows;
    expect(attempt.status).toBe('PENDING');
    charge.mockClear();
    const lock = await holdRow(attempt.purchase_id);
    let retried;
    try {
      retried = await within(buy(), 3000, 'the same-key retry');
    } finally {
      await lock.release();
    }
    expect(retried.statusCode).toBe(409);
    expect(retried.headers['retry-after']).toBe('1');
    expect(retried.json()).toMatchObject({
      statusCode: 409,
      message: 'the payment of this request is being settled; retry in a moment',
    });
    expect(charge).not.toHaveBeenCalled();
    const again = await buy();
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(attempt.purchase_id);
    expect(charge).toHaveBeenCalledTimes(1);
    charge.mockRestore();
  });
});
