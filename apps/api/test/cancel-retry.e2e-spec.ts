import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { purchaseCanceledMessageId } from '@app/messaging';
import { PaymentGateway, PurchaseCancellation, refundIdempotencyKey } from '@app/ticketing';
import { PurchaseStore } from '../../../libs/ticketing/src/purchases/purchase.store';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { BuyerOfShow, startBuyerOfShow } from './support/buyer';
import { reconcileUntilSettled, RefundLedger } from './support/payments';

/**
 * The buyer's cancel is safe to retry (docs/guide/buying.md, "A cancel is safe to retry"): a cancel
 * of a purchase its buyer canceled already answers 200 with the purchase as the first cancel did,
 * and nothing is refunded or told twice; a purchase canceled otherwise (an operator's refund, whole
 * or of its last seats, its performance's cancellation) still answers 409. Real PostgreSQL and
 * Redis; the money through RefundLedger, the notices as outbox rows.
 */
describe("the buyer's cancel, retried (real PostgreSQL and Redis)", () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let { buyer, performance, buy } = {} as BuyerOfShow;
  let ledger: RefundLedger;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
    ({ buyer, performance, buy } = await startBuyerOfShow(api.app, admin, 100));
  });
  beforeEach(() => {
    ledger = new RefundLedger();
    ledger.install(api.app.get(PaymentGateway));
  });
  afterAll(() => close?.());

  const cancel = (purchaseId: string) => call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });

  /**
   * Once written and reconciled: the purchase CANCELED in PostgreSQL at `canceledAt`, its attempt
   * REFUNDED, its charge refunded once under its one key, and `notices` cancellation notices: one
   * for a purchase canceled once written (confirmed), none for one canceled before its flush (it
   * was written CANCELED, never confirmed).
   */
  async function expectSettledOnce(purchaseId: string, canceledAt: string, notices: 0 | 1): Promise<void> {
    await flushPurchases(api.app);
    await reconcileUntilSettled(api, db, [purchaseId]);
    const { rows } = await db.query(
      `SELECT p.status, p.canceled_at, a.status AS attempt FROM purchases p
       JOIN payment_attempts a ON a.purchase_id = p.id WHERE p.id = $1`,
      [purchaseId],
    );
    expect(rows).toEqual([{ status: 'CANCELED', canceled_at: new Date(canceledAt), attempt: 'REFUNDED' }]);
    expect(ledger.refundsOf(`ch_${purchaseId}`).map((refund) => refund.request.idempotencyKey)).toEqual([
      refundIdempotencyKey(purchaseId),
    ]);
    ledger.expectMoneyMovedOnce();
    const outbox = await db.query('SELECT count(*)::int AS n FROM outbox WHERE message_id = $1', [
      purchaseCanceledMessageId(purchaseId),
    ]);
    expect(outbox.rows).toEqual([{ n: notices }]);
  }

  it('answers a second cancel 200 with the same purchase, before and after the flush; refunded once, one notice', async () => {
    const flushedFirst = await buy(1);
    await flushPurchases(api.app);
    const unflushed = await buy(2);
    const firstAnswers = new Map<string, unknown>();
    for (const purchase of [flushedFirst, unflushed]) {
      const first = await cancel(purchase.id);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toEqual({ ...purchase, status: 'CANCELED', canceledAt: expect.any(String) });
      firstAnswers.set(purchase.id, first.json());
      const again = await cancel(purchase.id);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json()).toEqual(first.json());
    }
    // Once the cancellations are written to PostgreSQL (and refunded): still the first answer.
    for (const purchase of [flushedFirst, unflushed]) {
      const first = firstAnswers.get(purchase.id) as { canceledAt: string };
      await expectSettledOnce(purchase.id, first.canceledAt, purchase === flushedFirst ? 1 : 0);
      const afterFlush = await cancel(purchase.id);
      expect(afterFlush.statusCode, afterFlush.body).toBe(200);
      expect(afterFlush.json()).toEqual(first);
      expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json()).toEqual(first);
    }
    ledger.expectMoneyMovedOnce();
  });

  it('answers the retry of a cancel whose answer was lost (the script ran, the api heard nothing) 200; batch refunds it once', async () => {
    const purchase = await buy(1);
    await flushPurchases(api.app);
    // As when Redis ran the cancel script and the api's command timed out (a 503 to the buyer).
    const ran = await api.app.get(PurchaseStore).cancel(performance.id, purchase.id, buyer.id, null, { mode: 'buyer' });
    expect(ran.outcome).toBe('CANCELED');
    const retried = await cancel(purchase.id);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toEqual({ ...purchase, status: 'CANCELED', canceledAt: expect.any(String) });
    // The retry asked for no refund: the flush of the cancellation owes it, and batch makes it.
    expect(ledger.refunds.size).toBe(0);
    await expectSettledOnce(purchase.id, retried.json().canceledAt, 1);
  });

  it('answers 20 concurrent cancels by the buyer all 200 with one canceledAt; one refund, one notice', async () => {
    for (const flushed of [true, false]) {
      const purchase = await buy(2);
      if (flushed) await flushPurchases(api.app);
      const answers = await Promise.all(Array.from({ length: 20 }, () => cancel(purchase.id)));
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array.from({ length: 20 }, () => 200));
      const bodies = new Set(answers.map((answer) => answer.body));
      expect(bodies.size, [...bodies].join('\n')).toBe(1);
      expect(answers[0].json()).toMatchObject({ id: purchase.id, status: 'CANCELED' });
      await expectSettledOnce(purchase.id, answers[0].json().canceledAt, flushed ? 1 : 0);
    }
  });

  it("keeps 409 for a purchase an operator refunded (whole, or its last seats) or its performance's cancellation canceled", async () => {
    const refunded = await buy(1);
    const lastSeats = await buy(2);
    const withPerformance = await buy(1);
    await flushPurchases(api.app);
    expect((await call('POST', `/admin/purchases/${refunded.id}/refund`, { session: admin })).statusCode).toBe(200);
    const [firstSeat, secondSeat] = lastSeats.seatIds;
    for (const seatId of [firstSeat, secondSeat]) {
      const partial = await call('POST', `/admin/purchases/${lastSeats.id}/refund`, {
        session: admin,
        body: { seatIds: [seatId] },
      });
      expect(partial.statusCode, partial.body).toBe(200);
    }
    // What the bulk refund of a canceled performance does for each purchase.
    await api.app.get(PurchaseCancellation).cancelForCanceledPerformance(buyer.id, withPerformance.id);
    for (const flushed of [false, true]) {
      if (flushed) await flushPurchases(api.app);
      for (const purchase of [refunded, lastSeats, withPerformance]) {
        const refused = await cancel(purchase.id);
        expect(refused.statusCode, `${purchase.id} flushed ${flushed}: ${refused.body}`).toBe(409);
        expect(refused.json()).toMatchObject({
          statusCode: 409,
          message: 'purchase has already been canceled',
        });
      }
    }
  });
});
