import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, PROCESS_TEST_TIMEOUT_MS, TestSession } from '@app/testing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { killWhileRowLocked } from './support/killed-api';
import { createShowOfSections } from './support/shows';

/** One seat's price, minor units (EUR). */
const PRICE = 4550;

/**
 * Faults trial 2026-12-07, F1: an operator's refund of a box office (window) sale is decided in
 * Redis, then written to PostgreSQL, then audited and answered. A built api killed after the Redis
 * step left the refund made (purchase, sales report, the walk-up's notice) while the clerk never got
 * the 200 that says to pay it out: the retry answered 409 "already refunded", and the cash-up (which
 * counts window refunds from the audit rows) disagreed with the sales report. With an
 * `Idempotency-Key`, recorded in the refund's own script run, the retry answers the first refund; and
 * the operator is recorded with the refund itself (its stream entry, `purchase_refunds.refunded_by_id`,
 * `purchases.canceled_by_id`), so the cash-up counts it as the sales report does, retried or not.
 * Real PostgreSQL and Redis; the api process SIGKILLed while PostgreSQL holds the refund's write at
 * the purchase's row lock (the Redis refund is made by then).
 */
describe('a window refund whose api was killed before answering (built api, real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let clerk: TestSession;
  let show: { id: number; seatIds: number[] };
  let nextSeat = 0;
  let from: string;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    clerk = await createStaffSession(api.app, admin, 'window-crash-clerk@example.test', 'Window Clerk');
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Faults Hall',
      currency: 'EUR',
      performance: { startsAt: '2030-03-01T19:00:00Z' },
      sections: [{ name: 'Stalls', grade: 'A', price: PRICE, rows: 2, seatsPerRow: 10 }],
    });
    show = { id, seatIds: seats.Stalls! };
    from = new Date(Date.now() - 1_000).toISOString();
  });
  afterAll(async () => {
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((proc) => proc.exited));
    await close?.();
  });

  /** A window sale of `count` fresh seats by the clerk, written to PostgreSQL; its id and seats. */
  async function windowSale(
    count: number,
    paymentMethod: 'CASH' | 'CARD_TERMINAL',
  ): Promise<{ id: string; seatIds: number[] }> {
    const seatIds = show.seatIds.slice(nextSeat, (nextSeat += count));
    const sold = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds, paymentMethod },
      session: clerk,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    await flushPurchases(api.app);
    return { id: sold.json().id as string, seatIds };
  }

  /**
   * Sends the admin's refund of `purchaseId` (`body`, with `key`) to a built api while a transaction holds
   * the purchase's row, and SIGKILLs that api once the refund's PostgreSQL write waits on the lock
   * (the Redis refund is made by then): the clerk never gets an answer. The lock is let go after.
   */
  async function refundKilledBeforeAnswer(purchaseId: string, body: object, key: string): Promise<void> {
    await killWhileRowLocked({
      env: api.env,
      db,
      processes,
      lockSql: 'SELECT 1 FROM purchases WHERE id = $1 FOR UPDATE',
      params: [purchaseId],
      request: (port) =>
        fetch(`http://127.0.0.1:${port}/api/v1/admin/purchases/${purchaseId}/refund`, {
          method: 'POST',
          headers: { ...admin.headers, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
        }),
      waitsFor: "the refund's write waits on the purchase's row lock",
    });
  }

  const refund = (purchaseId: string, body: object, key?: string) =>
    call('POST', `/admin/purchases/${purchaseId}/refund`, {
      body,
      session: admin,
      ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
    });

  /** The cash-up's totals for the show since the suite began (`clerkId`: one clerk's only), one entry per currency. */
  async function cashUpTotals(clerkId?: string): Promise<Record<string, number>[]> {
    const to = new Date(Date.now() + 60_000).toISOString();
    const clerk = clerkId === undefined ? '' : `&clerkId=${clerkId}`;
    const cashUp = await call(
      'GET',
      `/admin/box-office/cash-up?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&performanceId=${show.id}${clerk}`,
      { session: admin },
    );
    expect(cashUp.statusCode, cashUp.body).toBe(200);
    return cashUp.json().totals as Record<string, number>[];
  }

  /** Window refunds paid out as the cash-up and the sales report count them, for the show. */
  async function windowRefundBooks(): Promise<{ cashUp: Record<string, unknown>; report: Record<string, unknown> }> {
    const [totals] = await cashUpTotals();
    const report = await call('GET', `/performances/${show.id}/sales`, { session: admin });
    expect(report.statusCode, report.body).toBe(200);
    const reported = report.json().totals as Record<string, number>;
    return {
      cashUp: { refunds: totals.refunds, cash: totals.cashRefunded, cardTerminal: totals.cardTerminalRefunded },
      report: {
        refunds: reported.windowRefundsPaid,
        cash: reported.cashRefundsPaid,
        cardTerminal: reported.cardTerminalRefundsPaid,
      },
    };
  }

  /** What the cash-up says the admin gave back at the window by `method` for the show, minor units. */
  async function refundedByAdmin(method: 'CASH' | 'CARD_TERMINAL'): Promise<number> {
    const [totals] = await cashUpTotals(admin.id);
    return totals === undefined ? 0 : totals[method === 'CASH' ? 'cashRefunded' : 'cardTerminalRefunded'];
  }

  it.each([
    ['a partial refund (one seat, cash)', 'CASH', true],
    ['a whole refund (card terminal)', 'CARD_TERMINAL', false],
  ] as const)(
    '%s: the retry with the same Idempotency-Key answers 200 with what to pay out, and the cash-up agrees with the sales report',
    async (_, paymentMethod, partial) => {
      const sale = await windowSale(2, paymentMethod);
      const body = partial ? { seatIds: [sale.seatIds[0]] } : {};
      const key = `window-${sale.id}`;
      await refundKilledBeforeAnswer(sale.id, body, key);
      // The refund was made before the kill: the purchase says so.
      const made = await call('GET', `/admin/purchases/${sale.id}`, { session: admin });
      expect(made.statusCode, made.body).toBe(200);
      expect(made.json()).toMatchObject(
        partial ? { status: 'PAID', refundedSeatIds: [sale.seatIds[0]] } : { status: 'CANCELED' },
      );

      const retried = await refund(sale.id, body, key);
      expect(retried.statusCode, retried.body).toBe(200);
      const refundedSeatIds = partial ? [sale.seatIds[0]] : sale.seatIds;
      expect(retried.json()).toMatchObject({
        id: sale.id,
        status: partial ? 'PAID' : 'CANCELED',
        refunded: { seatIds: refundedSeatIds, amount: PRICE * refundedSeatIds.length },
        refundMethod: paymentMethod,
      });
      // Asked again, the same answer; the refund once in PostgreSQL's audit log.
      const again = await refund(sale.id, body, key);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json()).toEqual(retried.json());
      const audited = await db.query(
        `SELECT details->'seatIds' AS "seatIds" FROM admin_audit_log WHERE action = 'purchase.refund' AND subject_id = $1`,
        [sale.id],
      );
      expect(audited.rows).toEqual([{ seatIds: refundedSeatIds }]);

      await flushPurchases(api.app);
      const books = await windowRefundBooks();
      expect(books.cashUp).toEqual(books.report);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.each([
    ['a partial refund (one seat, card terminal)', 'CARD_TERMINAL', true],
    ['a whole refund (cash)', 'CASH', false],
  ] as const)(
    '%s killed before its audit row, never retried: once written, the cash-up counts it for the operator, as the sales report does',
    async (_, paymentMethod, partial) => {
      const sale = await windowSale(2, paymentMethod);
      const before = await refundedByAdmin(paymentMethod);
      await refundKilledBeforeAnswer(sale.id, partial ? { seatIds: [sale.seatIds[1]] } : {}, `lost-${sale.id}`);
      const audited = await db.query(
        `SELECT 1 FROM admin_audit_log WHERE action = 'purchase.refund' AND subject_id = $1`,
        [sale.id],
      );
      expect(audited.rowCount).toBe(0);
      // The refund's write to PostgreSQL died with the api: the flush of its stream entry writes it
      // (the cash-up waits for that write; the sales report reads Redis too).
      await flushPurchases(api.app);
      const books = await windowRefundBooks();
      expect(books.cashUp).toEqual(books.report);
      // Given back by the operator who made the refund, whom the refund's own record names.
      expect(await refundedByAdmin(paymentMethod)).toBe(before + (partial ? PRICE : 2 * PRICE));
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.each([
    ['asked as the whole purchase', false],
    ['naming every seat it has left', true],
  ] as const)(
    'a whole refund (%s) made while an earlier partial refund waits in the stream: the cash-up counts what the window paid, before the flush and after it',
    async (_, namingSeats) => {
      const sale = await windowSale(3, 'CARD_TERMINAL');
      const [before] = await cashUpTotals();
      // The partial refund is made in Redis; its api dies before PostgreSQL writes it, and no flush
      // runs (no batch here): only its stream entry has it.
      await refundKilledBeforeAnswer(sale.id, { seatIds: [sale.seatIds[0]] }, `partial-${sale.id}`);
      const written = await db.query(`SELECT 1 FROM purchase_refunds WHERE purchase_id = $1`, [sale.id]);
      expect(written.rowCount).toBe(0);

      const whole = await refund(sale.id, namingSeats ? { seatIds: sale.seatIds.slice(1) } : {});
      expect(whole.statusCode, whole.body).toBe(200);
      expect(whole.json()).toMatchObject({ status: 'CANCELED', refunded: { amount: 2 * PRICE } });
      // Flush held back: the whole refund counts what its answer told the window to pay, not the sale
      // less the partial refunds PostgreSQL has (none yet).
      const [held] = await cashUpTotals();
      expect({
        refunds: held.refunds - before.refunds,
        paid: held.cardTerminalRefunded - before.cardTerminalRefunded,
      }).toEqual({
        refunds: 1,
        paid: 2 * PRICE,
      });

      await flushPurchases(api.app);
      const [flushed] = await cashUpTotals();
      expect({
        refunds: flushed.refunds - before.refunds,
        paid: flushed.cardTerminalRefunded - before.cardTerminalRefunded,
      }).toEqual({ refunds: 2, paid: 3 * PRICE });
      const books = await windowRefundBooks();
      expect(books.cashUp).toEqual(books.report);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('refuses the key with another body (409, nothing refunded); without a key a retry is 409 as before', async () => {
    const sale = await windowSale(3, 'CASH');
    const other = await windowSale(1, 'CASH');
    const [s0, s1, s2] = sale.seatIds;
    const key = `reuse-${sale.id}`;
    const first = await refund(sale.id, { seatIds: [s1, s0] }, key);
    expect(first.statusCode, first.body).toBe(200);

    for (const [purchaseId, body] of [
      [sale.id, { seatIds: [s2] }],
      [sale.id, { seatIds: [s0] }],
      [sale.id, { seatIds: [s0, s1], resellCheckedInSeats: false }],
      [sale.id, {}],
      [other.id, {}],
    ] as const) {
      const reused = await refund(purchaseId, body, key);
      expect(reused.statusCode, `${purchaseId} ${JSON.stringify(body)}: ${reused.body}`).toBe(409);
      expect(reused.json().message).toMatch(/^Idempotency-Key was already used for another refund/);
      expect(reused.headers['retry-after']).toBeUndefined();
    }
    const kept = await call('GET', `/admin/purchases/${sale.id}`, { session: admin });
    expect(kept.json()).toMatchObject({ status: 'PAID', seatIds: [s2] });
    const untouched = await call('GET', `/admin/purchases/${other.id}`, { session: admin });
    expect(untouched.json()).toMatchObject({ status: 'PAID', seatIds: other.seatIds });

    // The same seats in another order are the same request: the first answer again.
    const replayed = await refund(sale.id, { seatIds: [s0, s1] }, key);
    expect(replayed.statusCode, replayed.body).toBe(200);
    expect(replayed.json()).toEqual(first.json());
    const unkeyed = await refund(sale.id, { seatIds: [s0] });
    expect(unkeyed.statusCode, unkeyed.body).toBe(409);
    expect(unkeyed.json().message).toMatch(/already been refunded/);
    const badKey = await refund(other.id, {}, 'k'.repeat(201));
    expect(badKey.statusCode, badKey.body).toBe(400);
  });
});
