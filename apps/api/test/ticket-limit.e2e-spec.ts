import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { performanceKeys, SeatReconciler, SeatStateStore } from '@app/ticketing';
import { createRedis } from '@app/redis';
import { createPerformance, flushPurchasesAfterLoss } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { PurchaseStore } from '../../../libs/ticketing/src/purchases/purchase.store';

/**
 * The ticket limit per buyer (`maxTicketsPerBuyer` of a performance), on real PostgreSQL and
 * Redis: seats bought and held count together across holds and purchases, a cancel or refund
 * gives seats back, purchases made before the limit was set or before Redis lost the performance
 * count, and a buyer racing their own holds never passes it.
 */
describe('ticket limit per buyer (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(() => close?.());

  /** A 100-seat performance with `limit` (null = none), and a way to take its seats in order. */
  async function performanceWithLimit(limit: number | null) {
    const performance = await createPerformance(api.app, admin, 100);
    if (limit !== null) {
      const patched = await call('PATCH', `/performances/${performance.id}`, {
        body: { maxTicketsPerBuyer: limit },
        session: admin,
      });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json().maxTicketsPerBuyer).toBe(limit);
    }
    let next = 0;
    return { ...performance, take: (count: number) => performance.seatIds.slice(next, (next += count)) };
  }

  const reserve = (buyer: TestSession, performanceId: number, seatIds: number[]) =>
    call('POST', '/reservations', { body: { performanceId, seatIds }, session: buyer });

  async function buy(buyer: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const held = await reserve(buyer, performanceId, seatIds);
    expect(held.statusCode, held.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    return bought.json().id;
  }

  it('counts seats bought and held together; a cancel or an operator refund gives seats back', async () => {
    const performance = await performanceWithLimit(4);
    const buyer = await createSession(api.app);
    const other = await createSession(api.app);
    const first = await buy(buyer, performance.id, performance.take(2));
    await buy(buyer, performance.id, performance.take(1));
    const held = await reserve(buyer, performance.id, performance.take(1));
    expect(held.statusCode, held.body).toBe(201);

    const refused = await reserve(buyer, performance.id, performance.take(1));
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      statusCode: 409,
      message: expect.stringContaining('at most 4 tickets for this performance'),
      details: { limit: 4, bought: 3, held: 1, requested: 1 },
    });
    // Best available keeps it too; another buyer is not affected.
    const best = await call('POST', '/reservations', {
      body: { performanceId: performance.id, quantity: 1 },
      session: buyer,
    });
    expect(best.statusCode, best.body).toBe(409);
    expect(best.json().details).toMatchObject({ limit: 4, bought: 3, held: 1, requested: 1 });
    expect((await reserve(other, performance.id, performance.take(4))).statusCode).toBe(201);

    // Releasing the hold gives its seat back; so does cancelling a purchase (two seats).
    expect((await call('DELETE', `/reservations/${held.json().id}`, { session: buyer })).statusCode).toBe(204);
    expect((await call('POST', `/purchases/${first}/cancel`, { session: buyer })).statusCode).toBe(200);
    const afterCancel = await reserve(buyer, performance.id, performance.take(3));
    expect(afterCancel.statusCode, afterCancel.body).toBe(201);
    expect((await reserve(buyer, performance.id, performance.take(1))).json().details).toMatchObject({
      bought: 1,
      held: 3,
    });
    const second = await call('POST', '/purchases', { body: { reservationId: afterCancel.json().id }, session: buyer });
    expect(second.statusCode, second.body).toBe(201);
    const refund = await call('POST', `/admin/purchases/${second.json().id}/refund`, { session: admin });
    expect(refund.statusCode, refund.body).toBe(200);
    expect((await reserve(buyer, performance.id, performance.take(3))).statusCode).toBe(201);
  });

  it('is set at creation, shown on the performance, cleared by PATCH null; bad values are a 400 changing nothing', async () => {
    const event = await call('POST', '/events', { body: { title: 'Limited', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-03-01T19:00:00Z',
        maxTicketsPerBuyer: 2,
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 10 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().maxTicketsPerBuyer).toBe(2);
    const id = created.json().id as number;
    expect((await call('GET', `/performances/${id}`)).json().maxTicketsPerBuyer).toBe(2);

    for (const bad of [0, -1, 1.5, '2', true, 100_001]) {
      const res = await call('PATCH', `/performances/${id}`, { body: { maxTicketsPerBuyer: bad }, session: admin });
      expect(res.statusCode, `${JSON.stringify(bad)}: ${res.body}`).toBe(400);
      expect(res.json().message.join(' ')).toContain('maxTicketsPerBuyer');
    }
    expect((await call('GET', `/performances/${id}`)).json().maxTicketsPerBuyer).toBe(2);

    const buyer = await createSession(api.app);
    const seatIds = (await call('GET', `/performances/${id}/seats?limit=10`))
      .json()
      .items.map((s: { id: number }) => s.id);
    expect((await reserve(buyer, id, seatIds.slice(0, 2))).statusCode).toBe(201);
    expect((await reserve(buyer, id, seatIds.slice(2, 3))).statusCode).toBe(409);

    const cleared = await call('PATCH', `/performances/${id}`, { body: { maxTicketsPerBuyer: null }, session: admin });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().maxTicketsPerBuyer).toBeNull();
    // Only the seats-held-at-once limit (MAX_SEATS_PER_RESERVATION, 4) is left.
    expect((await reserve(buyer, id, seatIds.slice(2, 4))).statusCode).toBe(201);
    expect((await reserve(buyer, id, seatIds.slice(4, 5))).statusCode).toBe(409);
  });

  it('counts purchases made before the limit was set, also those Redis had not counted (an upgrade)', async () => {
    const performance = await performanceWithLimit(null);
    const buyer = await createSession(api.app);
    await buy(buyer, performance.id, performance.take(3));
    await flushPurchasesAfterLoss(api.app);
    // As after an upgrade from a version that kept no counts: Redis knows nothing of the purchase.
    const redis = createRedis(api.env);
    try {
      await redis.del(performanceKeys(performance.id).ticketsBought);
      await redis.hdel(performanceKeys(performance.id).meta, 'ticketsCounted');
    } finally {
      redis.disconnect();
    }
    const patched = await call('PATCH', `/performances/${performance.id}`, {
      body: { maxTicketsPerBuyer: 4 },
      session: admin,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const refused = await reserve(buyer, performance.id, performance.take(2));
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details).toMatchObject({ limit: 4, bought: 3, held: 0 });
    expect((await reserve(buyer, performance.id, performance.take(1))).statusCode).toBe(201);
  });

  it('setting the limit does not count a cancellation PostgreSQL has not seen yet as a purchase', async () => {
    const performance = await performanceWithLimit(null);
    const buyer = await createSession(api.app);
    const purchase = await buy(buyer, performance.id, performance.take(2));
    await flushPurchasesAfterLoss(api.app);
    // Canceled in Redis only, as in the middle of a cancel (Redis first, then PostgreSQL): the
    // tickets are still active in PostgreSQL when the PATCH reads it.
    const canceled = await api.app.get(PurchaseStore).cancel(performance.id, purchase, buyer.id, null);
    expect(canceled.outcome).toBe('CANCELED');
    const patched = await call('PATCH', `/performances/${performance.id}`, {
      body: { maxTicketsPerBuyer: 2 },
      session: admin,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const held = await reserve(buyer, performance.id, performance.take(2));
    expect(held.statusCode, held.body).toBe(201);
  });

  it("after a lost write took a sale's seats and count, the seat reconciler restores both", async () => {
    const performance = await performanceWithLimit(3);
    const buyer = await createSession(api.app);
    const seatIds = performance.take(2);
    await buy(buyer, performance.id, seatIds);
    await flushPurchasesAfterLoss(api.app);
    // As a failover that lost purchase.lua's writes after the flush had written the sale to PostgreSQL.
    const keys = performanceKeys(performance.id);
    const redis = createRedis(api.env);
    try {
      const lost = redis.multi();
      for (const seatId of seatIds) lost.hset(keys.seats, String(seatId), 'A');
      await lost
        .hincrby(keys.counts, 'sold', -2)
        .hincrby(keys.counts, 'available', 2)
        .hdel(keys.ticketsBought, buyer.id)
        .exec();
    } finally {
      redis.disconnect();
    }
    const { repairs } = await api.app.get(SeatReconciler).reconcilePerformance(performance.id);
    expect(repairs.map((repair) => repair.kind)).toEqual(['sold_restored', 'sold_restored']);
    const refused = await reserve(buyer, performance.id, performance.take(2));
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details).toMatchObject({ limit: 3, bought: 2, held: 0 });
  });

  it('says "ticket" for a limit of one', async () => {
    const performance = await performanceWithLimit(1);
    const buyer = await createSession(api.app);
    expect((await reserve(buyer, performance.id, performance.take(1))).statusCode).toBe(201);
    const refused = await reserve(buyer, performance.id, performance.take(1));
    expect(refused.json().message).toMatch(/^a buyer may have at most 1 ticket for this performance/);
  });

  it('still holds after Redis lost the performance: the counts are rebuilt from PostgreSQL', async () => {
    const performance = await performanceWithLimit(3);
    const buyer = await createSession(api.app);
    await buy(buyer, performance.id, performance.take(2));
    await flushPurchasesAfterLoss(api.app);
    await api.app.get(SeatStateStore).removePerformance(performance.id);

    const refused = await reserve(buyer, performance.id, performance.take(2));
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details).toMatchObject({ limit: 3, bought: 2, held: 0 });
    expect((await reserve(buyer, performance.id, performance.take(1))).statusCode).toBe(201);
  });

  /** One step of the model test: two buyers hold, buy, cancel and release; the admin moves the limit. */
  type Step =
    | { kind: 'hold'; buyer: number; seats: number }
    | { kind: 'buy' | 'cancel' | 'release'; buyer: number; pick: number }
    | { kind: 'limit'; limit: number | null };
  const buyer = fc.nat(1);
  const pick = fc.nat(9);
  // Weighted so most runs buy and then cancel or release what they hold.
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('hold' as const), buyer, seats: fc.integer({ min: 1, max: 4 }) }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('buy' as const), buyer, pick }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), buyer, pick }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), buyer, pick }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('limit' as const),
        limit: fc.option(fc.integer({ min: 1, max: 7 }), { nil: null }),
      }),
    },
  );

  it('answers as a model of the rule after every step, and its count in Redis is the seats bought', async () => {
    const buyers = [await createSession(api.app), await createSession(api.app)];
    const redis = createRedis(api.env);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.option(fc.integer({ min: 1, max: 7 }), { nil: null }),
          fc.array(step, { minLength: 6, maxLength: 16 }),
          async (first, steps) => {
            const performance = await performanceWithLimit(first);
            let limit = first;
            // Per buyer: live holds and paid purchases (id → seats), as the rule sees them.
            const model = buyers.map(() => ({
              holds: new Map<string, number>(),
              purchases: new Map<string, number>(),
            }));
            const total = (seats: Map<string, number>) => [...seats.values()].reduce((sum, n) => sum + n, 0);
            const nth = (seats: Map<string, number>, pick: number) => [...seats.keys()][pick % seats.size];
            for (const [index, current] of steps.entries()) {
              const what = `step ${index}: ${JSON.stringify(current)} (limit ${limit})`;
              if (current.kind === 'limit') {
                const res = await call('PATCH', `/performances/${performance.id}`, {
                  body: { maxTicketsPerBuyer: current.limit },
                  session: admin,
                });
                expect(res.statusCode, what).toBe(200);
                limit = current.limit;
                continue;
              }
              const session = buyers[current.buyer];
              const mine = model[current.buyer];
              if (current.kind === 'hold') {
                const held = total(mine.holds);
                const bought = total(mine.purchases);
                const res = await reserve(session, performance.id, performance.take(current.seats));
                if (held + current.seats > 4) {
                  expect(res.statusCode, what).toBe(409);
                  expect(res.json().message, what).toMatch(/may hold at most 4 seats/);
                } else if (limit !== null && bought + held + current.seats > limit) {
                  expect(res.statusCode, what).toBe(409);
                  expect(res.json().details, what).toEqual({ limit, bought, held, requested: current.seats });
                } else {
                  expect(res.statusCode, `${what}: ${res.body}`).toBe(201);
                  mine.holds.set(res.json().id, current.seats);
                }
              } else if (current.kind === 'buy' || current.kind === 'release') {
                if (mine.holds.size === 0) continue;
                const holdId = nth(mine.holds, current.pick);
                const seats = mine.holds.get(holdId)!;
                mine.holds.delete(holdId);
                if (current.kind === 'release') {
                  expect((await call('DELETE', `/reservations/${holdId}`, { session })).statusCode, what).toBe(204);
                } else {
                  const res = await call('POST', '/purchases', { body: { reservationId: holdId }, session });
                  expect(res.statusCode, `${what}: ${res.body}`).toBe(201);
                  mine.purchases.set(res.json().id, seats);
                }
              } else {
                if (mine.purchases.size === 0) continue;
                const purchaseId = nth(mine.purchases, current.pick);
                mine.purchases.delete(purchaseId);
                const res = await call('POST', `/purchases/${purchaseId}/cancel`, { session });
                expect(res.statusCode, `${what}: ${res.body}`).toBe(200);
              }
              const counts = await redis.hmget(
                performanceKeys(performance.id).ticketsBought,
                ...buyers.map((b) => b.id),
              );
              expect(counts.map(Number), what).toEqual(model.map(({ purchases }) => total(purchases)));
            }
            for (const [i, { holds }] of model.entries()) {
              for (const holdId of holds.keys())
                await call('DELETE', `/reservations/${holdId}`, { session: buyers[i] });
            }
          },
        ),
        { numRuns: 20 },
      );
    } finally {
      redis.disconnect();
    }
  });

  it('one buyer firing 60 one-seat holds at once, with 2 seats bought and a limit of 4: exactly 2 are held', async () => {
    const performance = await performanceWithLimit(4);
    const buyer = await createSession(api.app);
    await buy(buyer, performance.id, performance.take(2));
    const seatIds = performance.take(60);
    const answers = await Promise.all(seatIds.map((seatId) => reserve(buyer, performance.id, [seatId])));
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(2);
    expect(statuses.filter((status) => status === 409)).toHaveLength(58);
    const { held, sold } = (await call('GET', `/performances/${performance.id}`)).json();
    expect({ held, sold }).toEqual({ held: 2, sold: 2 });
    const listed = (await call('GET', '/reservations', { session: buyer })).json();
    expect(listed.items.filter((h: { performanceId: number }) => h.performanceId === performance.id)).toHaveLength(2);
  });
});
