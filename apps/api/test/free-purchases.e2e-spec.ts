import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, MockInstance } from 'vitest';
import { createSession, ReceivedEmail, TestSession, waitForValue, waitUntil } from '@app/testing';
import { BulkRefund, digestOfKey, idempotencyKey, PaymentGateway, PaymentReconciler } from '@app/ticketing';
import { flushPurchases, hold } from './purchase-helpers';
import { createShowOfSections } from './support/shows';
import { MailStack, startMailStack } from './support/mail';
import { RefundLedger } from './support/payments';

/** The seat ids of a show with a free section (price 0) and a priced one (1500 EUR cents a seat). */
interface Show {
  id: number;
  free: number[];
  priced: number[];
}

/**
 * Free seats (price 0: comps, free RSVP events): a purchase whose amount is 0 goes through no
 * payment step. It is answered PAID without a charge or a payment attempt, and a same-key retry
 * answers it again; its cancel (the buyer's, an operator's refund, a canceled performance's bulk
 * refund) asks the gateway for no refund and leaves none owed; its e-mails say it was free. A
 * purchase with priced seats beside free ones is charged and refunded as ever. The gateway is a
 * RefundLedger over the app's PaymentGateway, which fails a refund that is not a positive amount,
 * as a real processor refuses it. Real PostgreSQL, Redis, RabbitMQ; the relay and mailer in process.
 */
