import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role, SessionsService } from '@app/auth';
import { PurchaseRefundsRepository, PurchaseRepository } from '@app/database';
import { createSession, TEST_PASSWORD, TestSession, waitUntil } from '@app/testing';
import { BulkRefund } from '@app/ticketing';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/**
 * Refunds at the box office window on real PostgreSQL and Redis: who may list and mark them (every
 * role against every route), a box office sale's partial refunds in the window's figures, and a
 * canceled show's window refund whose cancellation is still only in Redis (its PostgreSQL write
 * failed; the flush, run by hand here, writes it later).
 */
describe('window refunds: roles, partial refunds, cancellations not written yet', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let staff: TestSession;
  let buyer: TestSession;
  let secondAdmin: TestSession;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    const email = 'window-clerk@example.test';
    const created = await call('POST', '/admin/staff', {
      body: { email, password: TEST_PASSWORD, name: 'Clerk' },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const tokens = await api.app.get(SessionsService).login(email, TEST_PASSWORD);
    staff = {
      id: created.json().id,
      email,
      role: Role.Staff,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    };
    buyer = await createSession(api.app);
    secondAdmin = await createSession(api.app, { role: Role.Admin });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  /** A box office sale by the staff clerk, to a walk-up named Jin Park at `email`; its purchase id. */
  async function sell(
    performanceId: number,
    seatIds: number[],
    paymentMethod: 'CASH' | 'CARD_TERMINAL',
    email: string,
  ): Promise<string> {
    const sold = await call('POST', `/box-office/performances/${performanceId}/sales`, {
      body: { seatIds, paymentMethod, email, name: 'Jin Park' },
      session: staff,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json().id as string;
  }

  /** Cancels the performance and runs the bulk refund (and the flush) until it completes. */
  async function cancelShow(performanceId: number): Promise<void> {
    const canceled = await call('POST', `/admin/performances/${performanceId}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    const bulk = api.app.get(BulkRefund);
    await waitUntil(async () => {
      const step = await bulk.refundOnce();
      await flushPurchases(api.app);
      return step?.performanceId === performanceId && step.completed;
    }, `bulk refund of performance ${performanceId} completed`);
  }

  const totals = async (performanceId: number) => {
    const report = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
    expect(report.statusCode, report.body).toBe(200);
    return report.json().totals;
  };

  describe('who may list and mark them: every role against every route', () => {
    let showId: number;
    let saleId: string;
    const walkUp = 'roles.walkup@example.test';

    beforeAll(async () => {
      const show = await createPerformance(api.app, admin, 4, { price: 3000, currency: 'EUR' });
      showId = show.id;
      saleId = await sell(show.id, [show.seatIds[0]], 'CASH', walkUp);
      await flushPurchases(api.app);
      await cancelShow(show.id);
    });

    // The rule: refunds are admins' (as POST /admin/purchases/:id/refund); door staff, who also sell at
    // the window, see a buyer's address only as the door shows it (the ticket they scan).
    const ALLOWED: Record<string, Role[]> = { list: [Role.Admin], markPaid: [Role.Admin] };
    const ROUTES = [
      { route: 'list', method: 'GET' as const, url: () => `/admin/performances/${showId}/window-refunds` },
      { route: 'markPaid', method: 'POST' as const, url: () => `/admin/purchases/${saleId}/window-refund/paid` },
    ];
    // Anonymous first, every role of the enum, an allowed role last (so a mark-paid it makes comes after the refusals).
    const CALLERS: (Role | 'anonymous')[] = [
      'anonymous',
      ...Object.values(Role).filter((role) => role !== Role.Admin),
      Role.Admin,
    ];
    const TABLE = ROUTES.flatMap(({ route, method, url }) =>
      CALLERS.map((caller) => ({
        route,
        method,
        url,
        caller,
        expected: caller === 'anonymous' ? 401 : ALLOWED[route].includes(caller) ? 200 : 403,
      })),
    );

    it('covers every role of the enum', () => {
      expect(new Set(CALLERS)).toEqual(new Set(['anonymous', ...Object.values(Role)]));
      expect(TABLE).toHaveLength(ROUTES.length * (Object.values(Role).length + 1));
    });

    it.each(TABLE)('$route as $caller answers $expected', async ({ method, url, caller, expected }) => {
      const session =
        caller === 'anonymous' ? undefined : { [Role.Admin]: admin, [Role.Staff]: staff, [Role.User]: buyer }[caller];
      const answer = await call(method, url(), session ? { session } : {});
      expect(answer.statusCode, answer.body).toBe(expected);
      if (expected !== 200) {
        expect(answer.json()).toMatchObject({
          statusCode: expected,
          path: expect.any(String),
          requestId: expect.any(String),
        });
        // Nothing of the refund, nor whom it is owed to.
        expect(answer.body).not.toContain(walkUp);
        expect(answer.body).not.toContain('Jin Park');
      } else if (method === 'GET') {
        expect(answer.json().items).toMatchObject([
          { purchaseId: saleId, buyerEmail: walkUp, status: expect.any(String) },
        ]);
      } else {
        expect(answer.json()).toMatchObject({ purchaseId: saleId, status: 'PAID', paidBy: { email: admin.email } });
      }
    });

    it('was marked paid once, by the admin alone: one audit row', async () => {
      const { rows } = await db.query(
        `SELECT actor_email FROM admin_audit_log WHERE action = 'purchase.window-refund-paid' AND subject_id = $1`,
        [saleId],
      );
      expect(rows).toEqual([{ actor_email: admin.email }]);
    });
  });

  it("counts a box office sale's partial refunds paid at the window by method, once each (racing operators: one 200, one 409), written or not", async () => {
    const show = await createPerformance(api.app, admin, 8, { price: 2000, currency: 'EUR' });
    const [a, b, c, d, e] = show.seatIds;
    const cashSale = await sell(show.id, [a, b, c], 'CASH', 'partial.cash@example.test');
    const cardSale = await sell(show.id, [d, e], 'CARD_TERMINAL', 'partial.card@example.test');
    await flushPurchases(api.app);

    // Two operators refund the same seat at once: one wins, the money goes back once.
    const raced = await Promise.all(
      [admin, secondAdmin].map((session) =>
        call('POST', `/admin/purchases/${cashSale}/refund`, { session, body: { seatIds: [a] } }),
      ),
    );
    expect(raced.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
    expect(raced.find((answer) => answer.statusCode === 200)!.json()).toMatchObject({
      refundMethod: 'CASH',
      refunded: { seatIds: [a], amount: 2000 },
    });
    const card = await call('POST', `/admin/purchases/${cardSale}/refund`, { session: admin, body: { seatIds: [d] } });
    expect(card.statusCode, card.body).toBe(200);
    const audit = await db.query(
      `SELECT subject_id, details->>'refundMethod' AS method, (details->>'partial')::boolean AS partial
         FROM admin_audit_log WHERE action = 'purchase.refund' AND subject_id = ANY($1::text[]) ORDER BY subject_id`,
      [[cashSale, cardSale]],
    );
    expect(audit.rows).toEqual(
      [
        { subject_id: cashSale, method: 'CASH', partial: true },
        { subject_id: cardSale, method: 'CARD_TERMINAL', partial: true },
      ].sort((x, y) => x.subject_id.localeCompare(y.subject_id)),
    );
    const paidTwo = {
      windowRefundsOwed: 0,
      windowRefundsPaid: 2,
      cashRefundsPaid: 2000,
      cardTerminalRefundsPaid: 2000,
      cashRevenue: 4000,
      cardTerminalRevenue: 2000,
      boxOfficeCancellations: 0,
    };
    expect(await totals(show.id)).toMatchObject(paidTwo);

    // A partial refund PostgreSQL could not take at once (still only in the stream) counts, once.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    const unwritten = await call('POST', `/admin/purchases/${cashSale}/refund`, {
      session: admin,
      body: { seatIds: [b] },
    });
    expect(unwritten.statusCode, unwritten.body).toBe(200);
    const paidThree = { ...paidTwo, windowRefundsPaid: 3, cashRefundsPaid: 4000, cashRevenue: 2000 };
    expect(await totals(show.id)).toMatchObject(paidThree);
    await flushPurchases(api.app);
    expect(await totals(show.id)).toMatchObject(paidThree);

    // Canceled with the show afterwards: what is left of each sale is owed at the window.
    await cancelShow(show.id);
    expect(await totals(show.id)).toMatchObject({
      ...paidThree,
      cashRevenue: 0,
      cardTerminalRevenue: 0,
      boxOfficeCancellations: 2,
      windowRefundsOwed: 2,
      cashRefundsOwed: 2000,
      cardTerminalRefundsOwed: 2000,
    });
    const owed = await call('GET', `/admin/performances/${show.id}/window-refunds?status=OWED`, { session: admin });
    expect(owed.statusCode, owed.body).toBe(200);
    expect(
      owed
        .json()
        .items.map((refund: { purchaseId: string; amount: number }) => [refund.purchaseId, refund.amount])
        .sort(),
    ).toEqual(
      [
        [cashSale, 2000],
        [cardSale, 2000],
      ].sort(),
    );
  });

  it("owes at the window only what a sale's partial refunds at the window left when their writes are still in the stream as the show's cancellations are written, listed or marked paid", async () => {
    const show = await createPerformance(api.app, admin, 4, { price: 2500, currency: 'EUR' });
    const [a, b, c, d] = show.seatIds;
    const listed = await sell(show.id, [a, b], 'CASH', 'late.partial.listed@example.test');
    const marked = await sell(show.id, [c, d], 'CARD_TERMINAL', 'late.partial.marked@example.test');
    await flushPurchases(api.app);

    // One seat of each given back at the window; PostgreSQL does not take the refunds now (the flush will).
    const written = vi
      .spyOn(api.app.get(PurchaseRefundsRepository), 'written')
      .mockRejectedValue(new Error('connection lost'));
    for (const [sale, seat] of [
      [listed, a],
      [marked, c],
    ] as const) {
      const refunded = await call('POST', `/admin/purchases/${sale}/refund`, {
        session: admin,
        body: { seatIds: [seat] },
      });
      expect(refunded.statusCode, refunded.body).toBe(200);
    }
    expect(written).toHaveBeenCalledTimes(2);
    written.mockRestore();

    // The show is canceled before the flush: the bulk refund writes both cancellations at once, from
    // what PostgreSQL knows, owing each whole sale.
    const canceled = await call('POST', `/admin/performances/${show.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    await api.app.get(BulkRefund).refundOnce();
    const owedRows = async () =>
      (
        await db.query(
          `SELECT purchase_id, status, amount::int FROM window_refunds WHERE purchase_id = ANY($1::uuid[]) ORDER BY purchase_id`,
          [[listed, marked]],
        )
      ).rows;
    expect(await owedRows()).toEqual(
      [
        { purchase_id: listed, status: 'OWED', amount: 5000 },
        { purchase_id: marked, status: 'OWED', amount: 5000 },
      ].sort((x, y) => x.purchase_id.localeCompare(y.purchase_id)),
    );

    // Marked paid at the window: the refund given before is written first, so the till gives back the rest.
    const paid = await call('POST', `/admin/purchases/${marked}/window-refund/paid`, { session: admin });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ purchaseId: marked, status: 'PAID', amount: 2500 });
    // Listed: likewise.
    const owed = await call('GET', `/admin/performances/${show.id}/window-refunds?status=OWED`, { session: admin });
    expect(owed.statusCode, owed.body).toBe(200);
    expect(owed.json().items).toMatchObject([{ purchaseId: listed, amount: 2500, status: 'OWED' }]);

    // The flush's replay changes nothing: one refund row each, one notice each, the amounts kept.
    await flushPurchases(api.app);
    const expected = [
      { purchase_id: listed, status: 'OWED', amount: 2500 },
      { purchase_id: marked, status: 'PAID', amount: 2500 },
    ].sort((x, y) => x.purchase_id.localeCompare(y.purchase_id));
    expect(await owedRows()).toEqual(expected);
    const { rows: refunds } = await db.query(
      `SELECT purchase_id, amount::int FROM purchase_refunds WHERE purchase_id = ANY($1::uuid[]) ORDER BY purchase_id`,
      [[listed, marked]],
    );
    expect(refunds).toEqual(
      [
        { purchase_id: listed, amount: 2500 },
        { purchase_id: marked, amount: 2500 },
      ].sort((x, y) => x.purchase_id.localeCompare(y.purchase_id)),
    );
    await waitUntil(
      async () => (await api.app.get(BulkRefund).refundOnce())?.completed === true,
      'bulk refund completed',
    );
    expect(await owedRows()).toEqual(expected);
  });

  it("reads a canceled show's window refunds owed while the bulk refund's cancellations are only in Redis, lists them and lets them be paid before the flush", async () => {
    const show = await createPerformance(api.app, admin, 6, { price: 2500, currency: 'EUR' });
    const cashSale = await sell(show.id, show.seatIds.slice(0, 2), 'CASH', 'pending.cash@example.test');
    const cardSale = await sell(show.id, [show.seatIds[2]], 'CARD_TERMINAL', 'pending.card@example.test');
    await flushPurchases(api.app);

    // PostgreSQL does not take the bulk refund's cancellations now: they wait in the stream for the flush.
    const written = vi
      .spyOn(api.app.get(PurchaseRepository), 'cancelWritten')
      .mockRejectedValue(new Error('connection lost'));
    const canceled = await call('POST', `/admin/performances/${show.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    const step = await api.app.get(BulkRefund).refundOnce();
    expect(step).toMatchObject({ performanceId: show.id, canceled: 2, completed: false });
    expect(written).toHaveBeenCalledTimes(2);
    written.mockRestore();
    const { rows: stillPaid } = await db.query(`SELECT status FROM purchases WHERE id = ANY($1::uuid[])`, [
      [cashSale, cardSale],
    ]);
    expect(stillPaid).toEqual([{ status: 'PAID' }, { status: 'PAID' }]);

    const owedBoth = {
      boxOfficeCancellations: 2,
      windowRefundsOwed: 2,
      cashRefundsOwed: 5000,
      cardTerminalRefundsOwed: 2500,
      windowRefundsPaid: 0,
      cashRefundsPaid: 0,
      cardTerminalRefundsPaid: 0,
    };
    expect(await totals(show.id)).toMatchObject(owedBoth);

    // Paid at the window before the flush: the mark writes the cancellation first, then marks it.
    // Two admins at once: one 200, one 409, one audit row.
    const marks = await Promise.all(
      [admin, secondAdmin].map((session) =>
        call('POST', `/admin/purchases/${cardSale}/window-refund/paid`, { session }),
      ),
    );
    expect(marks.map((mark) => mark.statusCode).sort()).toEqual([200, 409]);
    const paid = marks.find((mark) => mark.statusCode === 200)!;
    const { rows: markAudit } = await db.query(
      `SELECT 1 FROM admin_audit_log WHERE action = 'purchase.window-refund-paid' AND subject_id = $1`,
      [cardSale],
    );
    expect(markAudit).toHaveLength(1);
    expect(paid.json()).toMatchObject({
      purchaseId: cardSale,
      status: 'PAID',
      amount: 2500,
      refundMethod: 'CARD_TERMINAL',
    });
    const owed = await call('GET', `/admin/performances/${show.id}/window-refunds?status=OWED`, { session: admin });
    expect(owed.statusCode, owed.body).toBe(200);
    expect(owed.json().items).toMatchObject([
      {
        purchaseId: cashSale,
        amount: 5000,
        refundMethod: 'CASH',
        status: 'OWED',
        buyerEmail: 'pending.cash@example.test',
      },
    ]);
    const partlyPaid = {
      ...owedBoth,
      windowRefundsOwed: 1,
      cardTerminalRefundsOwed: 0,
      windowRefundsPaid: 1,
      cardTerminalRefundsPaid: 2500,
    };
    expect(await totals(show.id)).toMatchObject(partlyPaid);

    // The flush's replay changes nothing: one notice each, one owed row each, the mark kept.
    await flushPurchases(api.app);
    expect(await totals(show.id)).toMatchObject(partlyPaid);
    const { rows: notices } = await db.query(
      `SELECT message_id, routing_key FROM outbox WHERE message_id = ANY($1::text[]) ORDER BY message_id`,
      [[`purchase-canceled:${cashSale}`, `purchase-canceled:${cardSale}`]],
    );
    expect(notices).toHaveLength(2);
    expect(notices.map((notice: { routing_key: string }) => notice.routing_key)).toEqual([
      'purchase.canceled.performance',
      'purchase.canceled.performance',
    ]);
    const { rows: refunds } = await db.query(
      `SELECT purchase_id, status, amount::int FROM window_refunds WHERE performance_id = $1 ORDER BY amount`,
      [show.id],
    );
    expect(refunds).toEqual([
      { purchase_id: cardSale, status: 'PAID', amount: 2500 },
      { purchase_id: cashSale, status: 'OWED', amount: 5000 },
    ]);
    await waitUntil(
      async () => (await api.app.get(BulkRefund).refundOnce())?.completed === true,
      'bulk refund completed',
    );
  });
  it("names the walk-up the window took only a name of (no address): the owed list says their name, the address is the clerk's", async () => {
    const show = await createPerformance(api.app, admin, 2, { price: 2500, currency: 'EUR' });
    const sold = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: [show.seatIds[0]], paymentMethod: 'CASH', name: 'Late Walk-up' },
      session: staff,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    await flushPurchases(api.app);
    await cancelShow(show.id);
    const owed = await call('GET', `/admin/performances/${show.id}/window-refunds`, { session: admin });
    expect(owed.statusCode, owed.body).toBe(200);
    expect(owed.json().items).toMatchObject([
      { purchaseId: sold.json().id, amount: 2500, status: 'OWED', buyerName: 'Late Walk-up', buyerEmail: staff.email },
    ]);
  });
});
