import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PaymentAttemptsRepository } from '@app/database';
import { createSession, TestSession, waitUntil } from '@app/testing';
import {
  digestOfKey,
  HoldService,
  idempotencyKey,
  PaymentGateway,
  PaymentReconciler,
  performanceKeys,
  refundIdempotencyKey,
  sandboxChargeKey,
  SandboxPaymentGateway,
} from '@app/ticketing';
import { AdminApi, startAdminApi } from './support/api';
import { GatewaySpies, reconcileUntilSettled, spyOnPaymentGateway } from './support/payments';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';

/** A row of payment_attempts as these tests read it. */
interface AttemptRow {
  purchase_id: string;
  status: string;
  charge_id: string | null;
  payment_token: string | null;
  touched_at: string;
}

/** What payment_attempts.payment_token_sha256 holds for a token. */
const sha256 = (token: string) => createHash('sha256').update(token).digest();

/**
 * The buyer's `paymentToken` (POST /purchases) on a running stack with PAYMENT_GATEWAY=sandbox (real
 * PostgreSQL and Redis): passed to the gateway with the hold id, kept with the payment attempt so every
 * charge of it (a same-key retry, `batch`'s reconciler) sends the same one, compared as part of the
 * Idempotency-Key's request, and never logged nor answered. The sandbox's test tokens drive the 402
 * and the unknown-outcome paths.
 */
