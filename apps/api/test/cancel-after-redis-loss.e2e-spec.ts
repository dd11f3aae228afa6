import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { Hold, HoldDesk, SeatStateStore } from '@app/ticketing';
import { createPerformance, flushPurchasesAfterLoss, persisted } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/**
 * Cancels and refunds of purchases written to PostgreSQL, after Redis lost the performance's live
 * state (emptied, a new node), on real PostgreSQL and Redis. The cancel rebuilds the performance
 * from PostgreSQL before it runs: its seats are for sale again at once (not after the seat
 * reconciler's next pass), the counts add up, and the performance's cancelUntil still holds.
 */
describe('cancel and refund after Redis lost the performance (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let other: TestSession;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  /** Buys `count` seats for the buyer and writes the purchase to PostgreSQL. */
  async function buyFlushed(count: number): Promise<{ id: string; seatIds: number[] }> {
    const held = await hold(buyer, seats(count));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchasesAfterLoss(api.app);
    return bought.json();
  }

  const counts = async () => {
    const { available, held, sold } = (await call('GET', `/performances/${performance.id}`)).json();
    return { available, held, sold };
  };
  /** As the /reservations routes hold: a performance Redis lost is rebuilt first. */
  const hold = (user: TestSession, seatIds: number[]): Promise<Hold> =>
    api.app.get(HoldDesk).hold(user.id, performance.id, seatIds);
  const statuses = (seatIds: number[]) => api.app.get(SeatStateStore).statuses(performance.id, seatIds);

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    buyer = await createSession(api.app);
    other = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 20);
  });
  afterAll(() => close?.());

  it.each([
    ['a buyer', (id: string) => call('POST', `/purchases/${id}/cancel`, { session: buyer })],
    ['an operator', (id: string) => call('POST', `/admin/purchases/${id}/refund`, { session: admin })],
  ])("frees the seats of %s's cancel at once, with counts that add up", async (_who, cancel) => {
    const kept = await buyFlushed(1);
    const purchase = await buyFlushed(2);
    const before = await counts();
    await api.app.get(SeatStateStore).removePerformance(performance.id);

    const res = await cancel(purchase.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: purchase.id, status: 'CANCELED' });
    expect(await statuses(purchase.seatIds)).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(await statuses(kept.seatIds)).toEqual(['SOLD']);
    expect(await counts()).toEqual({ available: before.available + 2, held: 0, sold: before.sold - 2 });
    // Another buyer holds and buys them now, not after a reconciler pass.
    const resold = await hold(other, purchase.seatIds);
    expect((await call('POST', '/purchases', { body: { reservationId: resold.id }, session: other })).statusCode).toBe(
      201,
    );

    await flushPurchasesAfterLoss(api.app);
    const db = await persisted(api.env.DATABASE_URL, [purchase.id]);
    expect(db.purchases.map((p) => p.status)).toEqual(['CANCELED']);
  });

  it("refuses a buyer's cancel past the performance's cancelUntil (409), changing nothing", async () => {
    const purchase = await buyFlushed(1);
    const closed = await call('PATCH', `/performances/${performance.id}`, {
      body: { cancelUntil: null },
      session: admin,
    });
    expect(closed.statusCode, closed.body).toBe(200);
    const before = await counts();
    await api.app.get(SeatStateStore).removePerformance(performance.id);

    const refused = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(await statuses(purchase.seatIds)).toEqual(['SOLD']);
    expect(await counts()).toEqual(before);
    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json().status).toBe('PAID');
    await flushPurchasesAfterLoss(api.app);
    expect((await persisted(api.env.DATABASE_URL, [purchase.id])).purchases.map((p) => p.status)).toEqual(['PAID']);
  });

  it("answers 404 for another user's purchase after the loss, changing nothing", async () => {
    const purchase = await buyFlushed(1);
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    expect((await call('POST', `/purchases/${purchase.id}/cancel`, { session: other })).statusCode).toBe(404);
    await counts(); // a read rebuilds the performance from PostgreSQL
    expect(await statuses(purchase.seatIds)).toEqual(['SOLD']);
    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json().status).toBe('PAID');
  });
});
