import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client } from 'pg';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession, waitForValue } from '@app/testing';
import { BulkRefund, PaymentGateway, PaymentReconciler, PurchaseFlusher } from '@app/ticketing';
import { caller, doorsOpenNow, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';
import { createStaffSession } from './support/door';
import { RefundLedger } from './support/payments';
import { AnswerLog, expectSeatsConsistent, fastBuyer, Headers, RACE_API_ENV } from './support/races';

interface Bought {
  id: string;
  headers: Headers;
  tickets: { id: string; code: string; seat: { id: number } }[];
}

/**
 * The door against refunds, at scale: for 60 purchases at once, the buyer's cancel, an operator's
 * refund (reselling checked-in seats or keeping them) and a check-in of one of its tickets, all
 * 180 requests together; and a performance cancel racing 100 check-ins and buyers' own cancels.
 * Exactly one of a cancel and a refund wins, never both with a check-in (unless the refund keeps the
 * checked-in seats off sale), no check-in asked after the cancel's answer admits, every canceled
 * purchase is refunded once and no other, the seats are in step (P1, P5, P7, P9).
 */
describe('check-in racing cancels and refunds (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let admin: TestSession;
  let staff: Headers;
  let call: ReturnType<typeof caller>;
  const ledger = new RefundLedger();

  beforeAll(async () => {
    api = await startTestApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    staff = (await createStaffSession(api.app, admin, 'door@example.test', 'Door')).headers;
    ledger.install(api.app.get(PaymentGateway));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await db?.end();
    await api?.close();
  });

  async function newPerformance(): Promise<{ id: number; seatIds: number[] }> {
    const event = await call('POST', '/events', { body: { title: 'Door', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: doorsOpenNow().startsAt.toISOString(),
        checkInOpensBeforeMinutes: doorsOpenNow().checkInOpensBeforeMinutes,
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'A', price: 1000, rows: 4, seatsPerRow: 50 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    const seats = await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY id', [id]);
    return { id, seatIds: seats.rows.map((row: { id: number }) => row.id) };
  }

  /** `count` buyers buy 2 seats each; flushed; each purchase with its tickets. */
  async function buyMany(performance: { id: number; seatIds: number[] }, count: number): Promise<Bought[]> {
    const bought = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const headers = await fastBuyer(api);
        const held = await api.app.inject({
          method: 'POST',
          url: '/api/v1/reservations',
          headers,
          payload: { performanceId: performance.id, seatIds: performance.seatIds.slice(2 * i, 2 * i + 2) },
        });
        expect(held.statusCode, held.body).toBe(201);
        const sold = await api.app.inject({
          method: 'POST',
          url: '/api/v1/purchases',
          headers,
          payload: { reservationId: held.json().id },
        });
        expect(sold.statusCode, sold.body).toBe(201);
        return { id: sold.json().id as string, headers };
      }),
    );
    await flushPurchases(api.app);
    return Promise.all(
      bought.map(async ({ id, headers }) => {
        const listed = await api.app.inject({ method: 'GET', url: `/api/v1/purchases/${id}/tickets`, headers });
        expect(listed.statusCode, listed.body).toBe(200);
        return { id, headers, tickets: listed.json().items };
      }),
    );
  }

  const checkIn = (code: string, performanceId: number) =>
    api.app.inject({ method: 'POST', url: '/api/v1/check-in', headers: staff, payload: { code, performanceId } });

  it('lets one of cancel, refund and check-in decide, for 60 purchases at once', async () => {
    const performance = await newPerformance();
    const bought = await buyMany(performance, 60);
    const log = new AnswerLog();
    const outcomes = await Promise.all(
      bought.map(async (purchase, i) => {
        const resell = i % 2 === 0;
        const [cancel, refund, scan] = await Promise.all([
          api.app.inject({ method: 'POST', url: `/api/v1/purchases/${purchase.id}/cancel`, headers: purchase.headers }),
          call('POST', `/admin/purchases/${purchase.id}/refund`, {
            body: { resellCheckedInSeats: resell },
            session: admin,
          }),
          checkIn(purchase.tickets[0].code, performance.id),
        ]);
        log.note('cancel', cancel);
        log.note(`refund resell=${resell}`, refund);
        log.note('check-in', scan);
        return { purchase, resell, cancel, refund, scan };
      }),
    );
    log.expectNo5xx();

    const canceled: string[] = [];
    const kept: number[] = [];
    for (const { purchase, resell, cancel, refund, scan } of outcomes) {
      const what = `purchase ${purchase.id}: cancel ${cancel.statusCode}, refund(resell ${resell}) ${refund.statusCode}, check-in ${scan.statusCode}`;
      expect([200, 409], what).toContain(cancel.statusCode);
      expect([200, 409], what).toContain(refund.statusCode);
      expect([200, 409], what).toContain(scan.statusCode);
      // Never both a cancel and a refund.
      expect(cancel.statusCode === 200 && refund.statusCode === 200, what).toBe(false);
      // A check-in admitted: no cancel, and no refund that puts the seat back on sale.
      if (scan.statusCode === 200) {
        expect(cancel.statusCode, what).toBe(409);
        if (resell) expect(refund.statusCode, what).toBe(409);
      }
      if (cancel.statusCode === 200 || refund.statusCode === 200) canceled.push(purchase.id);
      if (refund.statusCode === 200) kept.push(...(refund.json().keptSeatIds as number[]));
      if (refund.statusCode === 200 && scan.statusCode === 200) {
        expect(refund.json().keptSeatIds, what).toEqual([purchase.tickets[0].seat.id]);
      }
    }
    expect(canceled.length).toBeGreaterThan(0);

    await flushPurchases(api.app);
    const reconciler = api.app.get(PaymentReconciler);
    await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute'`);
    while (await reconciler.reconcileOnce());
    const rows = (
      await db.query(
        `SELECT p.id, p.status, a.status AS attempt, a.charge_id FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id
         WHERE p.performance_id = $1`,
        [performance.id],
      )
    ).rows as { id: string; status: string; attempt: string; charge_id: string }[];
    for (const row of rows) {
      const isCanceled = canceled.includes(row.id);
      expect(
        { status: row.status, attempt: row.attempt, refunds: ledger.refundsOf(row.charge_id).length },
        `purchase ${row.id}`,
      ).toEqual(
        isCanceled
          ? { status: 'CANCELED', attempt: 'REFUNDED', refunds: 1 }
          : { status: 'PAID', attempt: 'COMPLETED', refunds: 0 },
      );
    }
    ledger.expectMoneyMovedOnce();
    // Every check-in answered 200 is recorded, and only those.
    const admitted = outcomes.filter((o) => o.scan.statusCode === 200).map((o) => o.purchase.tickets[0].id);
    const recorded = (
      await db.query(
        'SELECT id::text FROM tickets WHERE performance_id = $1 AND checked_in_at IS NOT NULL ORDER BY id',
        [performance.id],
      )
    ).rows.map((row: { id: string }) => row.id);
    expect(recorded.sort()).toEqual(admitted.sort());
    await expectSeatsConsistent(api, db, performance.id, kept);
  });

  it('admits no one after a performance cancel answered, racing 100 check-ins and buyers’ cancels', async () => {
    const performance = await newPerformance();
    const bought = await buyMany(performance, 50);
    const log = new AnswerLog();
    let canceledAt = Infinity;
    const scans: { start: number; status: number }[] = [];
    const scanAll = bought.flatMap((purchase) =>
      purchase.tickets.map(async (ticket) => {
        await new Promise((resolve) => setImmediate(resolve));
        const start = Date.now();
        const res = await checkIn(ticket.code, performance.id);
        log.note('check-in', res);
        scans.push({ start, status: res.statusCode });
      }),
    );
    const ownCancels = bought.slice(0, 20).map(async (purchase) => {
      const res = await api.app.inject({
        method: 'POST',
        url: `/api/v1/purchases/${purchase.id}/cancel`,
        headers: purchase.headers,
      });
      log.note('own cancel', res);
    });
    const cancelShow = (async () => {
      const res = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
      log.note('cancel show', res);
      expect(res.statusCode, res.body).toBe(202);
      canceledAt = Date.now();
    })();
    await Promise.all([...scanAll, ...ownCancels, cancelShow]);
    // And after the answer, for certain.
    for (const ticket of bought[bought.length - 1].tickets) {
      const late = await checkIn(ticket.code, performance.id);
      log.note('late check-in', late);
      scans.push({ start: Date.now(), status: late.statusCode });
    }
    log.expectNo5xx();
    expect(
      scans.filter((scan) => scan.status === 200 && scan.start > canceledAt),
      'check-ins asked after the cancel was answered that admitted',
    ).toEqual([]);

    await waitForValue(
      async () => {
        await api.app.get(PurchaseFlusher).flushOnce({ batchSize: 100 });
        await api.app.get(BulkRefund).refundOnce();
        await db.query(`UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute'`);
        await api.app.get(PaymentReconciler).reconcileOnce();
        return (await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: admin })).json() as {
          status: string;
        };
      },
      'the bulk refund completed',
      { done: (progress) => progress.status === 'COMPLETED', timeoutMs: 30_000, intervalMs: 20 },
    );
    const rows = (
      await db.query(
        `SELECT p.id, p.status, a.status AS attempt, a.charge_id FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id
         WHERE p.performance_id = $1`,
        [performance.id],
      )
    ).rows as { id: string; status: string; attempt: string; charge_id: string }[];
    expect(rows.length).toBe(bought.length);
    for (const row of rows) {
      expect(
        { status: row.status, attempt: row.attempt, refunds: ledger.refundsOf(row.charge_id).length },
        `purchase ${row.id}`,
      ).toEqual({ status: 'CANCELED', attempt: 'REFUNDED', refunds: 1 });
    }
    ledger.expectMoneyMovedOnce();
  });
});