describe('payment tokens and the sandbox gateway (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let gateway: GatewaySpies;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seat = () => [performance.seatIds[nextSeat++]];
  /** Every answer body of the file, to look for tokens in. */
  const answers: string[] = [];
  /** A token no code path would make up: found anywhere only if it leaked. */
  const SECRET = `pm_secret_${randomUUID()}`;

  const buy = async (reservationId: string, options: { token?: unknown; key?: string } = {}) => {
    const body = options.token === undefined ? { reservationId } : { reservationId, paymentToken: options.token };
    const headers = options.key === undefined ? {} : { 'idempotency-key': options.key };
    const res = await call('POST', '/purchases', { session: buyer, body, headers });
    answers.push(`${JSON.stringify(res.headers)} ${res.body}`);
    return res;
  };
  const attemptsOf = async (reservationId: string): Promise<AttemptRow[]> =>
    (
      await db.query<AttemptRow>(
        `SELECT purchase_id, status, charge_id, payment_token, touched_at::text FROM payment_attempts
         WHERE reservation_id = $1 ORDER BY created_at`,
        [reservationId],
      )
    ).rows;
  const holdStatus = async (holdId: string) => (await api.app.get(HoldService).get(buyer.id, holdId)).status;
  const tokenDigestOf = async (purchaseId: string): Promise<Buffer | null> =>
    (await db.query('SELECT payment_token_sha256 FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).rows[0]
      .payment_token_sha256;
  /** Whether the attempt's key is to be looked up once more (`recheck_at` set). */
  const recheckDue = async (purchaseId: string): Promise<boolean> =>
    (await db.query('SELECT recheck_at FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).rows[0]
      .recheck_at !== null;
  /**
   * Makes the second look at the attempt's key due now, if one is to be made (no wait for
   * PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS), and runs the reconciler until nothing is due; returns
   * the outcomes of second looks.
   */
  async function recheckNow(purchaseId: string): Promise<string[]> {
    await db.query(
      `UPDATE payment_attempts SET recheck_at = clock_timestamp() - interval '1 second'
       WHERE purchase_id = $1 AND recheck_at IS NOT NULL`,
      [purchaseId],
    );
    const reconciler = api.app.get(PaymentReconciler);
    const outcomes: string[] = [];
    for (let outcome = await reconciler.reconcileOnce(); outcome; outcome = await reconciler.reconcileOnce()) {
      outcomes.push(outcome);
    }
    // Only this attempt's second look was made due: other attempts' outcomes are not this test's.
    return outcomes.filter((outcome) => outcome.startsWith('recheck_'));
  }

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({
      PAYMENT_GATEWAY: 'sandbox',
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      LOG_LEVEL: 'debug',
    }));
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 40, { price: 1500 });
    gateway = spyOnPaymentGateway(api.app.get(PaymentGateway));
  });
  beforeEach(() => gateway.clear());
  afterAll(async () => {
    gateway?.restore();
    await close?.();
  });

  it('binds the sandbox gateway from PAYMENT_GATEWAY', () => {
    expect(api.app.get(PaymentGateway)).toBeInstanceOf(SandboxPaymentGateway);
  });

  it('passes the token to the gateway with the hold id, keeps it with the attempt, and answers without it', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const res = await buy(held.id, { token: SECRET, key: randomUUID() });
    expect(res.statusCode).toBe(201);
    const [attempt] = await attemptsOf(held.id);
    expect(gateway.charge).toHaveBeenCalledTimes(1);
    expect(gateway.charge).toHaveBeenCalledWith(
      expect.objectContaining({
        purchaseId: res.json().id,
        reservationId: held.id,
        idempotencyKey: res.json().id,
        paymentToken: SECRET,
        amount: 1500,
        currency: 'KRW',
      }),
    );
    expect(attempt).toMatchObject({ purchase_id: res.json().id, status: 'CHARGED', payment_token: SECRET });
    expect(res.body).not.toContain(SECRET);
    expect(Object.keys(res.json())).not.toContain('paymentToken');

    // None sent: null to the gateway and in the row.
    const other = await hold(api.app, buyer, performance.id, seat());
    expect((await buy(other.id)).statusCode).toBe(201);
    expect(gateway.charge).toHaveBeenLastCalledWith(
      expect.objectContaining({ reservationId: other.id, paymentToken: null }),
    );
    expect((await attemptsOf(other.id))[0].payment_token).toBeNull();
  });

  it('answers a retry with the same key and token the first answer, and one with another token (or none) 409, changing nothing', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const key = randomUUID();
    const first = await buy(held.id, { token: SECRET, key });
    expect(first.statusCode).toBe(201);
    // The stored answer keeps a digest of the token, never the token.
    expect(await redis.get(idempotencyKey(buyer.id, digestOfKey(key)))).not.toContain(SECRET);
    const before = await attemptsOf(held.id);

    const again = await buy(held.id, { token: SECRET, key });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    for (const token of ['pm_card_mastercard', undefined]) {
      const reused = await buy(held.id, { token, key });
      expect(reused.statusCode, String(token)).toBe(409);
      expect(reused.json()).toMatchObject({
        statusCode: 409,
        error: 'Conflict',
        message: 'Idempotency-Key was already used with another paymentToken; retry with a new Idempotency-Key',
      });
      expect(reused.headers['retry-after']).toBeUndefined();
    }
    expect(gateway.charge).toHaveBeenCalledTimes(1);
    expect(await attemptsOf(held.id)).toEqual(before);
  });

  it('declines tok_decline with 402 (nothing charged, the hold kept), and refuses its key with another token before any charge', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const key = randomUUID();
    const declined = await buy(held.id, { token: 'tok_decline', key });
    expect(declined.statusCode).toBe(402);
    expect(declined.json()).toMatchObject({ statusCode: 402, error: 'Payment Required', path: '/api/v1/purchases' });
    expect(await holdStatus(held.id)).toBe('HELD');
    const [attempt] = await attemptsOf(held.id);
    // Settled: its token cleared in the same statement, its SHA-256 kept to compare a retry's with.
    expect(attempt).toMatchObject({ status: 'DECLINED', charge_id: null, payment_token: null });
    expect(await tokenDigestOf(attempt.purchase_id)).toEqual(sha256('tok_decline'));
    expect(gateway.refund).not.toHaveBeenCalled();
    // The same request again (same key and token): the declined attempt reopened by its digest,
    // charged again and declined again, its token cleared again.
    expect((await buy(held.id, { token: 'tok_decline', key })).statusCode).toBe(402);
    expect(gateway.charge).toHaveBeenCalledTimes(2);
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'DECLINED', payment_token: null }]);
    const [again] = await attemptsOf(held.id);

    // Another card under the declined request's key: the key reused with another request.
    const reused = await buy(held.id, { token: SECRET, key });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().message).toMatch(/another paymentToken/);
    expect(gateway.charge).toHaveBeenCalledTimes(2);
    expect(await attemptsOf(held.id)).toEqual([again]);
    // The refusal left the hold free to buy at once, with a new key (no claim of it in the way).
    const paid = await buy(held.id, { token: SECRET, key: randomUUID() });
    expect(paid.statusCode).toBe(201);
    expect(gateway.charge).toHaveBeenLastCalledWith(expect.objectContaining({ paymentToken: SECRET }));
    expect((await attemptsOf(held.id)).map((row) => row.status)).toEqual(['DECLINED', 'CHARGED']);
  });

  it('answers tok_timeout as a charge whose outcome is unknown (503 with Retry-After, the attempt PENDING); a retry with the same key and token sells on that one charge', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const key = randomUUID();
    const lost = await buy(held.id, { token: 'tok_timeout', key });
    expect(lost.statusCode).toBe(503);
    expect(lost.headers['retry-after']).toBe('1');
    expect(lost.json()).toMatchObject({
      statusCode: 503,
      message: "the payment's outcome is not known yet; retry with the same Idempotency-Key",
    });
    const [pending] = await attemptsOf(held.id);
    expect(pending).toMatchObject({ status: 'PENDING', charge_id: null, payment_token: 'tok_timeout' });
    const chargeId = `ch_sandbox_${pending.purchase_id}`;
    expect(await redis.get(sandboxChargeKey(pending.purchase_id))).toBe(chargeId);

    // Another token under the key while the charge's fate is unknown: refused, nothing asked.
    const reused = await buy(held.id, { token: SECRET, key });
    expect(reused.statusCode).toBe(409);
    expect(await attemptsOf(held.id)).toEqual([pending]);
    expect(gateway.charge).toHaveBeenCalledTimes(1);

    const retried = await buy(held.id, { token: 'tok_timeout', key });
    expect(retried.statusCode).toBe(201);
    expect(retried.json().id).toBe(pending.purchase_id);
    // Both asks the same request: one key, one token, one charge at the processor.
    expect(gateway.charge).toHaveBeenCalledTimes(2);
    expect(gateway.charge.mock.calls[1]).toEqual(gateway.charge.mock.calls[0]);
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'CHARGED', charge_id: chargeId }]);

    // The flush completes the attempt with its purchase; nothing is left for the reconciler.
    await flushPurchases(api.app);
    // Charged and its purchase recorded: the token cleared with the settlement, its digest kept.
    expect(await attemptsOf(held.id)).toMatchObject([
      { status: 'COMPLETED', charge_id: chargeId, payment_token: null },
    ]);
    expect(await tokenDigestOf(pending.purchase_id)).toEqual(sha256('tok_timeout'));
    // A same-key request is still compared with the first one's token, by its digest.
    const attempts = api.app.get(PaymentAttemptsRepository);
    const again = {
      purchaseId: pending.purchase_id,
      reservationId: held.id,
      userId: buyer.id,
      performanceId: performance.id,
      amount: 1500,
      currency: 'KRW',
      idempotencyKey: pending.purchase_id,
    };
    expect(await attempts.begin({ ...again, paymentToken: 'tok_timeout' })).toEqual({
      status: 'COMPLETED',
      otherToken: false,
    });
    expect(await attempts.begin({ ...again, paymentToken: SECRET })).toEqual({ status: 'COMPLETED', otherToken: true });
    expect(await attempts.begin({ ...again, paymentToken: null })).toEqual({ status: 'COMPLETED', otherToken: true });
    await reconcileUntilSettled(api, db, [pending.purchase_id]);
    expect(gateway.refund).not.toHaveBeenCalled();
    const persisted = await db.query('SELECT charge_id FROM purchases WHERE reservation_id = $1', [held.id]);
    expect(persisted.rows).toEqual([{ charge_id: chargeId }]);
  });

  it('lets the reconciler learn a tok_timeout charge whose hold was given up, with the same token, and refund it once', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const lost = await buy(held.id, { token: 'tok_timeout' });
    expect(lost.statusCode).toBe(503);
    const [pending] = await attemptsOf(held.id);
    expect(pending).toMatchObject({ status: 'PENDING', payment_token: 'tok_timeout' });
    // The buyer gives up: the hold can no longer be bought, so the charge is owed back (P9).
    expect((await call('DELETE', `/reservations/${held.id}`, { session: buyer })).statusCode).toBe(204);

    const outcomes = await reconcileUntilSettled(api, db, [pending.purchase_id]);
    expect(outcomes).toContain('refunded');
    const chargeId = `ch_sandbox_${pending.purchase_id}`;
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'REFUNDED', charge_id: chargeId, payment_token: null }]);
    // The reconciler looked the charge up under the api's key (no token: a lookup needs no secret),
    // found it in the sandbox's books, and charged nothing: the api's charge is the only one.
    expect(gateway.charge).toHaveBeenCalledTimes(1);
    expect(gateway.findCharge).toHaveBeenCalledTimes(1);
    const [asked] = gateway.charge.mock.calls[0];
    const { paymentToken: _token, ...lookup } = asked;
    expect(gateway.findCharge).toHaveBeenCalledWith(lookup);
    await expect(gateway.findCharge.mock.results[0].value).resolves.toEqual({ chargeId });
    expect(gateway.refund).toHaveBeenCalledTimes(1);
    expect(gateway.refund).toHaveBeenCalledWith(expect.objectContaining({ chargeId, amount: 1500 }));
    // Settled: another pass asks nothing more.
    await reconcileUntilSettled(api, db, [pending.purchase_id]);
    expect(gateway.refund).toHaveBeenCalledTimes(1);
  });

  /**
   * A purchase request that dies after recording its attempt and before its charge reaches the
   * processor (its connection refused, its process killed): the api answers 503 with the attempt
   * PENDING, and the sandbox's books hold nothing under its key. The buyer then gives the hold up.
   */
  async function chargeThatNeverReachedTheGateway(): Promise<{ holdId: string; purchaseId: string }> {
    const held = await hold(api.app, buyer, performance.id, seat());
    gateway.charge.mockRejectedValueOnce(new Error('connect ECONNREFUSED (the processor never saw it)'));
    const died = await buy(held.id, { token: 'pm_card_visa', key: randomUUID() });
    expect(died.statusCode).toBe(503);
    const [pending] = await attemptsOf(held.id);
    expect(pending).toMatchObject({ status: 'PENDING', charge_id: null, payment_token: 'pm_card_visa' });
    expect(await redis.exists(sandboxChargeKey(pending.purchase_id))).toBe(0);
    expect((await call('DELETE', `/reservations/${held.id}`, { session: buyer })).statusCode).toBe(204);
    gateway.clear();
    return { holdId: held.id, purchaseId: pending.purchase_id };
  }

  it('settles an attempt whose request died before its charge as never charged (DECLINED): the reconciler charges nothing and refunds nothing', async () => {
    const { holdId, purchaseId } = await chargeThatNeverReachedTheGateway();
    const outcomes = await reconcileUntilSettled(api, db, [purchaseId]);
    expect(outcomes).toEqual(['uncharged']);
    // Asked, not charged: no charge and no refund on the buyer's card for a purchase that never happened.
    expect(gateway.findCharge).toHaveBeenCalledTimes(1);
    expect(gateway.findCharge).toHaveBeenCalledWith(
      expect.objectContaining({ purchaseId, idempotencyKey: purchaseId }),
    );
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await redis.exists(sandboxChargeKey(purchaseId))).toBe(0);
    const [settled] = await attemptsOf(holdId);
    expect(settled).toMatchObject({ status: 'DECLINED', charge_id: null, payment_token: null });
    // Settled: later passes ask nothing more, until its key is due to be looked up once more.
    await reconcileUntilSettled(api, db, [purchaseId]);
    expect(gateway.findCharge).toHaveBeenCalledTimes(1);
    expect(await recheckDue(purchaseId)).toBe(true);

    // The second look finds nothing either: DECLINED for good, nothing charged nor refunded.
    expect(await recheckNow(purchaseId)).toEqual(['recheck_uncharged']);
    expect(gateway.findCharge).toHaveBeenCalledTimes(2);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await attemptsOf(holdId)).toMatchObject([{ status: 'DECLINED', charge_id: null, payment_token: null }]);
    expect(await recheckDue(purchaseId)).toBe(false);
    expect(await recheckNow(purchaseId)).toEqual([]);
    expect(gateway.findCharge).toHaveBeenCalledTimes(2);
  });

  it('refunds, exactly once, a charge that lands after the lookup that found none, its api dead before noting it', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    // The api's charge call stalls before it reaches the processor, until released; then the
    // charge lands and the api process dies before it notes it (its request ends in an error).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const charge = gateway.charge.getMockImplementation() ?? SandboxPaymentGateway.prototype.charge;
    const sandbox = api.app.get(PaymentGateway);
    let landed = false;
    gateway.charge.mockImplementationOnce(async (request) => {
      await gate;
      await charge.call(sandbox, request);
      landed = true;
      throw new Error('the api process died before it noted the charge');
    });
    const doomed = buy(held.id, { token: 'pm_card_visa', key: randomUUID() });
    await waitUntil(async () => gateway.charge.mock.calls.length === 1, 'the api charging', 10_000, 10);
    const [pending] = await attemptsOf(held.id);
    const purchaseId = pending.purchase_id;
    // The hold can no longer be bought, the attempt is stale, and nothing is under its key yet.
    await redis.hset(performanceKeys(performance.id).hold(held.id), 'expiresAt', String(Date.now() - 1000));
    expect(await reconcileUntilSettled(api, db, [purchaseId])).toContain('uncharged');
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'DECLINED', charge_id: null }]);

    // The charge lands after that lookup; nothing notes it.
    release();
    expect((await doomed).statusCode).toBe(503);
    expect(landed).toBe(true);
    const chargeId = `ch_sandbox_${purchaseId}`;
    expect(await redis.get(sandboxChargeKey(purchaseId))).toBe(chargeId);
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'DECLINED', charge_id: null }]);
    expect(gateway.refund).not.toHaveBeenCalled();

    // Once its grace is over, the second look finds it and refunds it, with the purchase's one key.
    expect(await recheckNow(purchaseId)).toEqual(['recheck_refunded']);
    expect(gateway.refund).toHaveBeenCalledTimes(1);
    expect(gateway.refund).toHaveBeenCalledWith({
      chargeId,
      idempotencyKey: refundIdempotencyKey(purchaseId),
      amount: 1500,
      currency: 'KRW',
    });
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'REFUNDED', charge_id: chargeId, payment_token: null }]);
    // Exactly once: no later pass, nor a second look made due again, refunds it again.
    expect(await recheckDue(purchaseId)).toBe(false);
    expect(await recheckNow(purchaseId)).toEqual([]);
    await reconcileUntilSettled(api, db, [purchaseId]);
    expect(gateway.refund).toHaveBeenCalledTimes(1);
    expect(gateway.charge).toHaveBeenCalledTimes(1);
  });

  it('clears the token of an attempt whose purchase is canceled and refunded, keeping it while the attempt is open', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const paid = await buy(held.id, { token: SECRET, key: randomUUID() });
    expect(paid.statusCode).toBe(201);
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'CHARGED', payment_token: SECRET }]);
    const canceled = await call('POST', `/purchases/${paid.json().id}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);
    // Canceled before its flush: the flush writes the cancellation (REFUND_OWED), the reconciler refunds.
    await flushPurchases(api.app);
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'REFUND_OWED', payment_token: null }]);
    expect(await reconcileUntilSettled(api, db, [paid.json().id])).toContain('refunded');
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'REFUNDED', payment_token: null }]);
    expect(await tokenDigestOf(paid.json().id)).toEqual(sha256(SECRET));

    // Flushed first, then canceled: the api writes the cancellation and records its own refund.
    const other = await hold(api.app, buyer, performance.id, seat());
    const bought = await buy(other.id, { token: SECRET, key: randomUUID() });
    expect(bought.statusCode).toBe(201);
    await flushPurchases(api.app);
    expect(await attemptsOf(other.id)).toMatchObject([{ status: 'COMPLETED', payment_token: null }]);
    expect((await call('POST', `/purchases/${bought.json().id}/cancel`, { session: buyer })).statusCode).toBe(200);
    expect(await attemptsOf(other.id)).toMatchObject([{ status: 'REFUNDED', payment_token: null }]);
  });

  it('leaves the attempt open when the gateway cannot tell whether it charged, and settles it on a later pass', async () => {
    const { holdId, purchaseId } = await chargeThatNeverReachedTheGateway();
    const reconciler = api.app.get(PaymentReconciler);
    const failed = async () =>
      (await reconciler.reconciled.get()).values.find(({ labels }) => labels.outcome === 'failed')?.value;
    const failedBefore = await failed();
    gateway.findCharge.mockRejectedValueOnce(new Error('the processor is unreachable'));
    // The oldest due by far: the next pass claims it first.
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 hour' WHERE purchase_id = $1`, [
      purchaseId,
    ]);
    await expect(reconciler.reconcileOnce()).rejects.toThrow('the processor is unreachable');
    expect(await attemptsOf(holdId)).toMatchObject([{ status: 'PENDING', charge_id: null }]);
    expect(await failed()).toBe((failedBefore ?? 0) + 1);
    // The processor answers again: asked once more, still nothing charged nor refunded.
    expect(await reconcileUntilSettled(api, db, [purchaseId])).toEqual(['uncharged']);
    expect(gateway.findCharge).toHaveBeenCalledTimes(2);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await attemptsOf(holdId)).toMatchObject([{ status: 'DECLINED', charge_id: null }]);
  });

  it('refunds a charge the api makes after the reconciler found none under its key (a charge call slower than the reconciliation)', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    // The api's charge call hangs before reaching the processor until released.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const charge = gateway.charge.getMockImplementation() ?? SandboxPaymentGateway.prototype.charge;
    const sandbox = api.app.get(PaymentGateway);
    gateway.charge.mockImplementationOnce(async (request) => {
      await gate;
      return charge.call(sandbox, request);
    });
    const slow = buy(held.id, { token: 'pm_card_visa', key: randomUUID() });
    await waitUntil(async () => gateway.charge.mock.calls.length === 1, 'the api charging', 10_000, 10);
    const [pending] = await attemptsOf(held.id);
    expect(pending).toMatchObject({ status: 'PENDING', charge_id: null });
    // The hold can no longer be bought (its time ran out), and the attempt is stale: nothing under its key yet.
    await redis.hset(performanceKeys(performance.id).hold(held.id), 'expiresAt', String(Date.now() - 1000));
    expect(await reconcileUntilSettled(api, db, [pending.purchase_id])).toContain('uncharged');
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'DECLINED' }]);

    // The charge lands after all: the api notes it (the attempt reopens), its sale is refused, and it refunds it.
    release();
    const res = await slow;
    expect(res.statusCode).toBe(409);
    const chargeId = `ch_sandbox_${pending.purchase_id}`;
    expect(await redis.get(sandboxChargeKey(pending.purchase_id))).toBe(chargeId);
    expect(gateway.refund).toHaveBeenCalledTimes(1);
    expect(gateway.refund).toHaveBeenCalledWith(expect.objectContaining({ chargeId, amount: 1500 }));
    expect(await attemptsOf(held.id)).toMatchObject([{ status: 'REFUNDED', charge_id: chargeId, payment_token: null }]);
    // Reopened by the api's note, so its second look was called off: nothing left to ask.
    expect(await recheckDue(pending.purchase_id)).toBe(false);
  });

  it('refuses a malformed token with 400 and the uniform body, changing nothing', async () => {
    const held = await hold(api.app, buyer, performance.id, seat());
    const cases: [unknown, string][] = [
      ['', 'paymentToken must be 1-500 printable ASCII characters without spaces'],
      [`pm ${SECRET}`, 'paymentToken must be 1-500 printable ASCII characters without spaces'],
      [`${SECRET}é`, 'paymentToken must be 1-500 printable ASCII characters without spaces'],
      ['x'.repeat(501), 'paymentToken must be 1-500 printable ASCII characters without spaces'],
      [null, 'paymentToken must not be null (leave an optional field out instead)'],
      [42, 'paymentToken must be a string'],
    ];
    for (const [token, message] of cases) {
      const res = await buy(held.id, { token, key: randomUUID() });
      expect(res.statusCode, String(token)).toBe(400);
      expect(res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: [message],
        requestId: expect.any(String),
        path: '/api/v1/purchases',
        timestamp: expect.any(String),
      });
    }
    // The 500-character bound is inclusive; an unknown field beside a good token is still refused.
    const unknown = await call('POST', '/purchases', {
      session: buyer,
      body: { reservationId: held.id, paymentToken: 'pm_card_visa', payment: 'x' },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toEqual(['property payment should not exist']);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(await attemptsOf(held.id)).toEqual([]);
    expect(await holdStatus(held.id)).toBe('HELD');
    expect((await buy(held.id, { token: '~'.repeat(500) })).statusCode).toBe(201);
  });

  it('never writes a token to the logs nor to any answer', async () => {
    // The error of the tok_timeout test is logged: the logs of this file are written by then.
    await waitUntil(
      () =>
        logText().includes('the charge was sent but its answer was lost') && logText().includes('reconciled: refunded'),
      'the logs of the lost charge and of its reconciliation',
    );
    const logs = logText();
    for (const token of [SECRET, 'tok_timeout', 'tok_decline', 'pm_card_mastercard']) {
      expect(logs.includes(token), token).toBe(false);
      expect(
        answers.some((answer) => answer.includes(token)),
        token,
      ).toBe(false);
    }
  });

  function logText(): string {
    const dir = api.env.LOG_DIR;
    return readdirSync(dir)
      .filter((file) => file.endsWith('.log'))
      .map((file) => readFileSync(join(dir, file), 'utf8'))
      .join('\n');
  }
});
