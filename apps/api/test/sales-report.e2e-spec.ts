import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { hold, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

describe('sales reports (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far; the test decides when it runs.
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(() => close?.());

  const flushAll = () => flushPurchases(api.app);

  async function newPerformance(eventId: number) {
    const res = await call('POST', `/events/${eventId}/performances`, {
      session: admin,
      body: {
        startsAt: '2030-03-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [
          { name: 'VIP', grade: 'R', price: 100, rows: 1, seatsPerRow: 4 },
          { name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 6 },
        ],
      },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as number;
    const page = await call('GET', `/performances/${id}/seats?limit=100`);
    const seats = page.json().items as { id: number; section: string }[];
    return {
      id,
      vip: seats.filter((s) => s.section === 'VIP').map((s) => s.id),
      floor: seats.filter((s) => s.section === 'Floor').map((s) => s.id),
    };
  }

  async function buy(session: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const held = await hold(api.app, session, performanceId, seatIds);
    const res = await call('POST', '/purchases', { session, body: { reservationId: held.id } });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  const figures = (f: Partial<Record<string, number | null>>) => ({
    seatsTotal: 0,
    available: 0,
    held: 0,
    sold: 0,
    kept: 0,
    blocked: 0,
    unsold: 0,
    revenue: 0,
    purchases: 0,
    cancellations: 0,
    comps: 0,
    compPurchases: 0,
    compCancellations: 0,
    // Every sale of this file is online: its revenue is all online, none from the box office window.
    onlineRevenue: f.revenue ?? 0,
    boxOfficeRevenue: 0,
    cashRevenue: 0,
    cardTerminalRevenue: 0,
    presalePurchases: 0,
    presaleRevenue: 0,
    boxOfficePurchases: 0,
    boxOfficeCancellations: 0,
    windowRefundsOwed: 0,
    cashRefundsOwed: 0,
    cardTerminalRefundsOwed: 0,
    windowRefundsPaid: 0,
    cashRefundsPaid: 0,
    cardTerminalRefundsPaid: 0,
    checkedIn: 0,
    // Null in a performance's report until its check-in closes (these start in 2030).
    noShows: null,
    ...f,
  });

  it('counts the sales made in a presale apart, before and after the flush, canceled ones too (presale trial 2026-12-07)', async () => {
    const event = await call('POST', '/events', { session: admin, body: { title: 'Presale report', venue: 'Hall' } });
    const performance = await newPerformance(event.json().id);
    const [now] = await api.app.get(Redis).time();
    const at = (seconds: number) => new Date((Number(now) + seconds) * 1000).toISOString();
    const later = await call('PATCH', `/performances/${performance.id}`, {
      session: admin,
      body: { salesOpenAt: at(3600) },
    });
    expect(later.statusCode, later.body).toBe(200);
    const presale = await call('POST', `/admin/performances/${performance.id}/presales`, {
      session: admin,
      body: { name: 'Fan club', opensAt: at(-60), closesAt: at(3600), code: 'FANS-REPORT-1' },
    });
    expect(presale.statusCode, presale.body).toBe(201);
    const [alice, bob, carol] = await Promise.all([
      createSession(api.app),
      createSession(api.app),
      createSession(api.app),
    ]);
    const buyWithCode = async (session: TestSession, seatIds: number[], accessCode?: string) => {
      const held = await call('POST', '/reservations', {
        session,
        body: { performanceId: performance.id, seatIds, ...(accessCode ? { accessCode } : {}) },
      });
      expect(held.statusCode, held.body).toBe(201);
      const bought = await call('POST', '/purchases', { session, body: { reservationId: held.json().id } });
      expect(bought.statusCode, bought.body).toBe(201);
      return bought.json().id as string;
    };
    // In the presale: a VIP and a Floor seat (150), and a VIP seat canceled since (100).
    await buyWithCode(alice, [performance.vip[0], performance.floor[0]], 'fans-report-1');
    const canceled = await buyWithCode(bob, [performance.vip[1]], 'FANS-REPORT-1');
    expect((await call('POST', `/purchases/${canceled}/cancel`, { session: bob })).statusCode).toBe(200);
    // The general on-sale: a Floor seat (50), a code sent and ignored.
    const open = await call('PATCH', `/performances/${performance.id}`, {
      session: admin,
      body: { salesOpenAt: at(-1) },
    });
    expect(open.statusCode, open.body).toBe(200);
    await buyWithCode(carol, [performance.floor[1]], 'FANS-REPORT-1');

    const expected = {
      totals: expect.objectContaining({
        purchases: 3,
        cancellations: 1,
        revenue: 200,
        presalePurchases: 2,
        presaleRevenue: 150,
      }),
      sections: [
        expect.objectContaining({ name: 'VIP', purchases: 2, revenue: 100, presalePurchases: 2, presaleRevenue: 100 }),
        expect.objectContaining({ name: 'Floor', purchases: 2, revenue: 100, presalePurchases: 1, presaleRevenue: 50 }),
      ],
    };
    const report = async () => (await call('GET', `/performances/${performance.id}/sales`, { session: admin })).json();
    expect(await report()).toMatchObject(expected); // in Redis
    await flushAll();
    expect(await report()).toMatchObject(expected); // in PostgreSQL
    const stored = await db.query(
      `SELECT presale_id::text AS "presaleId", count(*)::int AS n FROM purchases WHERE performance_id = $1 GROUP BY 1 ORDER BY 1`,
      [performance.id],
    );
    expect(stored.rows).toEqual([
      { presaleId: presale.json().id, n: 2 },
      { presaleId: null, n: 1 },
    ]);
    const eventReport = await call('GET', `/events/${event.json().id}/sales`, { session: admin });
    expect(eventReport.json().totals).toMatchObject({ presalePurchases: 2, presaleRevenue: 150 });
  });

  it('reports exact figures before and after the flush, with a cancellation in between, and sums an event', async () => {
    const event = await call('POST', '/events', { session: admin, body: { title: 'Report', venue: 'Hall' } });
    const performance = await newPerformance(event.json().id);
    const quiet = await newPerformance(event.json().id);
    const [alice, bob, carol] = await Promise.all([
      createSession(api.app),
      createSession(api.app),
      createSession(api.app),
    ]);

    const alicePurchase = await buy(alice, performance.id, performance.vip.slice(0, 2));
    await buy(carol, performance.id, [performance.vip[2], performance.floor[0]]);
    await hold(api.app, bob, performance.id, [performance.floor[1]]);

    const report = async () => {
      const res = await call('GET', `/performances/${performance.id}/sales`, { session: admin });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    const sold = {
      performanceId: performance.id,
      currency: 'KRW',
      salesState: 'ON_SALE',
      checkIn: {
        state: 'NOT_OPEN',
        opensAt: '2030-03-01T16:00:00.000Z',
        closesAt: '2030-03-01T23:00:00.000Z',
        byDoor: [],
      },
      totals: figures({ seatsTotal: 10, available: 5, held: 1, sold: 4, revenue: 350, purchases: 2 }),
      sections: [
        { name: 'VIP', ...figures({ seatsTotal: 4, available: 1, sold: 3, revenue: 300, purchases: 2 }) },
        { name: 'Floor', ...figures({ seatsTotal: 6, available: 4, held: 1, sold: 1, revenue: 50, purchases: 1 }) },
      ],
    };
    expect(await report()).toEqual(sold); // all in Redis
    await flushAll();
    expect(await report()).toEqual(sold); // all in PostgreSQL

    const cancel = await call('POST', `/purchases/${alicePurchase}/cancel`, { session: alice });
    expect(cancel.statusCode).toBe(200);
    const afterCancel = {
      ...sold,
      totals: figures({ seatsTotal: 10, available: 7, held: 1, sold: 2, revenue: 150, purchases: 2, cancellations: 1 }),
      sections: [
        {
          name: 'VIP',
          ...figures({ seatsTotal: 4, available: 3, sold: 1, revenue: 100, purchases: 2, cancellations: 1 }),
        },
        sold.sections[1],
      ],
    };
    expect(await report()).toEqual(afterCancel); // purchase in PostgreSQL, cancellation in Redis
    await flushAll();
    expect(await report()).toEqual(afterCancel);

    // A purchase canceled before its first flush counts once, as canceled.
    const dave = await createSession(api.app);
    const quick = await buy(dave, quiet.id, [quiet.floor[0]]);
    expect((await call('POST', `/purchases/${quick}/cancel`, { session: dave })).statusCode).toBe(200);
    const quietReport = figures({ seatsTotal: 10, available: 10, purchases: 1, cancellations: 1 });
    expect((await call('GET', `/performances/${quiet.id}/sales`, { session: admin })).json().totals).toEqual(
      quietReport,
    );

    const eventReport = await call('GET', `/events/${event.json().id}/sales`, { session: admin });
    expect(eventReport.statusCode).toBe(200);
    expect(eventReport.json()).toMatchObject({
      eventId: event.json().id,
      currency: 'KRW',
      totals: figures({
        seatsTotal: 20,
        available: 17,
        held: 1,
        sold: 2,
        revenue: 150,
        purchases: 3,
        cancellations: 2,
        // An event's sums its performances' closed check-ins: none yet.
        noShows: 0,
      }),
      sections: [
        {
          name: 'VIP',
          ...figures({
            seatsTotal: 8,
            available: 7,
            sold: 1,
            revenue: 100,
            purchases: 2,
            cancellations: 1,
            noShows: 0,
          }),
        },
        {
          name: 'Floor',
          ...figures({
            seatsTotal: 12,
            available: 10,
            held: 1,
            sold: 1,
            revenue: 50,
            purchases: 2,
            cancellations: 1,
            noShows: 0,
          }),
        },
      ],
    });
    expect(eventReport.json().performances.map((p: { performanceId: number }) => p.performanceId)).toEqual([
      performance.id,
      quiet.id,
    ]);
  });

  it('books each seat at what it was sold at after a reprice, and splits an older purchase never below 0', async () => {
    const event = await call('POST', '/events', { session: admin, body: { title: 'Reprice', venue: 'Hall' } });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      session: admin,
      body: {
        startsAt: '2030-03-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [
          { name: 'A', grade: 'R', price: 1000, rows: 1, seatsPerRow: 4 },
          { name: 'B', grade: 'S', price: 500, rows: 1, seatsPerRow: 4 },
        ],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const performanceId = created.json().id as number;
    const seats = (await call('GET', `/performances/${performanceId}/seats?limit=100`)).json().items as {
      id: number;
      section: string;
    }[];
    const [a1, a2] = seats.filter((s) => s.section === 'A').map((s) => s.id);
    const [b1, b2] = seats.filter((s) => s.section === 'B').map((s) => s.id);
    const [buyer, older] = await Promise.all([createSession(api.app), createSession(api.app)]);

    // The stranger's t17: A1 + B1 bought for 1500 (prices recorded on the hold and the purchase).
    const sold = await buy(buyer, performanceId, [a1, b1]);
    // A purchase as the previous version made it: its hold (so the purchase) records no prices.
    const olderHold = await hold(api.app, older, performanceId, [a2, b2]);
    await api.app.get(Redis).hdel(performanceKeys(performanceId).hold(olderHold.id), 'prices');
    const olderRes = await call('POST', '/purchases', { session: older, body: { reservationId: olderHold.id } });
    expect(olderRes.statusCode, olderRes.body).toBe(201);
    expect(olderRes.json().amount, 'older purchase amount').toBe(1500);

    const reprice = async (section: string, price: number) => {
      const res = await call('PATCH', `/performances/${performanceId}/sections/${section}`, {
        session: admin,
        body: { price },
      });
      expect(res.statusCode, `PATCH ${section} ${price}: ${res.body}`).toBe(200);
    };
    /** Each section's revenue, checked ≥ 0 and summing to the totals' 3000. */
    const revenues = async (stage: string) => {
      const res = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
      expect(res.statusCode, `${stage}: ${res.body}`).toBe(200);
      const report = res.json() as { totals: { revenue: number }; sections: { name: string; revenue: number }[] };
      expect(report.totals.revenue, `${stage}: total revenue`).toBe(3000);
      expect(
        report.sections.reduce((sum, section) => sum + section.revenue, 0),
        `${stage}: sections sum to the total`,
      ).toBe(3000);
      return Object.fromEntries(report.sections.map((section) => [section.name, section.revenue]));
    };

    await reprice('B', 100_000_000);
    // Recorded: A 1000, B 500. Older, by the prices now (1000 and 100,000,000): A 0, B 1500.
    // Before: A -99,998,500 (the recorded purchase's difference booked to its first seat).
    const repriced = { A: 1000, B: 2000 };
    expect(await revenues('B repriced, all in Redis'), 'B repriced, all in Redis').toEqual(repriced);
    await flushAll();
    const tickets = await db.query(
      'SELECT purchase_id, seat_id, price FROM tickets WHERE purchase_id = ANY($1::uuid[]) ORDER BY seat_id',
      [[sold, olderRes.json().id]],
    );
    expect(
      tickets.rows.map((row) => [row.purchase_id === sold ? 'recorded' : 'older', row.seat_id, row.price]),
      'tickets.price after the flush',
    ).toEqual([
      ['recorded', a1, 1000],
      ['older', a2, null],
      ['recorded', b1, 500],
      ['older', b2, null],
    ]);
    expect(await revenues('B repriced, all in PostgreSQL'), 'B repriced, all in PostgreSQL').toEqual(repriced);

    await reprice('A', 0);
    await reprice('B', 0);
    // Recorded: still A 1000, B 500. Older: every seat free now, so 750 each (before: all 1500 to A).
    expect(await revenues('both free now'), 'both free now').toEqual({ A: 1750, B: 1250 });
    const eventReport = await call('GET', `/events/${event.json().id}/sales`, { session: admin });
    expect(
      eventReport.json().sections.map((section: { name: string; revenue: number }) => [section.name, section.revenue]),
      'event report',
    ).toEqual([
      ['A', 1750],
      ['B', 1250],
    ]);
  });

  it('answers 403 to a buyer, 401 without a token, 404 for an unknown performance or event, 400 for a bad id', async () => {
    const buyer = await createSession(api.app);
    expect((await call('GET', '/performances/1/sales', { session: buyer })).statusCode).toBe(403);
    expect((await call('GET', '/events/1/sales', { session: buyer })).statusCode).toBe(403);
    expect((await call('GET', '/performances/1/sales')).statusCode).toBe(401);
    const missing = await call('GET', '/performances/987654/sales', { session: admin });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, message: expect.stringContaining('performance') });
    expect((await call('GET', '/events/987654/sales', { session: admin })).statusCode).toBe(404);
    expect((await call('GET', '/performances/abc/sales', { session: admin })).statusCode).toBe(400);
  });
});
