import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { createShowOfSections } from './support/shows';
import { completeBulkRefund } from './support/bulk-refund';

type Figures = Record<string, number | string>;
interface CashUpBody {
  from: string;
  to: string;
  clerkId: string | null;
  performanceId: number | null;
  clerks: { clerkId: string; email: string | null; name: string | null; figures: Figures[] }[];
  totals: Figures[];
}

/** Figures of one currency with every count and amount 0 but those given. */
function figures(currency: string, given: Record<string, number>): Figures {
  const zero = {
    sales: 0,
    seats: 0,
    cashSales: 0,
    cardTerminalSales: 0,
    cashTaken: 0,
    cardTerminalTaken: 0,
    refunds: 0,
    cashRefunded: 0,
    cardTerminalRefunded: 0,
  };
  const all = { ...zero, ...given };
  return {
    currency,
    ...all,
    cashNet: all.cashTaken - all.cashRefunded,
    cardTerminalNet: all.cardTerminalTaken - all.cardTerminalRefunded,
  };
}

/**
 * The box office cash-up, `GET /admin/box-office/cash-up` (and its CSV): two clerks sell at the
 * window through the real route in cash and on the card terminal, in EUR and KRW; an admin refunds
 * part of one sale and the whole of another at the window; a show is canceled and its refund owed
 * at the window is marked paid by the other clerk; a comp is issued. The cash-up per clerk and in
 * total must be exactly these, agree with the sales reports and the window refund list, count a
 * sale not written to PostgreSQL yet (as the report does), and be the same after its flush. Real
 * PostgreSQL and Redis.
 */
