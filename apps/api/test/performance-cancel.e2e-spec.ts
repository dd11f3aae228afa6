import { afterAll, beforeAll, describe, expect, it, MockInstance } from 'vitest';
import { ROUTING } from '@app/messaging';
import { createSession, TestSession, waitUntil } from '@app/testing';
import Redis from 'ioredis';
import { BulkRefund, PaymentGateway, PaymentReconciler, performanceKeys, refundIdempotencyKey } from '@app/ticketing';
import { caller, createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { RefundLedger } from './support/payments';

interface Progress {
  performanceId: number;
  status: 'IN_PROGRESS' | 'COMPLETED';
  reason: string | null;
  requestedAt: string;
  completedAt: string | null;
  refunded: number;
  remaining: number;
}

/**
 * Canceling a performance (POST /admin/performances/:id/cancel): sales, PATCH and check-in refused
 * at once, and every paid purchase, flushed to PostgreSQL or still only in Redis, canceled and
 * refunded once through the one refund path (one still only in Redis once its flush wrote it), each
 * buyer one cancellation notice (outbox). `batch`'s
 * loops run in this process, step by step (BulkRefund, the flusher, the payment reconciler); real
 * PostgreSQL and Redis. The built batch killed mid-way: performance-cancel-crash.e2e-spec.ts.
 */
describe('performance cancel and bulk refund (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let refunds: MockInstance<PaymentGateway['refund']>;
  /** The processor's books: every refund of the file's purchases, by key. */
  let ledger: RefundLedger;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
    ledger = new RefundLedger();
    ({ refund: refunds } = ledger.install(api.app.get(PaymentGateway)));
  });
  afterAll(() => close?.());

  /** The buyer's purchase of `seatIds` (201), its id. */
  async function buy(buyer: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const held = await hold(api.app, buyer, performanceId, seatIds);
    const sold = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json().id as string;
  }

  /** A door-staff session (role STAFF, made by an admin). */
  const doorStaff = (): Promise<TestSession> =>
    createStaffSession(api.app, admin, `door-${Date.now()}@example.test`, 'Door');

  /** A 409 SalesClosed of a canceled performance. */
  function expectCanceledSales(answer: Awaited<ReturnType<ReturnType<typeof caller>>>): void {
    expect(answer.statusCode, answer.body).toBe(409);
    expect(answer.json()).toMatchObject({
      message: 'the performance has been canceled; its purchases are refunded',
      details: { reason: 'CANCELED' },
    });
  }

  const cancel = (performanceId: number, body?: object, session = admin) =>
    call('POST', `/admin/performances/${performanceId}/cancel`, { session, ...(body ? { body } : {}) });

  async function progress(performanceId: number): Promise<Progress> {
    const answer = await call('GET', `/admin/performances/${performanceId}/cancellation`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as Progress;
  }

  /** Runs batch's steps (bulk refund, flush, reconcile) until the cancellation is COMPLETED. */
  async function refundAll(performanceId: number): Promise<Progress> {
    const bulk = api.app.get(BulkRefund);
    const reconciler = api.app.get(PaymentReconciler);
    await waitUntil(
      async () => {
        await bulk.refundOnce();
        await flushPurchases(api.app);
        while (await reconciler.reconcileOnce());
        return (await progress(performanceId)).status === 'COMPLETED';
      },
      'cancellation completed',
      60_000,
      50,
    );
    return progress(performanceId);
  }

  /** Every purchase CANCELED in PostgreSQL, its attempt REFUNDED, its charge refunded once, one notice in the outbox. */
  async function expectRefundedOnce(purchaseIds: string[]): Promise<void> {
    const purchases = await db.query(`SELECT id, status FROM purchases WHERE id = ANY($1::uuid[])`, [purchaseIds]);
    expect(purchases.rows.map((row: { status: string }) => row.status)).toEqual(purchaseIds.map(() => 'CANCELED'));
    const attempts = await db.query(
      `SELECT purchase_id, status, charge_id FROM payment_attempts WHERE purchase_id = ANY($1::uuid[])`,
      [purchaseIds],
    );
    expect(attempts.rows).toHaveLength(purchaseIds.length);
    for (const row of attempts.rows as { purchase_id: string; status: string; charge_id: string }[]) {
      expect(row.status).toBe('REFUNDED');
      expect(refunds.mock.calls.filter(([request]) => request.chargeId === row.charge_id)).toHaveLength(1);
      // Whoever refunded it (its buyer, the bulk refund) asked with the purchase's one key.
      expect(ledger.refundsOf(row.charge_id).map((refund) => refund.request.idempotencyKey)).toEqual([
        refundIdempotencyKey(row.purchase_id),
      ]);
    }
    ledger.expectMoneyMovedOnce();
    const notices = await db.query(
      `SELECT payload->>'purchaseId' AS id, count(*)::int AS n FROM outbox
       WHERE routing_key = ANY($2::text[]) AND payload->>'purchaseId' = ANY($1::text[]) GROUP BY 1`,
      // A buyer's own cancel is urgent, the bulk refund's notice goes to the bulk mail queue.
      [purchaseIds, [ROUTING.purchaseCanceled, ROUTING.purchaseCanceledByPerformance]],
    );
    expect(notices.rows).toHaveLength(purchaseIds.length);
    for (const row of notices.rows as { n: number }[]) expect(row.n).toBe(1);
  }

  it('stops sales, PATCH and check-in at once, refunds flushed and unflushed purchases once each, and shows its progress', async () => {
    const performance = await createPerformance(api.app, admin, 40, { price: 1200, ...doorsOpenNow() });
    const buyers = await Promise.all([0, 1, 2].map(() => createSession(api.app)));
    const staff = await doorStaff();
    const flushed: string[] = [];
    for (const [i, buyer] of buyers.entries()) {
      flushed.push(await buy(buyer, performance.id, performance.seatIds.slice(i * 2, i * 2 + 2)));
    }
    await flushPurchases(api.app);
    const tickets = await call('GET', `/purchases/${flushed[0]}/tickets`, { session: buyers[0] });
    expect(tickets.statusCode).toBe(200);
    const code = tickets.json().items[0].code as string;
    // Checked in before the cancel: refunded anyway (the show did not happen).
    expect((await call('POST', '/check-in', { body: { code }, session: staff })).statusCode).toBe(200);
    const unflushed: string[] = [];
    for (const [i, buyer] of buyers.entries()) {
      unflushed.push(await buy(buyer, performance.id, performance.seatIds.slice(10 + i * 2, 12 + i * 2)));
    }
    const liveHold = await hold(api.app, buyers[0], performance.id, [performance.seatIds[30]]);

    const canceled = await cancel(performance.id, { reason: 'The artist is ill.' });
    expect(canceled.statusCode, canceled.body).toBe(202);
    expect(canceled.json()).toMatchObject({
      performanceId: performance.id,
      status: 'IN_PROGRESS',
      reason: 'The artist is ill.',
      completedAt: null,
      refunded: 0,
      remaining: 6,
    });
    // Readable while it runs; a second cancel answers the first one's progress.
    expect(await progress(performance.id)).toMatchObject({ status: 'IN_PROGRESS', remaining: 6 });
    const again = await cancel(performance.id, { reason: 'another reason' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'IN_PROGRESS', reason: 'The artist is ill.' });
    // The audit log has who canceled, once (beside the performance's creation).
    const audit = await db.query(
      `SELECT actor_id, action, details FROM admin_audit_log WHERE subject_id = $1 AND action = 'performance.cancel'`,
      [`performance:${performance.id}`],
    );
    expect(audit.rows).toEqual([
      {
        actor_id: admin.id,
        action: 'performance.cancel',
        details: { performanceId: performance.id, reason: 'The artist is ill.' },
      },
    ]);

    // Terminal: no hold, no purchase of a hold made before, no PATCH, no check-in.
    const shown = await call('GET', `/performances/${performance.id}`);
    expect(shown.json()).toMatchObject({ status: 'CANCELED', salesState: 'CANCELED' });
    const newHold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[31]] },
      session: buyers[1],
    });
    expectCanceledSales(newHold);
    const bestAvailable = await call('POST', '/reservations', {
      body: { performanceId: performance.id, quantity: 1 },
      session: buyers[1],
    });
    expectCanceledSales(bestAvailable);
    const lateBuy = await call('POST', '/purchases', { body: { reservationId: liveHold.id }, session: buyers[0] });
    expectCanceledSales(lateBuy);
    for (const body of [{ status: 'ON_SALE' }, { startsAt: '2030-04-01T19:00:00Z' }, { cancelUntil: null }]) {
      const patched = await call('PATCH', `/performances/${performance.id}`, { body, session: admin });
      expect(patched.statusCode, JSON.stringify(body)).toBe(409);
      expect(patched.json()).toMatchObject({
        error: 'Conflict',
        message: `performance ${performance.id} has been canceled: it can no longer change`,
        requestId: expect.any(String),
      });
    }
    // A section's price, as the catalog guide words it: the performance named, as every other
    // route's refusal of a canceled performance names it (catalog trial 2026-12-07, L1).
    const repriced = await call('PATCH', `/performances/${performance.id}/sections/Floor`, {
      body: { price: 1 },
      session: admin,
    });
    expect(repriced.statusCode).toBe(409);
    expect(repriced.json()).toMatchObject({
      message: `performance ${performance.id} has been canceled: its prices can no longer change`,
      details: { performanceId: performance.id },
    });
    const other = tickets.json().items[1].code as string;
    const door = await call('POST', '/check-in', { body: { code: other }, session: staff });
    expect(door.statusCode).toBe(409);
    expect(door.json()).toMatchObject({
      message: `performance ${performance.id} has been canceled: its tickets admit no one`,
      details: { performanceId: performance.id },
    });
    // A live state that lost the status (a Redis write lost in a failover): PostgreSQL refuses too.
    const meta = performanceKeys(performance.id).meta;
    await api.app.get(Redis).hdel(meta, 'status');
    const lostDoor = await call('POST', '/check-in', { body: { code: other }, session: staff });
    expect(lostDoor.statusCode).toBe(409);
    expect(lostDoor.json().message).toBe(`performance ${performance.id} has been canceled: its tickets admit no one`);
    await api.app.get(Redis).hset(meta, 'status', 'CANCELED');

    const done = await refundAll(performance.id);
    expect(done).toMatchObject({ status: 'COMPLETED', refunded: 6, remaining: 0, completedAt: expect.any(String) });
    await expectRefundedOnce([...flushed, ...unflushed]);
    for (const [i, buyer] of buyers.entries()) {
      for (const id of [flushed[i], unflushed[i]]) {
        const read = await call('GET', `/purchases/${id}`, { session: buyer });
        expect(read.json()).toMatchObject({ id, status: 'CANCELED' });
      }
    }
    expect((await cancel(performance.id)).json()).toMatchObject({ status: 'COMPLETED', refunded: 6 });
  });

  it('answers 400, 401, 403 and 404 with the uniform error body', async () => {
    const performance = await createPerformance(api.app, admin, 4, doorsOpenNow());
    const user = await createSession(api.app);
    const expectError = (answer: Awaited<ReturnType<typeof call>>, statusCode: number) => {
      expect(answer.statusCode, answer.body).toBe(statusCode);
      expect(answer.json()).toMatchObject({
        statusCode,
        error: expect.any(String),
        message: expect.anything(),
        requestId: expect.any(String),
        path: expect.any(String),
        timestamp: expect.any(String),
      });
    };
    expectError(await cancel(performance.id, { reason: 'x'.repeat(501) }), 400);
    expectError(await cancel(performance.id, { reason: 42 }), 400);
    expectError(await cancel(performance.id, { reason: 'bad\u202Etext' }), 400);
    expectError(await cancel(performance.id, { why: 'unknown field' }), 400);
    expectError(await call('POST', '/admin/performances/abc/cancel', { session: admin }), 400);
    expectError(await call('POST', `/admin/performances/${performance.id}/cancel`), 401);
    expectError(await cancel(performance.id, undefined, user), 403);
    expectError(await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: user }), 403);
    expectError(await cancel(2_000_000_000), 404);
    expectError(await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: admin }), 404);
    // Nothing refused changed anything: it still sells.
    expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({ status: 'ON_SALE' });

    // No body at all, and a performance with no purchase: completed at the first step.
    const empty = await cancel(performance.id);
    expect(empty.statusCode).toBe(202);
    expect(empty.json()).toMatchObject({ reason: null, remaining: 0 });
    expect(await refundAll(performance.id)).toMatchObject({ status: 'COMPLETED', refunded: 0, remaining: 0 });
  });

  it('hundreds of holds and purchases racing the cancel: none bought after its answer, every 201 refunded', async () => {
    const performance = await createPerformance(api.app, admin, 400, doorsOpenNow());
    const buyers = await Promise.all(Array.from({ length: 50 }, () => createSession(api.app)));
    // Each buyer holds 2 seats in 2 holds: 100 holds, seats 0–99; each may hold 2 more (the limit of
    // 4 held at once), so the 100 new holds of one seat each (seats 200–299) are refused only by the cancel.
    const holds = await Promise.all(
      buyers.flatMap((buyer, b) =>
        [0, 1].map((h) => hold(api.app, buyer, performance.id, [performance.seatIds[b * 2 + h]])),
      ),
    );
    const purchase = (i: number) =>
      call('POST', '/purchases', { body: { reservationId: holds[i].id }, session: buyers[Math.floor(i / 2)] });
    const newHold = (i: number) =>
      call('POST', '/reservations', {
        body: {
          performanceId: performance.id,
          seatIds: [performance.seatIds[200 + i]],
        },
        session: buyers[i % 50],
      });
    // 100 purchases of holds made before and 100 new holds, interleaved, sent by 10 clients one
    // after another; the cancel is sent once 10 were answered, so the rest race it or follow it.
    const tasks = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? () => purchase(i / 2) : () => newHold((i - 1) / 2),
    );
    let cancelAnswered = false;
    let answered = 0;
    let midway!: () => void;
    const tenAnswered = new Promise<void>((resolve) => (midway = resolve));
    const answers: { afterCancel: boolean; answer: Awaited<ReturnType<typeof call>> }[] = [];
    const client = async () => {
      for (let task = tasks.shift(); task; task = tasks.shift()) {
        const afterCancel = cancelAnswered;
        answers.push({ afterCancel, answer: await task() });
        if (++answered === 10) midway();
      }
    };
    const clients = Promise.all(Array.from({ length: 10 }, client));
    await tenAnswered;
    const canceled = await cancel(performance.id, { reason: 'storm' });
    cancelAnswered = true;
    expect(canceled.statusCode).toBe(202);
    await clients;
    for (const { afterCancel, answer } of answers) {
      if (afterCancel) expectCanceledSales(answer);
      else if (answer.statusCode !== 201) expectCanceledSales(answer);
    }
    const boughtIds = answers
      .filter(({ answer }) => answer.statusCode === 201 && answer.json().status === 'PAID')
      .map(({ answer }) => answer.json().id as string);
    // The race happened: some got through before the cancel, some were refused by it.
    expect(boughtIds.length).toBeGreaterThan(0);
    expect(answers.filter(({ answer }) => answer.statusCode === 409).length).toBeGreaterThan(0);

    const done = await refundAll(performance.id);
    expect(done).toMatchObject({ status: 'COMPLETED', remaining: 0, refunded: boughtIds.length });
    const all = await db.query(`SELECT id, status FROM purchases WHERE performance_id = $1`, [performance.id]);
    expect(all.rows.map((row: { id: string }) => row.id).sort()).toEqual([...boughtIds].sort());
    if (boughtIds.length > 0) await expectRefundedOnce(boughtIds);
  });

  /** The seats of the performance marked HELD, and its counts, as buyers read them. */
  async function heldNow(
    performanceId: number,
  ): Promise<{ seats: number; counts: { available: number; held: number } }> {
    const seats = await call('GET', `/performances/${performanceId}/seats?status=HELD&limit=100`);
    expect(seats.statusCode, seats.body).toBe(200);
    const shown = await call('GET', `/performances/${performanceId}`);
    return { seats: seats.json().items.length, counts: shown.json() };
  }

  it('ends the live holds of several buyers before its answer: each reads RELEASED, reason PERFORMANCE_CANCELED, its seats free', async () => {
    const performance = await createPerformance(api.app, admin, 20, doorsOpenNow());
    const buyers = await Promise.all([0, 1, 2].map(() => createSession(api.app)));
    const holds = await Promise.all(
      buyers.map((buyer, i) => hold(api.app, buyer, performance.id, performance.seatIds.slice(i * 3, i * 3 + 3))),
    );
    expect(await heldNow(performance.id)).toMatchObject({ seats: 9, counts: { available: 11, held: 9 } });

    expect((await cancel(performance.id)).statusCode).toBe(202);
    for (const [i, buyer] of buyers.entries()) {
      const read = await call('GET', `/reservations/${holds[i].id}`, { session: buyer });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json()).toMatchObject({ status: 'RELEASED', endReason: 'PERFORMANCE_CANCELED' });
      expect((await call('GET', `/reservations`, { session: buyer })).json().items).toEqual([]);
      // Bought now: refused as any hold of a canceled performance, nothing charged.
      expectCanceledSales(await call('POST', '/purchases', { body: { reservationId: holds[i].id }, session: buyer }));
    }
    expect(await heldNow(performance.id)).toMatchObject({ seats: 0, counts: { available: 20, held: 0 } });
    expect(await refundAll(performance.id)).toMatchObject({ status: 'COMPLETED', refunded: 0, remaining: 0 });
  });

  it('holds racing the cancel: each refused or ended once it has answered, none HELD', async () => {
    const performance = await createPerformance(api.app, admin, 300, doorsOpenNow());
    const buyers = await Promise.all(Array.from({ length: 100 }, () => createSession(api.app)));
    // 10 clients, each sending one buyer's hold of 2 seats after another; the cancel is sent once
    // 10 were answered, so the rest race it or follow it.
    let next = 0;
    let answered = 0;
    let midway!: () => void;
    const tenAnswered = new Promise<void>((resolve) => (midway = resolve));
    const answers: { buyer: TestSession; answer: Awaited<ReturnType<typeof call>> }[] = [];
    const client = async () => {
      for (let i = next++; i < buyers.length; i = next++) {
        const answer = await call('POST', '/reservations', {
          body: { performanceId: performance.id, seatIds: performance.seatIds.slice(i * 2, i * 2 + 2) },
          session: buyers[i],
        });
        answers.push({ buyer: buyers[i], answer });
        if (++answered === 10) midway();
      }
    };
    const clients = Promise.all(Array.from({ length: 10 }, client));
    await tenAnswered;
    const canceled = await cancel(performance.id);
    expect(canceled.statusCode).toBe(202);
    await clients;

    // On a loaded host every client may have been answered before the cancel's status was written:
    // holds sent after its answer are refused whatever the timing.
    for (const [j, buyer] of buyers.slice(0, 5).entries()) {
      const late = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: performance.seatIds.slice(200 + 2 * j, 202 + 2 * j) },
        session: buyer,
      });
      answers.push({ buyer, answer: late });
      expectCanceledSales(late);
    }
    const made = answers.filter(({ answer }) => answer.statusCode === 201);
    for (const { answer } of answers) if (answer.statusCode !== 201) expectCanceledSales(answer);
    expect(made.length).toBeGreaterThan(0);
    for (const { buyer, answer } of made) {
      const read = await call('GET', `/reservations/${answer.json().id}`, { session: buyer });
      expect(read.json()).toMatchObject({ status: 'RELEASED', endReason: 'PERFORMANCE_CANCELED' });
    }
    expect(await heldNow(performance.id)).toMatchObject({ seats: 0, counts: { available: 300, held: 0 } });
    expect(await refundAll(performance.id)).toMatchObject({ status: 'COMPLETED', refunded: 0, remaining: 0 });
  });

  it('a buyer canceling while the bulk refund runs: refunded once, one notice', async () => {
    const performance = await createPerformance(api.app, admin, 40, doorsOpenNow());
    const buyers = await Promise.all(Array.from({ length: 10 }, () => createSession(api.app)));
    const ids: string[] = [];
    for (const [i, buyer] of buyers.entries()) {
      ids.push(await buy(buyer, performance.id, [performance.seatIds[i]]));
      ids.push(await buy(buyer, performance.id, [performance.seatIds[20 + i]]));
    }
    // Confirmed (flushed): a buyer's cancel of a purchase not confirmed yet sends no notice (P5).
    await flushPurchases(api.app);

    expect((await cancel(performance.id)).statusCode).toBe(202);
    const bulk = api.app.get(BulkRefund);
    const [step, ...own] = await Promise.all([
      bulk.refundOnce(),
      ...ids.map((id, i) => call('POST', `/purchases/${id}/cancel`, { session: buyers[Math.floor(i / 2)] })),
    ]);
    for (const answer of own) expect([200, 409], answer.body).toContain(answer.statusCode);
    const buyerCanceled = own.filter((answer) => answer.statusCode === 200).length;
    // Each purchase canceled once: by its buyer or by the bulk refund, never both.
    expect(step).toMatchObject({ performanceId: performance.id });
    expect(step!.canceled + buyerCanceled).toBe(ids.length);
    await refundAll(performance.id);
    await expectRefundedOnce(ids);
  });
  it('a canceled performance takes no seat block or release (409, nothing changed, no audit row); its map and the sales report say its seats are off sale', async () => {
    const performance = await createPerformance(api.app, admin, 6);
    const [a, b, c] = performance.seatIds;
    const blocks = `/admin/performances/${performance.id}/seat-blocks`;
    expect((await call('POST', blocks, { body: { seatIds: [a] }, session: admin })).statusCode).toBe(200);
    await buy(await createSession(api.app), performance.id, [b]);
    const mapBefore = await call('GET', `/performances/${performance.id}/map`);
    expect(mapBefore.json().salesState).toBe('ON_SALE');
    expect((await cancel(performance.id)).statusCode).toBe(202);

    const audited = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM admin_audit_log WHERE subject_id = $1 AND action LIKE 'seat.%'`,
          [`performance:${performance.id}`],
        )
      ).rows[0].n as number;
    const auditedBefore = await audited();
    const requests: [string, object][] = [
      [blocks, { seatIds: [c] }],
      [blocks, { seatIds: [c], onlyFree: true }],
      [blocks, { section: 'Floor' }],
      [blocks, { section: 'Floor', onlyFree: true }],
      [`${blocks}/release`, { seatIds: [a] }],
      [`${blocks}/release`, { section: 'Floor' }],
    ];
    for (const [path, body] of requests) {
      const res = await call('POST', path, { body, session: admin });
      expect(res.statusCode, `${path} ${JSON.stringify(body)}: ${res.body}`).toBe(409);
      expect(res.json()).toMatchObject({
        message: `performance ${performance.id} has been canceled: its seats are no longer for sale, so none can be blocked or released`,
        details: { performanceId: performance.id },
      });
    }
    expect(await audited()).toBe(auditedBefore);
    const listed = await call('GET', blocks, { session: admin });
    expect(listed.json().items.map((item: { seatId: number }) => item.seatId)).toEqual([a]);

    // The map says what GET /performances/:id says: canceled, whatever its seats read.
    const map = await call('GET', `/performances/${performance.id}/map`);
    expect(map.json().salesState).toBe('CANCELED');
    expect(map.headers.etag).not.toBe(mapBefore.headers.etag);
    // The report counts none of its seats available: the free ones are unsold.
    const { eventId } = (await call('GET', `/performances/${performance.id}`)).json() as { eventId: number };
    const report = await call('GET', `/events/${eventId}/sales`, { session: admin });
    expect(report.statusCode, report.body).toBe(200);
    const [own] = report.json().performances;
    expect(own).toMatchObject({ performanceId: performance.id, salesState: 'CANCELED' });
    for (const figures of [report.json().totals, own.totals, ...own.sections]) {
      const { seatsTotal, available, held, sold, blocked, unsold } = figures;
      expect(available).toBe(0);
      expect(unsold).toBeGreaterThanOrEqual(4);
      expect(available + held + sold + blocked + unsold).toBe(seatsTotal);
    }
  });
});
