import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, startApi, TestSession } from '@app/testing';
import { PurchaseFlusher } from '@app/ticketing';
import { ApiModule } from '../src/api.module';
import { createApiApp } from '../src/bootstrap';
import { caller, hold } from './purchase-helpers';

describe('sales reports (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far; the test decides when it runs.
    api = await startApi(({ overrides, logger }) => createApiApp(ApiModule, { overrides, logger }), {
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(async () => api?.close());

  async function flushAll(): Promise<void> {
    const flusher = api.app.get(PurchaseFlusher);
    while ((await flusher.flushOnce({ batchSize: 500, inFlight: 1 })) > 0);
  }

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

  const figures = (f: Partial<Record<string, number>>) => ({
    seatsTotal: 0,
    available: 0,
    held: 0,
    sold: 0,
    kept: 0,
    revenue: 0,
    purchases: 0,
    cancellations: 0,
    ...f,
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
      }),
      sections: [
        {
          name: 'VIP',
          ...figures({ seatsTotal: 8, available: 7, sold: 1, revenue: 100, purchases: 2, cancellations: 1 }),
        },
        {
          name: 'Floor',
          ...figures({ seatsTotal: 12, available: 10, held: 1, sold: 1, revenue: 50, purchases: 2, cancellations: 1 }),
        },
      ],
    });
    expect(eventReport.json().performances.map((p: { performanceId: number }) => p.performanceId)).toEqual([
      performance.id,
      quiet.id,
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