describe('box office cash-up (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let clerkA: TestSession;
  let clerkB: TestSession;
  const shows = {} as Record<'eur' | 'krw' | 'canceled', { id: number; stalls: number[]; balcony: number[] }>;
  const sales: Record<string, { id: string; createdAt: string }> = {};
  let from: string;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    clerkA = await createStaffSession(api.app, admin, 'clerk-a@example.test', 'Clerk A');
    clerkB = await createStaffSession(api.app, admin, 'clerk-b@example.test', 'Clerk B');
    for (const [key, currency] of [
      ['eur', 'EUR'],
      ['krw', 'KRW'],
      ['canceled', 'EUR'],
    ] as const) {
      const { id, seats } = await createShowOfSections(call, admin, {
        title: `Show ${key}`,
        currency,
        performance: { startsAt: '2030-03-01T19:00:00Z' },
        sections:
          currency === 'KRW'
            ? [
                { name: 'Stalls', grade: 'A', price: 50000, rows: 1, seatsPerRow: 10 },
                { name: 'Balcony', grade: 'B', price: 30000, rows: 1, seatsPerRow: 10 },
              ]
            : [
                { name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 10 },
                { name: 'Balcony', grade: 'B', price: 900, rows: 1, seatsPerRow: 10 },
              ],
      });
      shows[key] = { id, stalls: seats.Stalls!, balcony: seats.Balcony! };
    }
    from = new Date(Date.now() - 1_000).toISOString();
  });
  afterAll(() => close?.());

  async function sell(
    name: string,
    clerk: TestSession,
    performanceId: number,
    seatIds: number[],
    paymentMethod: 'CASH' | 'CARD_TERMINAL',
  ): Promise<void> {
    const sold = await call('POST', `/box-office/performances/${performanceId}/sales`, {
      body: { seatIds, paymentMethod },
      session: clerk,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    sales[name] = { id: sold.json().id, createdAt: sold.json().createdAt };
  }

  const cashUp = async (query: string, session: TestSession = admin) => {
    const answer = await call('GET', `/admin/box-office/cash-up?${query}`, { session });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as CashUpBody;
  };
  const range = () =>
    `from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
  const report = async (performanceId: number) => {
    const answer = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as { currency: string; totals: Record<string, number> };
  };

  /** The figures each clerk should have after the shift below, before the late unflushed sale. */
  const shift = (late: boolean) => ({
    a: [
      figures('EUR', {
        sales: late ? 4 : 3,
        seats: late ? 5 : 4,
        cashSales: late ? 3 : 2,
        cardTerminalSales: 1,
        cashTaken: late ? 6000 : 4500,
        cardTerminalTaken: 1500,
      }),
      figures('KRW', { sales: 1, seats: 1, cashSales: 1, cashTaken: 50000 }),
    ],
    b: [
      figures('EUR', {
        sales: 2,
        seats: 3,
        cashSales: 1,
        cardTerminalSales: 1,
        cashTaken: 900,
        cardTerminalTaken: 1800,
      }),
      figures('KRW', { sales: 1, seats: 2, cardTerminalSales: 1, cardTerminalTaken: 60000 }),
    ],
    // The admin's refunds at the window: part of A's cash sale, the whole of B's card sale, and the
    // canceled show's refund owed at the window, which only an admin marks paid.
    admin: [figures('EUR', { refunds: 3, cashRefunded: 3000, cardTerminalRefunded: 1800 })],
    totals: [
      figures('EUR', {
        sales: late ? 6 : 5,
        seats: late ? 8 : 7,
        cashSales: late ? 4 : 3,
        cardTerminalSales: 2,
        cashTaken: late ? 6900 : 5400,
        cardTerminalTaken: 3300,
        refunds: 3,
        cashRefunded: 3000,
        cardTerminalRefunded: 1800,
      }),
      figures('KRW', {
        sales: 2,
        seats: 3,
        cashSales: 1,
        cardTerminalSales: 1,
        cashTaken: 50000,
        cardTerminalTaken: 60000,
      }),
    ],
  });

  const byClerk = (body: CashUpBody) => Object.fromEntries(body.clerks.map((clerk) => [clerk.clerkId, clerk.figures]));

  it('counts per clerk and in total, per currency, what each sold and paid back; agrees with the sales reports and the window refund list; counts an unflushed sale as the report does', async () => {
    const { eur, krw, canceled } = shows;
    await sell('a1', clerkA, eur.id, [eur.stalls[0], eur.stalls[1]], 'CASH');
    await sell('a2', clerkA, eur.id, [eur.stalls[2]], 'CARD_TERMINAL');
    await sell('a3', clerkA, krw.id, [krw.stalls[0]], 'CASH');
    await sell('a4', clerkA, canceled.id, [canceled.stalls[0]], 'CASH');
    await sell('b1', clerkB, eur.id, [eur.balcony[0], eur.balcony[1]], 'CARD_TERMINAL');
    await sell('b2', clerkB, eur.id, [eur.balcony[2]], 'CASH');
    await sell('b3', clerkB, krw.id, [krw.balcony[0], krw.balcony[1]], 'CARD_TERMINAL');
    await flushPurchases(api.app);

    // A comp is no money: it shows nowhere in the cash-up.
    const guest = await createSession(api.app);
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [guest.id]);
    const comp = await call('POST', `/admin/performances/${eur.id}/comps`, {
      body: { email: guest.email, seatIds: [eur.stalls[5]], note: 'press' },
      session: admin,
    });
    expect(comp.statusCode, comp.body).toBe(201);
    // Nor is a guest comp, stored as the venue's sale with a delivery address and no payment method
    // (it counted as a card sale once written to PostgreSQL: review).
    const guestComp = await call('POST', `/admin/performances/${eur.id}/comps`, {
      body: {
        guest: { email: 'guest-list@example.test', name: 'Guest' },
        seatIds: [eur.stalls[4]],
        note: 'guest list',
      },
      session: admin,
    });
    expect(guestComp.statusCode, guestComp.body).toBe(201);

    // At the window: part of A's cash sale, the whole of B's card sale.
    const partial = await call('POST', `/admin/purchases/${sales.a1.id}/refund`, {
      body: { seatIds: [eur.stalls[1]] },
      session: admin,
    });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(partial.json()).toMatchObject({ refundMethod: 'CASH', refunded: { amount: 1500 } });
    const whole = await call('POST', `/admin/purchases/${sales.b1.id}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    expect(whole.json()).toMatchObject({ refundMethod: 'CARD_TERMINAL', status: 'CANCELED', amount: 1800 });

    // A canceled show: A's cash sale is owed at the window, B pays it out.
    const cancel = await call('POST', `/admin/performances/${canceled.id}/cancel`, { session: admin, body: {} });
    expect(cancel.statusCode, cancel.body).toBe(202);
    await completeBulkRefund(api.app);
    // Only an admin pays an owed refund out (window refund routes are admins'); a clerk is refused.
    const refused = await call('POST', `/admin/purchases/${sales.a4.id}/window-refund/paid`, { session: clerkB });
    expect(refused.statusCode, refused.body).toBe(403);
    const paid = await call('POST', `/admin/purchases/${sales.a4.id}/window-refund/paid`, { session: admin });
    expect(paid.statusCode, paid.body).toBe(200);
    await flushPurchases(api.app);

    const expected = shift(false);
    const body = await cashUp(range());
    expect(body.clerks).toHaveLength(3);
    expect(body.clerks.map((clerk) => [clerk.email, clerk.name])).toEqual(
      expect.arrayContaining([
        [admin.email, expect.any(String)],
        ['clerk-a@example.test', 'Clerk A'],
        ['clerk-b@example.test', 'Clerk B'],
      ]),
    );
    expect(byClerk(body)).toEqual({ [clerkA.id]: expected.a, [clerkB.id]: expected.b, [admin.id]: expected.admin });
    expect(body.totals).toEqual(expected.totals);
    expect(body).toMatchObject({ clerkId: null, performanceId: null, from: new Date(from).toISOString() });

    // The sales reports, summed per currency: the drawers hold the revenue of the window plus what is
    // still owed there; the whole refunds paid out are the reports' refunds paid, the rest partial.
    const reports = await Promise.all([eur.id, krw.id, canceled.id].map(report));
    for (const totals of body.totals) {
      const ofCurrency = reports.filter((r) => r.currency === totals.currency).map((r) => r.totals);
      const sum = (key: string) => ofCurrency.reduce((s, t) => s + t[key], 0);
      expect(totals.cashNet).toBe(sum('cashRevenue') + sum('cashRefundsOwed'));
      expect(totals.cardTerminalNet).toBe(sum('cardTerminalRevenue') + sum('cardTerminalRefundsOwed'));
    }
    const eurReports = reports.filter((r) => r.currency === 'EUR').map((r) => r.totals);
    // The reports count partial refunds at the window paid too (1500 of A's cash sale).
    expect(eurReports.reduce((s, t) => s + t.cashRefundsPaid, 0)).toBe(body.totals[0].cashRefunded);
    expect(eurReports.reduce((s, t) => s + t.cardTerminalRefundsPaid, 0)).toBe(body.totals[0].cardTerminalRefunded);
    expect(eurReports.reduce((s, t) => s + t.boxOfficePurchases, 0)).toBe(body.totals[0].sales);

    // The window refund list: the one the admin paid, as the admin's cash refund.
    const list = await call('GET', `/admin/performances/${canceled.id}/window-refunds?status=PAID`, { session: admin });
    expect(list.json().items).toEqual([
      expect.objectContaining({
        purchaseId: sales.a4.id,
        amount: 1500,
        refundMethod: 'CASH',
        paidBy: expect.objectContaining({ id: admin.id }),
      }),
    ]);

    // One performance: its sales and refunds alone.
    const eurOnly = await cashUp(`${range()}&performanceId=${eur.id}`);
    expect(eurOnly.totals).toEqual([
      figures('EUR', {
        sales: 4,
        seats: 6,
        cashSales: 2,
        cardTerminalSales: 2,
        cashTaken: 3900,
        cardTerminalTaken: 3300,
        refunds: 2,
        cashRefunded: 1500,
        cardTerminalRefunded: 1800,
      }),
    ]);
    const eurReport = reports[0].totals;
    expect(eurOnly.totals[0].cashNet).toBe(eurReport.cashRevenue);
    expect(eurOnly.totals[0].cardTerminalNet).toBe(eurReport.cardTerminalRevenue);

    // A sale not written to PostgreSQL yet counts at once, as in the sales report, and the same after its flush.
    await sell('a5', clerkA, eur.id, [eur.stalls[6]], 'CASH');
    const inPostgres = await db.query('SELECT 1 FROM purchases WHERE id = $1', [sales.a5.id]);
    expect(inPostgres.rowCount).toBe(0);
    const late = shift(true);
    const unflushed = await cashUp(range());
    expect(byClerk(unflushed)).toEqual({ [clerkA.id]: late.a, [clerkB.id]: late.b, [admin.id]: late.admin });
    expect(unflushed.totals).toEqual(late.totals);
    expect((await report(eur.id)).totals.cashRevenue).toBe(eurReport.cashRevenue + 1500);
    await flushPurchases(api.app);
    expect((await db.query('SELECT 1 FROM purchases WHERE id = $1', [sales.a5.id])).rowCount).toBe(1);
    const flushed = await cashUp(range());
    expect(flushed.clerks).toEqual(unflushed.clerks);
    expect(flushed.totals).toEqual(unflushed.totals);

    // The CSV: the same figures, a line per clerk and currency, then the totals.
    const csv = await call('GET', `/admin/box-office/cash-up.csv?${range()}`, { session: admin });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = parse(csv.body, { columns: true, bom: true }) as Record<string, string>[];
    expect(lines.filter((line) => line.line === 'CLERK')).toHaveLength(5);
    const eurTotal = lines.find((line) => line.line === 'TOTAL' && line.currency === 'EUR')!;
    expect(Number(eurTotal.cash_net)).toBe(late.totals[0].cashNet);
    expect(Number(eurTotal.card_terminal_net)).toBe(late.totals[0].cardTerminalNet);
    const bKrw = lines.find((line) => line.clerk_id === clerkB.id && line.currency === 'KRW')!;
    expect(bKrw).toMatchObject({
      clerk_email: 'clerk-b@example.test',
      sales: '1',
      seats: '2',
      card_terminal_taken: '60000',
    });
  });

  it('a clerk reads their own drawer only; an admin one clerk by clerkId', async () => {
    const own = await cashUp(range(), clerkA);
    expect(own.clerkId).toBe(clerkA.id);
    expect(own.clerks.map((clerk) => clerk.clerkId)).toEqual([clerkA.id]);
    expect(own.totals).toEqual(own.clerks[0].figures);
    expect((await cashUp(`${range()}&clerkId=${clerkA.id}`, clerkA)).clerks).toEqual(own.clerks);
    const other = await call('GET', `/admin/box-office/cash-up?${range()}&clerkId=${clerkB.id}`, { session: clerkA });
    expect(other.statusCode, other.body).toBe(403);
    expect(other.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    const csvOther = await call('GET', `/admin/box-office/cash-up.csv?${range()}&clerkId=${clerkB.id}`, {
      session: clerkA,
    });
    expect(csvOther.statusCode).toBe(403);
    const buyer = await createSession(api.app);
    expect((await call('GET', `/admin/box-office/cash-up?${range()}`, { session: buyer })).statusCode).toBe(403);
    const byAdmin = await cashUp(`${range()}&clerkId=${clerkB.id.toUpperCase()}`);
    expect(byAdmin.clerks.map((clerk) => clerk.clerkId)).toEqual([clerkB.id]);
    expect(byAdmin.totals).toEqual(byAdmin.clerks[0].figures);
  });

  it('the range is half-open: a sale at `from` counts, one at `to` does not; times with any offset', async () => {
    const at = new Date(sales.a1.createdAt);
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const starting = await cashUp(`from=${iso(at.getTime())}&to=${iso(at.getTime() + 1)}&clerkId=${clerkA.id}`);
    expect(starting.totals).toEqual([figures('EUR', { sales: 1, seats: 2, cashSales: 1, cashTaken: 3000 })]);
    const ending = await cashUp(`from=${iso(at.getTime() - 1)}&to=${iso(at.getTime())}&clerkId=${clerkA.id}`);
    expect(ending.totals).toEqual([]);
    // The same instant written at +09:00.
    const seoul = new Date(at.getTime() + 9 * 3_600_000).toISOString().replace('Z', '+09:00');
    const offset = await cashUp(`from=${encodeURIComponent(seoul)}&to=${iso(at.getTime() + 1)}&clerkId=${clerkA.id}`);
    expect(offset.totals).toEqual(starting.totals);
  });

  it('a whole refund after a partial one pays out only the rest: the sale nets to 0, as in the sales report', async () => {
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Matinee',
      currency: 'EUR',
      performance: { startsAt: '2030-03-01T14:00:00Z' },
      sections: [{ name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 4 }],
    });
    const stalls = seats.Stalls!;
    await sell('m1', clerkB, id, [stalls[0], stalls[1], stalls[2]], 'CARD_TERMINAL');
    await flushPurchases(api.app);
    const partial = await call('POST', `/admin/purchases/${sales.m1.id}/refund`, {
      body: { seatIds: [stalls[1]] },
      session: admin,
    });
    expect(partial.statusCode, partial.body).toBe(200);
    const rest = await call('POST', `/admin/purchases/${sales.m1.id}/refund`, { session: admin });
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({ status: 'CANCELED', refunded: { amount: 3000 } });
    await flushPurchases(api.app);

    const matinee = await cashUp(`${range()}&performanceId=${id}`);
    expect(byClerk(matinee)).toEqual({
      [clerkB.id]: [figures('EUR', { sales: 1, seats: 3, cardTerminalSales: 1, cardTerminalTaken: 4500 })],
      [admin.id]: [figures('EUR', { refunds: 2, cardTerminalRefunded: 4500 })],
    });
    expect(matinee.totals[0]).toMatchObject({ cardTerminalNet: 0, cashNet: 0 });
    const totals = (await report(id)).totals;
    // The report counts the partial refund (1500) and the rest (3000) paid at the window, as the cash-up does.
    expect(totals).toMatchObject({ cardTerminalRevenue: 0, cardTerminalRefundsPaid: 4500 });
  });

  it('refuses bad input with the uniform 400', async () => {
    const now = Date.now();
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const day = 24 * 3_600_000;
    for (const [query, message] of [
      [`to=${iso(now)}`, 'from'],
      [`from=${iso(now)}`, 'to'],
      [`from=2030-03-01T09:00:00&to=${iso(now)}`, 'from'],
      [`from=${iso(now)}&to=${iso(now)}`, 'from must be before to'],
      [`from=${iso(now)}&to=${iso(now - 1)}`, 'from must be before to'],
      [`from=${iso(now)}&to=${iso(now + 31 * day + 1)}`, 'at most 31 days'],
      [`from=${iso(now)}&to=${iso(now + day)}&clerkId=nope`, 'clerkId'],
      [`from=${iso(now)}&to=${iso(now + day)}&performanceId=0`, 'performanceId'],
      [`from=${iso(now)}&to=${iso(now + day)}&colour=red`, 'colour'],
    ]) {
      const answer = await call('GET', `/admin/box-office/cash-up?${query}`, { session: admin });
      expect(answer.statusCode, query).toBe(400);
      expect(answer.json(), query).toMatchObject({ statusCode: 400, error: 'Bad Request', path: expect.any(String) });
      expect(JSON.stringify(answer.json().message), query).toContain(message);
    }
    // 31 days exactly is allowed.
    expect((await cashUp(`from=${iso(now)}&to=${iso(now + 31 * day)}`)).totals).toEqual([]);
  });
});
