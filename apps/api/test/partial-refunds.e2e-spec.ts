import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import {
  EmailDeliveriesRepository,
  PurchaseReceiptsRepository,
  PurchaseRefundsRepository,
  PurchaseRepository,
  TransactionRunner,
} from '@app/database';
import { toPurchaseCanceled } from '@app/messaging/contracts';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import {
  formatSeat,
  Mailer,
  OutgoingEmail,
  partialRefundIdempotencyKey,
  PurchaseMailService,
  TicketCodes,
  PaymentGateway,
  PaymentReconciler,
  REFUND_ACTION,
  refundIdempotencyKey,
  SeatReconciler,
  performanceKeys,
  SeatStateStore,
} from '@app/ticketing';
import {
  caller,
  createPerformance,
  doorsOpenNow,
  flushPurchases,
  flushPurchasesAfterLoss,
  hold,
} from './purchase-helpers';
import { startTestApi } from './support/api';
import { reconcileUntilSettled, RefundLedger } from './support/payments';

/**
 * Partial refunds: an operator refunds some seats of a purchase (`seatIds` on
 * POST /admin/purchases/:id/refund), on real PostgreSQL and Redis. The seats sell again at once,
 * their tickets are void, exactly their prices go back through the gateway under a key of their
 * own, and the purchase stays PAID with the rest, until its last seats are refunded.
 */