describe('free purchases: no payment step (API → flusher → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, mailer, admin, call, close } = {} as MailStack;
  let db: Client;
  let ledger: RefundLedger;
  let charge: MockInstance<PaymentGateway['charge']>;
  let refund: MockInstance<PaymentGateway['refund']>;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close } = await startMailStack({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    ledger = new RefundLedger();
    ({ charge, refund } = ledger.install(api.app.get(PaymentGateway)));
  });
  beforeEach(() => {
    charge.mockClear();
    refund.mockClear();
  });
  afterAll(async () => {
    await db?.end();
    await mailer?.close();
    await close?.();
  });

  async function createShow(): Promise<Show> {
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Open Rehearsal',
      currency: 'EUR',
      performance: { startsAt: '2030-03-01T19:00:00Z' },
      sections: [
        { name: 'Comps', grade: 'A', price: 0, rows: 1, seatsPerRow: 4 },
        { name: 'Stalls', grade: 'B', price: 1500, rows: 1, seatsPerRow: 4 },
      ],
    });
    return { id, free: seats.Comps!, priced: seats.Stalls! };
  }

  async function buy(buyer: TestSession, performanceId: number, seatIds: number[], key?: string) {
    const held = await hold(api.app, buyer, performanceId, seatIds);
    const headers = key ? { 'idempotency-key': key } : {};
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
    expect(bought.statusCode, bought.body).toBe(201);
    return { holdId: held.id, purchase: bought.json() as { id: string; amount: number; status: string } };
  }

  /** The e-mail to `buyer` whose Message-ID names `what` (`purchase-completed`, `purchase-canceled`) of the purchase. */
  const mailOf = (buyer: TestSession, what: string, purchaseId: string): Promise<ReceivedEmail> =>
    waitForValue(
      () =>
        smtp.received.find(
          (mail) => mail.to.includes(buyer.email) && mail.messageIdHeader.includes(`${what}.${purchaseId}`),
        ),
      `the ${what} e-mail of purchase ${purchaseId}`,
      { timeoutMs: 30_000 },
    );

  const attemptsOf = async (purchaseId: string) =>
    (await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).rows;

  /** Says it was free, and names no amount charged or refunded. */
  function expectFree(mail: ReceivedEmail): void {
    expect(mail.text).toContain('Free, nothing charged');
    for (const part of [mail.text, mail.html]) expect(part).not.toContain('€0.00');
  }

  it('sells free seats PAID with no charge nor payment attempt; a same-key retry answers the purchase again, also when its answer was lost; the confirmation reads free', async () => {
    const show = await createShow();
    const buyer = await createSession(api.app);
    const { holdId, purchase } = await buy(buyer, show.id, show.free.slice(0, 2), 'free-order-1');
    expect(purchase).toMatchObject({ status: 'PAID', amount: 0, currency: 'EUR' });
    const retry = await call('POST', '/purchases', {
      body: { reservationId: holdId },
      session: buyer,
      headers: { 'idempotency-key': 'free-order-1' },
    });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.json().id).toBe(purchase.id);
    // An api that died after the sale, before storing its answer: the retry finds the purchase
    // its key made (the hold bought by it), not a second one, and still charges nothing.
    await api.app.get(Redis).del(idempotencyKey(buyer.id, digestOfKey('free-order-1')));
    const replay = await call('POST', '/purchases', {
      body: { reservationId: holdId },
      session: buyer,
      headers: { 'idempotency-key': 'free-order-1' },
    });
    expect(replay.statusCode, replay.body).toBe(201);
    expect(replay.json()).toMatchObject({ id: purchase.id, status: 'PAID', amount: 0 });
    expect(charge).not.toHaveBeenCalled();

    await flushPurchases(api.app);
    const row = (await db.query('SELECT status, amount, charge_id FROM purchases WHERE id = $1', [purchase.id])).rows;
    expect(row).toEqual([{ status: 'PAID', amount: '0', charge_id: null }]);
    expect(await attemptsOf(purchase.id)).toEqual([]);
    const confirmation = await mailOf(buyer, 'purchase-completed', purchase.id);
    expect(confirmation.subject).toBe('Your tickets for Open Rehearsal');
    expectFree(confirmation);
  });

  it("the buyer's cancel of a free purchase asks the gateway nothing, leaves nothing owed, and its notice says there is nothing to refund", async () => {
    const show = await createShow();
    const buyer = await createSession(api.app);
    const { purchase } = await buy(buyer, show.id, [show.free[0]]);
    await flushPurchases(api.app);
    await mailOf(buyer, 'purchase-completed', purchase.id);

    const canceled = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({ status: 'CANCELED', amount: 0 });
    await flushPurchases(api.app);
    expect(refund).not.toHaveBeenCalled();
    expect(await attemptsOf(purchase.id)).toEqual([]);
    const [row] = (await db.query('SELECT status FROM purchases WHERE id = $1', [purchase.id])).rows;
    expect(row.status).toBe('CANCELED');
    // Its seat is for sale again.
    await buy(await createSession(api.app), show.id, [show.free[0]]);

    const notice = await mailOf(buyer, 'purchase-canceled', purchase.id);
    expect(notice.text).toContain('was canceled. It was free, so there is nothing to refund.');
    expectFree(notice);
    expect(notice.text).not.toContain('Refund');
    ledger.expectMoneyMovedOnce();
  });

  it("an operator's refund of a free purchase completes with no gateway call, and its notice says there is nothing to refund", async () => {
    const show = await createShow();
    const buyer = await createSession(api.app);
    const { purchase } = await buy(buyer, show.id, show.free.slice(0, 2));
    await flushPurchases(api.app);
    // Confirmed first: a purchase canceled before its confirmation gets no notice (P5).
    await mailOf(buyer, 'purchase-completed', purchase.id);

    const refunded = await call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({ status: 'CANCELED', amount: 0 });
    await flushPurchases(api.app);
    expect(refund).not.toHaveBeenCalled();
    expect(await attemptsOf(purchase.id)).toEqual([]);
    const notice = await mailOf(buyer, 'purchase-canceled', purchase.id);
    expect(notice.text).toContain('was canceled by the box office. It was free, so there is nothing to refund.');
    expectFree(notice);
    ledger.expectMoneyMovedOnce();
  });

  it("a mixed purchase is charged its priced seats; a canceled performance's bulk refund completes, refunding only that one", async () => {
    const show = await createShow();
    const guest = await createSession(api.app);
    const payer = await createSession(api.app);
    const { purchase: free } = await buy(guest, show.id, [show.free[0]]);
    expect(charge).not.toHaveBeenCalled();
    const { purchase: mixed } = await buy(payer, show.id, [show.free[1], show.priced[0]]);
    expect(mixed.amount).toBe(1500);
    expect(charge).toHaveBeenCalledTimes(1);
    expect(charge.mock.calls[0][0]).toMatchObject({ purchaseId: mixed.id, amount: 1500, currency: 'EUR' });
    await flushPurchases(api.app);

    const canceled = await call('POST', `/admin/performances/${show.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    const progress = async () =>
      (await call('GET', `/admin/performances/${show.id}/cancellation`, { session: admin })).json();
    const reconciler = api.app.get(PaymentReconciler);
    await waitUntil(
      async () => {
        await api.app.get(BulkRefund).refundOnce();
        await flushPurchases(api.app);
        while (await reconciler.reconcileOnce());
        return (await progress()).status === 'COMPLETED';
      },
      'the bulk refund completed',
      30_000,
      50,
    );
    expect(await progress()).toMatchObject({ refunded: 2, remaining: 0, failing: 0 });
    expect(refund).toHaveBeenCalledTimes(1);
    expect(refund.mock.calls[0][0]).toMatchObject({ amount: 1500, currency: 'EUR' });
    ledger.expectMoneyMovedOnce();
    expect(await attemptsOf(free.id)).toEqual([]);
    expect(await attemptsOf(mixed.id)).toEqual([{ status: 'REFUNDED' }]);
    const failures = await db.query('SELECT purchase_id FROM performance_refund_failures WHERE performance_id = $1', [
      show.id,
    ]);
    expect(failures.rows).toEqual([]);

    const freeNotice = await mailOf(guest, 'purchase-canceled', free.id);
    expect(freeNotice.text).toContain('It was free, so there is nothing to refund.');
    expect(freeNotice.text).toContain('The performance was canceled');
    expectFree(freeNotice);
    const mixedNotice = await mailOf(payer, 'purchase-canceled', mixed.id);
    expect(mixedNotice.text).toContain('and its amount refunded.');
    expect(mixedNotice.text).toMatch(/Refund: +€15\.00/);
  }, 60_000);
});
