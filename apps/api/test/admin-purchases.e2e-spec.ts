import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { purchaseCanceledMessageId } from '@app/messaging';
import { createSession, TestSession } from '@app/testing';
import { PaymentGateway, REFUND_ACTION, refundIdempotencyKey, SeatStateStore } from '@app/ticketing';
import { createPerformance, hold, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { reconcileUntilSettled, RefundLedger } from './support/payments';

describe('admin purchases: search, read, refund (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
  });
  afterAll(() => close?.());

  async function buy(session: TestSession, performanceId: number, seatIds: number[]) {
    const held = await hold(api.app, session, performanceId, seatIds);
    const res = await call('POST', '/purchases', { session, body: { reservationId: held.id } });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  it("lists anyone's purchases by performance and e-mail in keyset pages, and reads one", async () => {
    const performance = await createPerformance(api.app, admin, 20);
    const [alice, bob] = [await createSession(api.app), await createSession(api.app)];
    const a1 = await buy(alice, performance.id, [performance.seatIds[0]]);
    const a2 = await buy(alice, performance.id, [performance.seatIds[1]]);
    const b1 = await buy(bob, performance.id, [performance.seatIds[2]]);
    // Not flushed yet: readable by id.
    const one = await call('GET', `/admin/purchases/${b1.id}`, { session: admin });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({
      ...b1,
      userId: bob.id,
      compNote: null,
      soldBy: null,
      deliveryEmail: null,
      deliveryName: null,
    });
    await flushPurchases(api.app);

    const first = await call('GET', `/admin/purchases?performanceId=${performance.id}&limit=2`, { session: admin });
    expect(first.statusCode).toBe(200);
    expect(first.json().items).toHaveLength(2);
    const second = await call(
      'GET',
      `/admin/purchases?performanceId=${performance.id}&limit=2&cursor=${first.json().nextCursor}`,
      { session: admin },
    );
    expect(second.json().nextCursor).toBeNull();
    const ids = [...first.json().items, ...second.json().items].map((p: { id: string }) => p.id);
    expect(ids.sort()).toEqual([a1.id, a2.id, b1.id].sort());

    const byEmail = await call('GET', `/admin/purchases?email=${encodeURIComponent(alice.email.toUpperCase())}`, {
      session: admin,
    });
    expect(
      byEmail
        .json()
        .items.map((p: { id: string }) => p.id)
        .sort(),
    ).toEqual([a1.id, a2.id].sort());
    expect(byEmail.json().items[0].userId).toBe(alice.id);
    // Accounts are stored NFKC-normalised: the fullwidth spelling of the address finds them too.
    const fullwidth = [...alice.email].map((c) => String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0)).join('');
    const byFullwidth = await call('GET', `/admin/purchases?email=${encodeURIComponent(fullwidth)}`, {
      session: admin,
    });
    expect(byFullwidth.statusCode, byFullwidth.body).toBe(200);
    expect(
      byFullwidth
        .json()
        .items.map((p: { id: string }) => p.id)
        .sort(),
      'fullwidth e-mail',
    ).toEqual([a1.id, a2.id].sort());
    // UUIDs are case-insensitive (RFC 4122): an upper-case purchase id names the same purchase.
    const upper = await call('GET', `/admin/purchases/${b1.id.toUpperCase()}`, { session: admin });
    expect(upper.statusCode, upper.body).toBe(200);
    expect(upper.json().id, 'upper-case id').toBe(b1.id);
    expect((await call('GET', `/admin/purchases?performanceId=abc`, { session: admin })).statusCode).toBe(400);
    expect((await call('GET', `/admin/purchases?email=nope`, { session: admin })).statusCode).toBe(400);
    const twice = await call('GET', `/admin/purchases?email=a%40example.com&email=b%40example.com`, { session: admin });
    expect(twice.statusCode, twice.body).toBe(400);
    expect(twice.json().message, 'a repeated e-mail').toEqual(['email must be given once']);
  });

  it("finds by e-mail the buyer account's purchases and the box office sales delivered to that address, in one keyset list", async () => {
    const performance = await createPerformance(api.app, admin, 20);
    const carol = await createSession(api.app);
    const mine = await buy(carol, performance.id, [performance.seatIds[0]]);
    const sell = async (seatId: number, email: string) => {
      const sale = await call('POST', `/box-office/performances/${performance.id}/sales`, {
        session: admin,
        body: { seatIds: [seatId], paymentMethod: 'CARD_TERMINAL', email },
      });
      expect(sale.statusCode, sale.body).toBe(201);
      return sale.json().id as string;
    };
    // A walk-up who gave Carol's address, one who gave another, and one who gave none.
    const toCarol = await sell(performance.seatIds[1], carol.email.toUpperCase());
    const walkUp = await sell(performance.seatIds[2], 'Walk.In@Example.test');
    const noAddress = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      session: admin,
      body: { seatIds: [performance.seatIds[3]], paymentMethod: 'CASH' },
    });
    expect(noAddress.statusCode, noAddress.body).toBe(201);
    await flushPurchases(api.app);

    const search = async (email: string, limit = 20, cursor?: string) => {
      const res = await call(
        'GET',
        `/admin/purchases?email=${encodeURIComponent(email)}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        { session: admin },
      );
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { id: string; userId: string }[]; nextCursor: string | null };
    };
    // Newest first: the sale delivered to Carol, then her own purchase (the sale's owner is the admin who sold it).
    expect((await search(carol.email)).items.map((p) => p.id)).toEqual([toCarol, mine.id]);
    // Paged across both: one at a time.
    const first = await search(carol.email, 1);
    expect(first.items.map((p) => p.id)).toEqual([toCarol]);
    const second = await search(carol.email, 1, first.nextCursor!);
    expect(second.items.map((p) => p.id)).toEqual([mine.id]);
    expect(second.nextCursor).toBeNull();
    // A walk-up without an account: by the address the window took, in any letter case.
    expect((await search('WALK.IN@example.TEST')).items.map((p) => p.id)).toEqual([walkUp]);
    expect((await search('nobody@example.test')).items).toEqual([]);
  });

  it('refunds once under two concurrent requests: seats free, one gateway refund, one audit row, one cancellation message; again → 409', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, performance.seatIds.slice(0, 2));
    await flushPurchases(api.app);
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');

    const answers = await Promise.all([
      call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin }),
      call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    const ok = answers.find((a) => a.statusCode === 200)!;
    expect(ok.json()).toMatchObject({ id: purchase.id, status: 'CANCELED', userId: buyer.id });
    const conflict = answers.find((a) => a.statusCode === 409)!;
    expect(conflict.json()).toMatchObject({
      statusCode: 409,
      message: 'purchase has already been refunded or canceled',
    });
    expect(refund).toHaveBeenCalledTimes(1);
    refund.mockRestore();

    expect(await api.app.get(SeatStateStore).statuses(performance.id, performance.seatIds.slice(0, 2))).toEqual([
      'AVAILABLE',
      'AVAILABLE',
    ]);
    const audit = await db.query(
      'SELECT actor_id, actor_email, action, details FROM admin_audit_log WHERE subject_id = $1',
      [purchase.id],
    );
    expect(audit.rows).toEqual([
      {
        actor_id: admin.id,
        actor_email: admin.email,
        action: REFUND_ACTION,
        details: expect.objectContaining({ buyerId: buyer.id, amount: purchase.amount, currency: 'KRW' }),
      },
    ]);

    const again = await call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin });
    expect(again.statusCode).toBe(409);
    await flushPurchases(api.app);
    const canceled = await db.query('SELECT status FROM purchases WHERE id = $1', [purchase.id]);
    expect(canceled.rows).toEqual([{ status: 'CANCELED' }]);
    // The buyer's cancellation notice: one outbox message, relayed to the mailer (apps/mailer tests the e-mail).
    const outbox = await db.query('SELECT count(*)::int AS n FROM outbox WHERE message_id = $1', [
      purchaseCanceledMessageId(purchase.id),
    ]);
    expect(outbox.rows).toEqual([{ n: 1 }]);
    expect((await call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin })).statusCode).toBe(409);
    // The buyer sees it canceled; the seats sell again.
    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json().status).toBe('CANCELED');
    await buy(await createSession(api.app), performance.id, performance.seatIds.slice(0, 2));
  });

  it("an operator's refund racing its buyer's cancel, the winner's refund answer lost: one refund of one key, asked again by the reconciler, the money moved once", async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, performance.seatIds.slice(0, 2));
    await flushPurchases(api.app);
    const ledger = new RefundLedger();
    const { refund } = ledger.install(api.app.get(PaymentGateway));
    // The processor makes the winner's refund, and the api hears an error: the refund is owed.
    ledger.loseNextAnswer('error');
    try {
      const answers = await Promise.all([
        call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin }),
        call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer }),
      ]);
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
      await flushPurchases(api.app);
      expect(await reconcileUntilSettled(api, db, [purchase.id])).toContain('refunded');
      const asked = {
        chargeId: `ch_${purchase.id}`,
        idempotencyKey: refundIdempotencyKey(purchase.id),
        amount: purchase.amount,
        currency: 'KRW',
      };
      expect(refund.mock.calls).toEqual([[asked], [asked]]);
      expect(ledger.refundsOf(asked.chargeId)).toEqual([{ request: asked, asks: 2 }]);
      ledger.expectMoneyMovedOnce();
      const attempt = await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchase.id]);
      expect(attempt.rows).toEqual([{ status: 'REFUNDED' }]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('answers 403 to a buyer, 401 without a token, 404 for an unknown purchase, 400 for a malformed id', async () => {
    const buyer = await createSession(api.app);
    const unknown = '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d';
    for (const [method, url] of [
      ['GET', '/admin/purchases'],
      ['GET', `/admin/purchases/${unknown}`],
      ['POST', `/admin/purchases/${unknown}/refund`],
    ]) {
      expect((await call(method, url, { session: buyer })).statusCode).toBe(403);
      expect((await call(method, url)).statusCode).toBe(401);
    }
    expect((await call('GET', `/admin/purchases/${unknown}`, { session: admin })).statusCode).toBe(404);
    expect((await call('POST', `/admin/purchases/${unknown}/refund`, { session: admin })).statusCode).toBe(404);
    expect((await call('POST', '/admin/purchases/nope/refund', { session: admin })).statusCode).toBe(400);
  });
});