describe('partial refunds (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let call: ReturnType<typeof caller>;
  let db: Client;

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0', PAYMENT_RECONCILE_AFTER_SECONDS: '1' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await db?.end();
    await api?.close();
  });

  async function buy(session: TestSession, performanceId: number, seatIds: number[]) {
    const held = await hold(api.app, session, performanceId, seatIds);
    const res = await call('POST', '/purchases', { session, body: { reservationId: held.id } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; amount: number; seatIds: number[] };
  }
  const refund = (id: string, body?: object) =>
    call('POST', `/admin/purchases/${id}/refund`, { session: admin, ...(body ? { body } : {}) });
  /** The purchase's tickets in seat order: status, and whether a partial refund voided it (`refund_id`). */
  const ticketsOf = async (purchaseId: string) =>
    (
      await db.query(
        `SELECT seat_id, status, refund_id IS NOT NULL AS refunded FROM tickets WHERE purchase_id = $1 ORDER BY seat_id`,
        [purchaseId],
      )
    ).rows;

  it('refunds seats in steps: the seats sell again, the views, the write-behind, a rebuild and the money follow; the last seats cancel it', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 700 });
    const [s0, s1, s2, s3] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1, s2, s3]);
    await flushPurchases(api.app);
    const ledger = new RefundLedger();
    // The charge as the ledger knows it (made before its install): 4 seats of 700.
    ledger.install(api.app.get(PaymentGateway));
    (ledger as unknown as { charges: Map<string, object> }).charges.set(`ch_${purchase.id}`, {
      amount: 2800,
      currency: 'KRW',
    });
    const statuses = (seatIds: number[]) => api.app.get(SeatStateStore).statuses(performance.id, seatIds);

    // Bad input changes nothing.
    for (const body of [{ seatIds: [] }, { seatIds: [s1, s1] }, { seatIds: ['x'] }, { seatIds: [0] }]) {
      expect((await refund(purchase.id, body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    const stranger = await refund(purchase.id, { seatIds: [performance.seatIds[9]] });
    expect(stranger.statusCode, stranger.body).toBe(400);
    expect(stranger.json().message).toBe(`seat ${performance.seatIds[9]} is not a seat of this purchase`);

    const first = await refund(purchase.id, { seatIds: [s1] });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({
      id: purchase.id,
      status: 'PAID',
      seatIds: [s0, s2, s3],
      amount: 2100,
      refundedSeatIds: [s1],
      refundedAmount: 700,
      refunded: { seatIds: [s1], amount: 700 },
      keptSeatIds: [],
    });
    expect(first.json().seats.map((seat: { seatId: number }) => seat.seatId)).toEqual([s0, s2, s3]);
    expect(await statuses([s0, s1, s2, s3])).toEqual(['SOLD', 'AVAILABLE', 'SOLD', 'SOLD']);

    const again = await refund(purchase.id, { seatIds: [s2, s1] });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json()).toMatchObject({
      message: `seat ${s1} of this purchase has already been refunded`,
      details: { seatIds: [s1] },
    });
    expect(await statuses([s2])).toEqual(['SOLD']);

    const second = await refund(purchase.id, { seatIds: [s2, s0] });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({
      status: 'PAID',
      seatIds: [s3],
      amount: 700,
      refundedSeatIds: [s1, s2, s0],
      refundedAmount: 2100,
      refunded: { seatIds: [s2, s0], amount: 1400 },
    });
    // The buyer's views say the same.
    const mine = (await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json();
    expect(mine).toMatchObject({ status: 'PAID', seatIds: [s3], amount: 700, refundedAmount: 2100 });
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json();
    expect(tickets.items.map((t: { seat: { id: number }; status: string }) => [t.seat.id, t.status]).sort()).toEqual(
      [
        [s0, 'CANCELED'],
        [s1, 'CANCELED'],
        [s2, 'CANCELED'],
        [s3, 'ACTIVE'],
      ].sort(),
    );
    const counts = (await call('GET', `/performances/${performance.id}`)).json();
    expect({ sold: counts.sold, available: counts.available }).toEqual({ sold: 1, available: 9 });

    await flushPurchases(api.app);
    // PostgreSQL: the charge kept, the refunds and the void tickets recorded; read back as Redis has it.
    const rows = await db.query(
      `SELECT seat_ids, amount::int, status FROM purchase_refunds WHERE purchase_id = $1 ORDER BY refunded_at`,
      [purchase.id],
    );
    expect(rows.rows).toEqual([
      { seat_ids: [s1], amount: 700, status: 'REFUNDED' },
      { seat_ids: [s2, s0], amount: 1400, status: 'REFUNDED' },
    ]);
    expect(await ticketsOf(purchase.id)).toEqual([
      { seat_id: s0, status: 'CANCELED', refunded: true },
      { seat_id: s1, status: 'CANCELED', refunded: true },
      { seat_id: s2, status: 'CANCELED', refunded: true },
      { seat_id: s3, status: 'ACTIVE', refunded: false },
    ]);
    const persisted = await api.app.get(PurchaseRepository).findById(purchase.id);
    expect(persisted).toMatchObject({ status: 'PAID', amount: 2800, seatIds: [s3], refundedAmount: 2100 });
    expect(persisted?.refundedSeatIds).toEqual([s1, s0, s2]);
    // Revenue net of the refunds, one seat sold; the door list has its one ticket.
    const sales = (await call('GET', `/performances/${performance.id}/sales`, { session: admin })).json();
    expect(sales.totals).toMatchObject({ revenue: 700, sold: 1, purchases: 1, cancellations: 0 });
    const door = await call('GET', `/performances/${performance.id}/attendees`, { session: admin });
    expect(door.body.trim().split('\r\n')).toHaveLength(2);
    // A rebuild from PostgreSQL: the refunded seats are for sale, the kept one sold.
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const rebuilt = (await call('GET', `/performances/${performance.id}`)).json();
    expect({ sold: rebuilt.sold, available: rebuilt.available }).toEqual({ sold: 1, available: 9 });
    expect(await statuses([s0, s1, s2, s3])).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'SOLD']);

    // Its last seat: the whole refund of what is left; the purchase is canceled.
    const last = await refund(purchase.id, { seatIds: [s3] });
    expect(last.statusCode, last.body).toBe(200);
    expect(last.json()).toMatchObject({
      status: 'CANCELED',
      seatIds: [s3],
      amount: 700,
      refunded: { seatIds: [s3], amount: 700 },
    });
    expect(await statuses([s3])).toEqual(['AVAILABLE']);
    expect((await refund(purchase.id, { seatIds: [s3] })).statusCode).toBe(409);
    await flushPurchasesAfterLoss(api.app);

    const charge = `ch_${purchase.id}`;
    expect(
      ledger
        .refundsOf(charge)
        .map(({ request }) => [
          request.idempotencyKey.startsWith(`${refundIdempotencyKey(purchase.id)}:`),
          request.amount,
        ]),
    ).toEqual([
      [true, 700],
      [true, 1400],
      [false, 700],
    ]);
    ledger.expectMoneyMovedOnce();
    const attempt = await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchase.id]);
    expect(attempt.rows).toEqual([{ status: 'REFUNDED' }]);
    const audit = await db.query(
      `SELECT details FROM admin_audit_log WHERE subject_id = $1 AND action = $2 ORDER BY created_at, id`,
      [purchase.id, REFUND_ACTION],
    );
    expect(audit.rows.map((row: { details: object }) => row.details)).toEqual([
      expect.objectContaining({ seatIds: [s1], amount: 700, partial: true }),
      expect.objectContaining({ seatIds: [s2, s0], amount: 1400, partial: true }),
      expect.objectContaining({ seatIds: [s3], amount: 700, partial: false }),
    ]);
    vi.restoreAllMocks();
  });

  it('refuses a partial refund before the purchase is written behind (409, Retry-After), changing nothing; all its seats is its whole refund', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, performance.seatIds.slice(0, 2));
    const early = await refund(purchase.id, { seatIds: [performance.seatIds[0]] });
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json().message).toMatch(/^some seats of a purchase can be refunded once it is written behind/);
    expect(early.headers['retry-after']).toBeDefined();
    expect(await api.app.get(SeatStateStore).statuses(performance.id, performance.seatIds.slice(0, 2))).toEqual([
      'SOLD',
      'SOLD',
    ]);
    const whole = await refund(purchase.id, { seatIds: performance.seatIds.slice(0, 2) });
    expect(whole.statusCode, whole.body).toBe(200);
    expect(whole.json()).toMatchObject({ status: 'CANCELED', refunded: { amount: purchase.amount } });
    await flushPurchases(api.app);
  });

  it('a partial refund whose gateway answer was lost is owed, and the reconciler makes it once; the buyer’s cancel then gives back only the rest', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 300 });
    const [s0, s1, s2] = performance.seatIds;
    const buyer = await createSession(api.app);
    const ledger = new RefundLedger();
    ledger.install(api.app.get(PaymentGateway));
    const purchase = await buy(buyer, performance.id, [s0, s1, s2]);
    await flushPurchases(api.app);
    ledger.loseNextAnswer('error');
    const partial = await refund(purchase.id, { seatIds: [s1] });
    expect(partial.statusCode, partial.body).toBe(200);
    const owed = await db.query('SELECT id, status FROM purchase_refunds WHERE purchase_id = $1', [purchase.id]);
    expect(owed.rows).toEqual([{ id: expect.any(String), status: 'OWED' }]);
    await db.query(`UPDATE purchase_refunds SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`, [
      purchase.id,
    ]);
    await reconcileUntilSettled(api, db, [purchase.id]);
    const settled = await db.query('SELECT status FROM purchase_refunds WHERE purchase_id = $1', [purchase.id]);
    expect(settled.rows).toEqual([{ status: 'REFUNDED' }]);
    const key = partialRefundIdempotencyKey(purchase.id, owed.rows[0].id);
    expect(ledger.refunds.get(key)).toMatchObject({ request: { amount: 300 }, asks: 2 });

    // The buyer cancels the rest; its refund answer lost too, so the reconciler computes the rest itself.
    ledger.loseNextAnswer('error');
    const cancel = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ status: 'CANCELED', seatIds: [s0, s2], amount: 600 });
    await flushPurchases(api.app);
    await reconcileUntilSettled(api, db, [purchase.id]);
    expect(ledger.refunds.get(refundIdempotencyKey(purchase.id))).toMatchObject({ request: { amount: 600 }, asks: 2 });
    ledger.expectMoneyMovedOnce();
    vi.restoreAllMocks();
  });

  it('a partial refund PostgreSQL could not take at once is written by the flush, owed, and refunded by the reconciler', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 400 });
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const ledger = new RefundLedger();
    const { refund: refunds } = ledger.install(api.app.get(PaymentGateway));
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    const partial = await refund(purchase.id, { seatIds: [s0] });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(partial.json()).toMatchObject({ status: 'PAID', seatIds: [s1], refunded: { seatIds: [s0], amount: 400 } });
    // Not written, so not refunded: the money follows the write.
    expect(refunds).not.toHaveBeenCalled();
    expect((await db.query('SELECT 1 FROM purchase_refunds WHERE purchase_id = $1', [purchase.id])).rows).toEqual([]);

    await flushPurchases(api.app);
    const written = await db.query(
      `SELECT r.status, t.status AS ticket FROM purchase_refunds r JOIN tickets t ON t.refund_id = r.id
        WHERE r.purchase_id = $1`,
      [purchase.id],
    );
    expect(written.rows).toEqual([{ status: 'OWED', ticket: 'CANCELED' }]);
    await reconcileUntilSettled(api, db, [purchase.id]);
    expect((await db.query('SELECT status FROM purchase_refunds WHERE purchase_id = $1', [purchase.id])).rows).toEqual([
      { status: 'REFUNDED' },
    ]);
    expect(ledger.refundsOf(`ch_${purchase.id}`).map(({ request }) => request.amount)).toEqual([400]);
    ledger.expectMoneyMovedOnce();
    vi.restoreAllMocks();
  });

  it('a checked-in seat named: 409, or kept sold with resellCheckedInSeats false, also after a rebuild', async () => {
    const performance = await createPerformance(api.app, admin, 10, doorsOpenNow());
    const [s0, s1, s2] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1, s2]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      seat: { id: number };
      code: string;
    }[];
    const used = tickets.find((ticket) => ticket.seat.id === s0)!;
    const checkedIn = await call('POST', '/check-in', { body: { code: used.code }, session: admin });
    expect(checkedIn.statusCode, checkedIn.body).toBe(200);
    const statuses = (seatIds: number[]) => api.app.get(SeatStateStore).statuses(performance.id, seatIds);

    const refused = await refund(purchase.id, { seatIds: [s0, s1] });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details).toEqual({ seatIds: [s0] });
    expect(await statuses([s0, s1, s2])).toEqual(['SOLD', 'SOLD', 'SOLD']);
    // A seat not checked in is refunded as ever.
    expect((await refund(purchase.id, { seatIds: [s2] })).statusCode).toBe(200);

    const kept = await refund(purchase.id, { seatIds: [s0], resellCheckedInSeats: false });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({
      status: 'PAID',
      seatIds: [s1],
      keptSeatIds: [s0],
      refunded: { seatIds: [s0] },
    });
    expect(await statuses([s0, s1, s2])).toEqual(['SOLD', 'SOLD', 'AVAILABLE']);
    await flushPurchases(api.app);
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const rebuilt = (await call('GET', `/performances/${performance.id}`)).json();
    expect({ sold: rebuilt.sold, available: rebuilt.available }).toEqual({ sold: 2, available: 8 });
    expect(await statuses([s0, s1, s2])).toEqual(['SOLD', 'SOLD', 'AVAILABLE']);
    await flushPurchasesAfterLoss(api.app);
  });

  it('a refunded seat admits no one at the door, also while its refund is only in Redis', async () => {
    const performance = await createPerformance(api.app, admin, 10, doorsOpenNow());
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      seat: { id: number };
      code: string;
    }[];
    const codeOf = (seatId: number) => tickets.find((ticket) => ticket.seat.id === seatId)!.code;
    // PostgreSQL misses the refund: its ticket stays ACTIVE there until the flush writes it.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    const partial = await refund(purchase.id, { seatIds: [s0] });
    expect(partial.statusCode, partial.body).toBe(200);
    const ticket = await db.query('SELECT status FROM tickets WHERE purchase_id = $1 AND seat_id = $2', [
      purchase.id,
      s0,
    ]);
    expect(ticket.rows).toEqual([{ status: 'ACTIVE' }]);
    const door = await call('POST', '/check-in', { body: { code: codeOf(s0) }, session: admin });
    expect(door.statusCode, door.body).toBe(409);
    // The gate tells the holder the seat was refunded, not only that a purchase (still PAID) was.
    const refusal = 'ticket is canceled (its purchase was canceled or refunded, or this seat refunded)';
    expect(door.json().message).toBe(refusal);
    // The purchase's other seat admits as ever; after the flush the refunded one is still refused.
    expect((await call('POST', '/check-in', { body: { code: codeOf(s1) }, session: admin })).statusCode).toBe(200);
    await flushPurchases(api.app);
    const later = await call('POST', '/check-in', { body: { code: codeOf(s0) }, session: admin });
    expect(later.statusCode, later.body).toBe(409);
    expect(later.json().message).toBe(refusal);
    const used = await db.query('SELECT status, checked_in_at FROM tickets WHERE purchase_id = $1 AND seat_id = $2', [
      purchase.id,
      s0,
    ]);
    expect(used.rows).toEqual([{ status: 'CANCELED', checked_in_at: null }]);
    vi.restoreAllMocks();
  });

  it('the seat reconciler leaves a refunded seat to its new buyer while the refund is only in Redis', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 400 });
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const other = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(purchase.id, { seatIds: [s0] })).statusCode).toBe(200);
    // PostgreSQL still has s0's ticket ACTIVE: a sale the reconciler would restore, but for the refund.
    const held = await hold(api.app, other, performance.id, [s0]);
    const { repairs } = await api.app.get(SeatReconciler).reconcilePerformance(performance.id);
    expect(repairs).toEqual([]);
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [s0, s1])).toEqual(['HELD', 'SOLD']);
    const bought = await call('POST', '/purchases', { session: other, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchases(api.app);
    const tickets = await db.query(
      `SELECT purchase_id, status FROM tickets WHERE performance_id = $1 AND seat_id = $2 ORDER BY status`,
      [performance.id, s0],
    );
    expect(tickets.rows).toEqual([
      { purchase_id: bought.json().id, status: 'ACTIVE' },
      { purchase_id: purchase.id, status: 'CANCELED' },
    ]);
    vi.restoreAllMocks();
  });

  it('a cancel written before a partial refund PostgreSQL missed: the reconciler refunds only the rest, once the flush wrote it', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 400 });
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const ledger = new RefundLedger();
    const { refund: refunds } = ledger.install(api.app.get(PaymentGateway));
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    // The partial refund's write fails: it waits in the purchase stream for the flush.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(purchase.id, { seatIds: [s0] })).statusCode).toBe(200);
    // The buyer cancels the rest: the api writes the cancellation to PostgreSQL at once, its refund fails.
    refunds.mockImplementationOnce(async () => {
      throw new Error('gateway unreachable');
    });
    const cancel = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ status: 'CANCELED', amount: 400 });
    // The reconciler before the flush leaves the whole refund open: PostgreSQL lacks the partial one.
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`, [
      purchase.id,
    ]);
    const reconciler = api.app.get(PaymentReconciler);
    const outcomes = [];
    for (let outcome = await reconciler.reconcileOnce(); outcome; outcome = await reconciler.reconcileOnce()) {
      outcomes.push(outcome);
    }
    expect(outcomes).toContain('deferred');
    expect(ledger.refundsOf(`ch_${purchase.id}`)).toEqual([]);
    const open = await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchase.id]);
    expect(open.rows).toEqual([{ status: 'REFUND_OWED' }]);
    await flushPurchases(api.app);
    // Redis gave s0 to the partial refund before the cancel took the rest, yet the cancel's write
    // had canceled s0's ticket too: the partial refund's write claims it, so PostgreSQL's views and
    // the buyer's notices name s0 refunded on its own, not canceled with s1 (money trial M1).
    expect(await ticketsOf(purchase.id)).toEqual([
      { seat_id: s0, status: 'CANCELED', refunded: true },
      { seat_id: s1, status: 'CANCELED', refunded: false },
    ]);
    const receipt = await api.app.get(PurchaseReceiptsRepository).findByPurchaseId(purchase.id);
    expect(receipt?.seats.map((seat) => seat.seatId)).toEqual([s1]);
    expect(receipt?.refundedSeats.map((seat) => seat.seatId)).toEqual([s0]);
    await db.query(`UPDATE purchase_refunds SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`, [
      purchase.id,
    ]);
    await reconcileUntilSettled(api, db, [purchase.id]);
    expect(
      ledger
        .refundsOf(`ch_${purchase.id}`)
        .map(({ request }) => request.amount)
        .sort(),
    ).toEqual([400, 400]);
    expect(ledger.violations).toEqual([]);
    ledger.expectMoneyMovedOnce();
    vi.restoreAllMocks();
  });

  it("a cancel written before its racing partial refund: the cancellation notice waits for the refund's write, then lists only the seats it canceled", async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 400 });
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    // The mailer's service on the api's database, its SMTP side a recorder (not a service under test).
    const sent: OutgoingEmail[] = [];
    const mail = new PurchaseMailService(
      api.app.get(PurchaseReceiptsRepository),
      api.app.get(EmailDeliveriesRepository),
      api.app.get(TransactionRunner),
      { send: async (email: OutgoingEmail) => (sent.push(email), { smtpMessageId: null }) } as Mailer,
      api.app.get(Env),
      api.app.get(TicketCodes),
      api.app.get(Clock),
    );
    const confirmed = await mail.deliver(
      {
        purchaseId: purchase.id,
        userId: buyer.id,
        performanceId: performance.id,
        seatIds: [s0, s1],
        amount: 800,
        currency: 'KRW',
        createdAt: new Date().toISOString(),
      },
      'urgent',
    );
    expect(confirmed).toBe('sent');
    // Redis gives s0 to the partial refund, whose write PostgreSQL misses (the flush writes it later);
    // the buyer's cancel of the rest is written at once: PostgreSQL reads s0 canceled with s1 meanwhile.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(purchase.id, { seatIds: [s0] })).statusCode).toBe(200);
    const cancel = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const outbox = await db.query('SELECT payload FROM outbox WHERE message_id = $1', [
      `purchase-canceled:${purchase.id}`,
    ]);
    const notice = toPurchaseCanceled(outbox.rows[0].payload);
    // Rendered now, the notice would name s0 among the canceled seats: it waits (the mailer retries it).
    await expect(mail.deliverCancellation(notice, 'urgent')).rejects.toThrow(/partial refund/);
    expect(sent).toHaveLength(1);
    await flushPurchases(api.app);
    expect(await mail.deliverCancellation(notice, 'urgent')).toBe('sent');
    const receipt = (await api.app.get(PurchaseReceiptsRepository).findByPurchaseId(purchase.id))!;
    const [seatS0] = receipt.refundedSeats;
    const [seatS1] = receipt.seats;
    expect([seatS0?.seatId, seatS1?.seatId]).toEqual([s0, s1]);
    const canceledText = sent[1]!.text;
    expect(canceledText).toContain(formatSeat(seatS1!));
    expect(canceledText).not.toContain(formatSeat(seatS0!));
    vi.restoreAllMocks();
  });

  it('a refunded seat’s ticket is offered to no one, nor is an offer made before its refund accepted, also while the refund is only in Redis', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const [s0, s1, s2] = performance.seatIds;
    const buyer = await createSession(api.app);
    const friend = await createSession(api.app);
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [friend.id]);
    const purchase = await buy(buyer, performance.id, [s0, s1, s2]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      id: string;
      seat: { id: number };
    }[];
    const ticketOf = (seatId: number) => tickets.find((ticket) => ticket.seat.id === seatId)!.id;
    const offer = (seatId: number) =>
      call('POST', `/tickets/${ticketOf(seatId)}/transfers`, { session: buyer, body: { email: friend.email } });
    const accept = (transferId: string) => call('POST', `/ticket-transfers/${transferId}/accept`, { session: friend });
    const offered = await offer(s0);
    expect(offered.statusCode, offered.body).toBe(202);
    // PostgreSQL misses the refund: its tickets stay ACTIVE there until the flush writes it.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(purchase.id, { seatIds: [s0, s1] })).statusCode).toBe(200);
    const active = await db.query(
      `SELECT count(*)::int AS n FROM tickets WHERE purchase_id = $1 AND status = 'ACTIVE'`,
      [purchase.id],
    );
    expect(active.rows).toEqual([{ n: 3 }]);

    // Before the flush the ticket is void in Redis; after it the offer itself is canceled.
    const refusals = async (acceptRefused: RegExp) => {
      const accepted = await accept(offered.json().id);
      expect(accepted.statusCode, accepted.body).toBe(409);
      expect(accepted.json().message).toMatch(acceptRefused);
      const late = await offer(s1);
      expect(late.statusCode, late.body).toBe(409);
      expect(late.json().message).toMatch(/ticket is canceled/);
    };
    await refusals(/ticket is canceled/);
    // The buyer's ticket list says so too; the seat it kept is offered as ever.
    const held = (await call('GET', '/tickets?limit=100', { session: buyer })).json().items as {
      id: string;
      status: string;
      code: string | null;
    }[];
    const listed = (seatId: number) => held.find((ticket) => ticket.id === ticketOf(seatId));
    expect([s0, s1, s2].map((seatId) => [listed(seatId)?.status, listed(seatId)?.code === null])).toEqual([
      ['CANCELED', true],
      ['CANCELED', true],
      ['ACTIVE', false],
    ]);
    expect((await offer(s2)).statusCode).toBe(202);
    await flushPurchases(api.app);
    await refusals(/no longer pending: it was canceled \(the ticket was canceled\)/);
    // The flush ended the offer with its ticket, not with its purchase, which stands (transfers
    // trial 2026-12-07, X2: the accept said "the ticket was canceled with its purchase"); the
    // ticket never changed hands.
    const transfer = await db.query(
      `SELECT x.status, x.cancel_reason, t.holder_id FROM ticket_transfers x JOIN tickets t ON t.id = x.ticket_id
        WHERE x.id = $1`,
      [offered.json().id],
    );
    expect(transfer.rows).toEqual([{ status: 'CANCELED', cancel_reason: 'TICKET_CANCELED', holder_id: null }]);
    const withdrawn = await db.query('SELECT 1 FROM outbox WHERE message_id = $1', [
      `ticket-transfer-withdrawn:${offered.json().id}`,
    ]);
    expect(withdrawn.rowCount).toBe(1);
    vi.restoreAllMocks();
  });

  it('a transferred seat refunded blocks no buyer’s cancel of the rest; one left refuses it, also while the refund is only in Redis', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const [s0, s1, s2, s3, s4] = performance.seatIds;
    const buyer = await createSession(api.app);
    const friend = await createSession(api.app);
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [friend.id]);
    const flushedRefund = await buy(buyer, performance.id, [s0, s1, s2]);
    const redisRefund = await buy(buyer, performance.id, [s3, s4]);
    await flushPurchases(api.app);
    const give = async (purchaseId: string, seatId: number) => {
      const tickets = (await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer })).json().items as {
        id: string;
        seat: { id: number };
      }[];
      const ticket = tickets.find((item) => item.seat.id === seatId)!;
      const offered = await call('POST', `/tickets/${ticket.id}/transfers`, {
        session: buyer,
        body: { email: friend.email },
      });
      expect(offered.statusCode, offered.body).toBe(202);
      const accepted = await call('POST', `/ticket-transfers/${offered.json().id}/accept`, { session: friend });
      expect(accepted.statusCode, accepted.body).toBe(200);
    };
    const cancel = (purchaseId: string) => call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    await give(flushedRefund.id, s0);
    await give(flushedRefund.id, s1);
    await give(redisRefund.id, s3);

    // s0 refunded and written: only s1, still the purchase's, refuses the buyer's cancel.
    expect((await refund(flushedRefund.id, { seatIds: [s0] })).statusCode).toBe(200);
    await flushPurchases(api.app);
    const refused = await cancel(flushedRefund.id);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      error: 'Conflict',
      message: expect.stringContaining('transferred'),
      details: { seatIds: [s1] },
    });
    expect((await refund(flushedRefund.id, { seatIds: [s1] })).statusCode).toBe(200);
    await flushPurchases(api.app);
    const canceled = await cancel(flushedRefund.id);
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({ status: 'CANCELED', seatIds: [s2] });

    // PostgreSQL misses the refund of s3: its ticket still reads ACTIVE and transferred there.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(redisRefund.id, { seatIds: [s3] })).statusCode).toBe(200);
    const unwritten = await db.query(
      `SELECT status FROM tickets WHERE purchase_id = $1 AND seat_id = $2 AND holder_id IS NOT NULL`,
      [redisRefund.id, s3],
    );
    expect(unwritten.rows).toEqual([{ status: 'ACTIVE' }]);
    const rest = await cancel(redisRefund.id);
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({ status: 'CANCELED', seatIds: [s4] });
    await flushPurchases(api.app);
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [s0, s1, s2, s3, s4])).toEqual(
      Array(5).fill('AVAILABLE'),
    );
    vi.restoreAllMocks();
  });

  it('a checked-in seat kept by a partial refund blocks no refund of the other seats; a checked-in seat left refuses the whole refund', async () => {
    const performance = await createPerformance(api.app, admin, 10, doorsOpenNow());
    const [s0, s1, s2, s3] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1, s2, s3]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      seat: { id: number };
      code: string;
    }[];
    const scan = async (seatId: number) => {
      const code = tickets.find((ticket) => ticket.seat.id === seatId)!.code;
      const answer = await call('POST', '/check-in', { body: { code }, session: admin });
      expect(answer.statusCode, answer.body).toBe(200);
    };
    await scan(s0);
    await scan(s1);
    // A seat not checked in: refunded; a checked-in one named: 409 naming it; the whole refund: 409.
    expect((await refund(purchase.id, { seatIds: [s3] })).statusCode).toBe(200);
    const named = await refund(purchase.id, { seatIds: [s1, s2] });
    expect(named.statusCode, named.body).toBe(409);
    expect(named.json().details).toEqual({ seatIds: [s1] });
    const whole = await refund(purchase.id);
    expect(whole.statusCode, whole.body).toBe(409);
    expect([...whole.json().details.seatIds].sort((a: number, b: number) => a - b)).toEqual(
      [s0, s1].sort((a, b) => a - b),
    );
    // s0 refunded but kept sold (its holder is inside): s1 is still checked in, so the whole refund stays refused.
    expect((await refund(purchase.id, { seatIds: [s0], resellCheckedInSeats: false })).statusCode).toBe(200);
    const stillRefused = await refund(purchase.id);
    expect(stillRefused.statusCode, stillRefused.body).toBe(409);
    expect(stillRefused.json().details).toEqual({ seatIds: [s1] });
    // s1 kept too: the kept seats are the purchase's no more, so nothing checked in is left in it.
    expect((await refund(purchase.id, { seatIds: [s1], resellCheckedInSeats: false })).statusCode).toBe(200);
    await flushPurchases(api.app);
    const rest = await refund(purchase.id);
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({ status: 'CANCELED', seatIds: [s2], keptSeatIds: [] });
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [s0, s1, s2, s3])).toEqual([
      'SOLD',
      'SOLD',
      'AVAILABLE',
      'AVAILABLE',
    ]);
    await flushPurchases(api.app);
    // A rebuild from PostgreSQL reads the kept seats sold as well.
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const rebuilt = (await call('GET', `/performances/${performance.id}`)).json();
    expect({ sold: rebuilt.sold, available: rebuilt.available }).toEqual({ sold: 2, available: 8 });
    await flushPurchasesAfterLoss(api.app);
  });

  it('a checked-in seat kept by a partial refund counts sold and kept in the sales report, as the live reads count it, and the figures add up', async () => {
    const performance = await createPerformance(api.app, admin, 20, doorsOpenNow());
    const [s0, s1, s2] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1, s2]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      seat: { id: number };
      code: string;
    }[];
    const code = tickets.find((ticket) => ticket.seat.id === s0)!.code;
    expect((await call('POST', '/check-in', { body: { code }, session: admin })).statusCode).toBe(200);
    const kept = await refund(purchase.id, { seatIds: [s0], resellCheckedInSeats: false });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toMatchObject({ status: 'PAID', seatIds: [s1, s2], keptSeatIds: [s0] });

    const agree = async (when: string) => {
      const live = (await call('GET', `/performances/${performance.id}`)).json();
      const seats = (await call('GET', `/performances/${performance.id}/seats?limit=100`)).json().items as {
        id: number;
        status: string;
      }[];
      const sections = (await call('GET', `/performances/${performance.id}/sections`)).json().items as {
        available: number;
      }[];
      const report = (await call('GET', `/performances/${performance.id}/sales`, { session: admin })).json();
      const { totals } = report;
      expect({ sold: live.sold, available: live.available, held: live.held }, when).toEqual({
        sold: 3,
        available: 17,
        held: 0,
      });
      expect(
        seats
          .filter((seat) => seat.status === 'SOLD')
          .map((seat) => seat.id)
          .sort(),
        when,
      ).toEqual([s0, s1, s2].sort());
      expect(
        sections.reduce((sum, section) => sum + section.available, 0),
        when,
      ).toBe(live.available);
      expect({ sold: totals.sold, available: totals.available, held: totals.held, kept: totals.kept }, when).toEqual({
        sold: live.sold,
        available: live.available,
        held: live.held,
        kept: 1,
      });
      // The kept seat's ticket is void: not checked in, only the purchase's two seats bring revenue.
      expect(
        { checkedIn: totals.checkedIn, revenue: totals.revenue, cancellations: totals.cancellations },
        when,
      ).toEqual({ checkedIn: 0, revenue: purchase.amount - kept.json().refunded.amount, cancellations: 0 });
      for (const figures of [totals, ...report.sections]) {
        expect(
          figures.available + figures.held + figures.sold + figures.blocked + figures.unsold,
          `${when}: ${figures.name ?? 'totals'}`,
        ).toBe(figures.seatsTotal);
      }
    };
    await agree('refund written at once');
    await flushPurchases(api.app);
    await agree('after the flush');
  });

  it('a refunded seat’s ticket scanned outside the check-in window answers TicketCanceled, also while the refund is only in Redis', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, [s0, s1]);
    await flushPurchases(api.app);
    const tickets = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items as {
      seat: { id: number };
      code: string;
    }[];
    const scan = (seatId: number) =>
      call('POST', '/check-in', { body: { code: tickets.find((t) => t.seat.id === seatId)!.code }, session: admin });
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(new Error('connection lost'));
    expect((await refund(purchase.id, { seatIds: [s0] })).statusCode).toBe(200);
    const early = await scan(s0);
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json().message).toMatch(/ticket is canceled/);
    // The seat it kept hears about the window.
    expect((await scan(s1)).json().message).not.toMatch(/ticket is canceled/);
    await flushPurchases(api.app);
    expect((await scan(s0)).json().message).toMatch(/ticket is canceled/);
    vi.restoreAllMocks();
  });

  it('concurrent refunds of overlapping seats: each seat goes to exactly one, its money refunded once', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 100 });
    const seats = performance.seatIds.slice(0, 4);
    const [a, b, c, d] = seats;
    const buyer = await createSession(api.app);
    const ledger = new RefundLedger();
    ledger.install(api.app.get(PaymentGateway));
    const purchase = await buy(buyer, performance.id, seats);
    await flushPurchases(api.app);

    const asks = [[a, b], [b, c], [c, d], [a], [d], [b, d], [a, c]];
    const answers = await Promise.all(asks.map((seatIds) => refund(purchase.id, { seatIds })));
    const won: number[] = [];
    for (const [i, answer] of answers.entries()) {
      if (answer.statusCode === 200) {
        expect(answer.json().refunded.seatIds).toEqual(asks[i]);
        won.push(...asks[i]);
      } else {
        expect(answer.statusCode, answer.body).toBe(409);
        // A seat another refund won first, or every seat gone (the purchase canceled by one that took the last).
        expect(answer.json().message).toMatch(/has already been refunded/);
      }
    }
    // No seat won twice.
    expect(new Set(won).size).toBe(won.length);
    expect(await api.app.get(SeatStateStore).statuses(performance.id, won)).toEqual(won.map(() => 'AVAILABLE'));
    await flushPurchases(api.app);
    await db.query(`UPDATE purchase_refunds SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = $1`, [
      purchase.id,
    ]);
    await reconcileUntilSettled(api, db, [purchase.id]);
    const given = [...ledger.refundsOf(`ch_${purchase.id}`)].reduce((sum, r) => sum + r.request.amount, 0);
    expect(given).toBe(won.length * 100);
    ledger.expectMoneyMovedOnce();
    const canceled = await db.query(
      `SELECT count(*)::int AS n FROM tickets WHERE purchase_id = $1 AND status = 'CANCELED'`,
      [purchase.id],
    );
    expect(canceled.rows).toEqual([{ n: won.length }]);
    vi.restoreAllMocks();
  });
});

/**
 * The Retry-After of a partial refund refused before its purchase is written behind: the time left
 * until its flush is due (PURCHASE_FLUSH_AGE_SECONDS after the sale, by Redis TIME), and a second
 * for the flusher's pass; once it is overdue, the flush age (at least 1, at most 60), so a stalled
 * flush is not asked about every second.
 */
describe('partial refunds before the write-behind: Retry-After (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '30' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('tells the seconds until the flush is due, not the whole flush age', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const [s0, s1] = performance.seatIds;
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, [s0, s1]);
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchaseKey = performanceKeys(performance.id).purchase(bought.json().id);
    const redis = api.app.get(Redis);
    const createdAt = Number(await redis.hget(purchaseKey, 'createdAt'));
    const refund = () =>
      call('POST', `/admin/purchases/${bought.json().id}/refund`, { session: admin, body: { seatIds: [s0] } });
    // Sold 20 s ago (as the record says): due in 10 s, and a second for the flusher's pass.
    await redis.hset(purchaseKey, 'createdAt', createdAt - 20_000);
    const early = await refund();
    expect(early.statusCode, early.body).toBe(409);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(10);
    expect(Number(early.headers['retry-after'])).toBeLessThanOrEqual(11);
    // Overdue (the flusher behind, or `batch` down): the flush age.
    await redis.hset(purchaseKey, 'createdAt', createdAt - 60_000);
    const overdue = await refund();
    expect(overdue.statusCode, overdue.body).toBe(409);
    expect(overdue.headers['retry-after']).toBe('30');
    // Nothing changed; its whole refund goes through.
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [s0, s1])).toEqual(['SOLD', 'SOLD']);
    await redis.hset(purchaseKey, 'createdAt', createdAt);
    const whole = await call('POST', `/admin/purchases/${bought.json().id}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
  });
});
