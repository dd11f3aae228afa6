import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createShowOfSections } from './support/shows';

interface BookedSeat {
  seatId: number;
  price: number;
}

interface Booking {
  id: string;
  seatIds: number[];
  amount: number;
  seats: BookedSeat[];
}

/**
 * A purchase shows what its buyer paid per seat: the prices its hold was made with, recorded on
 * the hold, copied into the purchase and its tickets (`tickets.price`), whatever an admin set the
 * section's price to between the hold and the reads. Real PostgreSQL and Redis (single or Cluster).
 */
describe('seat prices of holds and purchases after a reprice (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(() => close?.());

  /** A performance of sections Floor (1050 per seat, 10 seats) and Box (700, 4 seats), on sale now. */
  async function createPerformance(): Promise<{ id: number; floor: number[]; box: number[] }> {
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Recital',
      performance: { startsAt: '2030-03-01T19:00:00Z' },
      sections: [
        { name: 'Floor', grade: 'R', price: 1050, rows: 1, seatsPerRow: 10 },
        { name: 'Box', grade: 'VIP', price: 700, rows: 1, seatsPerRow: 4 },
      ],
    });
    return { id, floor: seats.Floor!, box: seats.Box! };
  }

  async function reprice(performanceId: number, section: string, price: number): Promise<void> {
    const patched = await call('PATCH', `/performances/${performanceId}/sections/${section}`, {
      body: { price },
      session: admin,
    });
    expect(patched.statusCode, patched.body).toBe(200);
  }

  const flushAll = () => flushPurchases(api.app);

  /** `booking`'s seat prices by seat id, checked to be in `seatIds` order and to sum to its amount. */
  function pricesOf(booking: Booking, view: string): Record<number, number> {
    expect(
      booking.seats.map((seat) => seat.seatId),
      `${view}: seats in the order of seatIds`,
    ).toEqual(booking.seatIds);
    expect(
      booking.seats.reduce((sum, seat) => sum + seat.price, 0),
      `${view}: seat prices sum to the amount`,
    ).toBe(booking.amount);
    return Object.fromEntries(booking.seats.map((seat) => [seat.seatId, seat.price]));
  }

  async function get(url: string, session: TestSession): Promise<Booking> {
    const res = await call('GET', url, { session });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res.json();
  }

  /** The purchase as the buyer, the buyer's list, the admin's read and (once flushed) the admin search show it. */
  async function expectPurchaseViews(
    buyer: TestSession,
    purchase: { id: string; performanceId: number },
    paid: Record<number, number>,
    stage: string,
    flushed: boolean,
  ): Promise<void> {
    const mine = await get(`/purchases/${purchase.id}`, buyer);
    expect(pricesOf(mine, `${stage} GET /purchases/:id`), `${stage} GET /purchases/:id`).toEqual(paid);
    const list = (await call('GET', '/purchases', { session: buyer })).json().items as Booking[];
    const listed = list.find((item) => item.id === purchase.id);
    expect(listed, `${stage} GET /purchases lists it`).toBeDefined();
    expect(pricesOf(listed!, `${stage} GET /purchases`), `${stage} GET /purchases`).toEqual(paid);
    const read = await get(`/admin/purchases/${purchase.id}`, admin);
    expect(pricesOf(read, `${stage} GET /admin/purchases/:id`), `${stage} GET /admin/purchases/:id`).toEqual(paid);
    if (!flushed) return;
    const search = (await get(`/admin/purchases?performanceId=${purchase.performanceId}`, admin)) as unknown as {
      items: Booking[];
    };
    const found = search.items.find((item) => item.id === purchase.id);
    expect(found, `${stage} the admin search finds it`).toBeDefined();
    expect(pricesOf(found!, `${stage} admin search`), `${stage} admin search`).toEqual(paid);
  }

  /** Each ticket's price in PostgreSQL, by seat id. */
  async function ticketPrices(purchaseId: string): Promise<Record<number, number>> {
    const rows = await db.query('SELECT seat_id, price FROM tickets WHERE purchase_id = $1 ORDER BY seat_id', [
      purchaseId,
    ]);
    return Object.fromEntries(rows.rows.map((row: { seat_id: number; price: number }) => [row.seat_id, row.price]));
  }

  /**
   * Buys `hold`, then checks every view of the purchase shows `paid` (the hold's prices) before the
   * flush, after it, and from PostgreSQL alone (the Redis hash gone, as after its retention); the
   * tickets carry the prices; a cancel from PostgreSQL answers them too.
   */
  async function buyAndCheck(buyer: TestSession, hold: Booking, paid: Record<number, number>): Promise<void> {
    const bought = await call('POST', '/purchases', { body: { reservationId: hold.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchase = bought.json() as Booking & { performanceId: number };
    expect(purchase.amount, 'the purchase charges the hold').toBe(hold.amount);
    expect(pricesOf(purchase, 'POST /purchases'), 'POST /purchases').toEqual(paid);
    await expectPurchaseViews(buyer, purchase, paid, 'before the flush:', false);

    await flushAll();
    const tickets = await ticketPrices(purchase.id);
    expect(tickets, 'tickets.price of each seat').toEqual(paid);
    const amount = await db.query('SELECT amount FROM purchases WHERE id = $1', [purchase.id]);
    expect(
      Object.values(tickets).reduce((sum, price) => sum + price, 0),
      'ticket prices sum to the amount',
    ).toBe(Number(amount.rows[0].amount));
    await expectPurchaseViews(buyer, purchase, paid, 'after the flush:', true);

    await api.app.get(Redis).del(performanceKeys(purchase.performanceId).purchase(purchase.id));
    await expectPurchaseViews(buyer, purchase, paid, 'from PostgreSQL alone:', true);
    const canceled = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(pricesOf(canceled.json(), 'POST /purchases/:id/cancel'), 'POST /purchases/:id/cancel').toEqual(paid);
  }

  it('a hold of seat ids: its view, and its purchase everywhere, show the prices it was made with', async () => {
    const performance = await createPerformance();
    const buyer = await createSession(api.app);
    const [f0, f1] = performance.floor;
    const [b0] = performance.box;
    // Asked out of layout order: the purchase lists its seats ascending, each with its own price.
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [b0, f1, f0] },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    const hold = held.json() as Booking;
    const paid = { [f0]: 1050, [f1]: 1050, [b0]: 700 };
    expect(hold.amount).toBe(2800);
    expect(pricesOf(hold, 'POST /reservations'), 'POST /reservations').toEqual(paid);

    await reprice(performance.id, 'Floor', 2000);
    await reprice(performance.id, 'Box', 900);
    expect(pricesOf(await get(`/reservations/${hold.id}`, buyer), 'GET /reservations/:id after the reprice')).toEqual(
      paid,
    );
    const live = (await call('GET', '/reservations', { session: buyer })).json().items as Booking[];
    expect(live.map((item) => item.id)).toEqual([hold.id]);
    expect(pricesOf(live[0], 'GET /reservations after the reprice')).toEqual(paid);
    // A hold made now pays the new prices, and shows them.
    const later = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.floor[2]] },
      session: await createSession(api.app),
    });
    expect(later.statusCode, later.body).toBe(201);
    expect(pricesOf(later.json(), 'a hold after the reprice')).toEqual({ [performance.floor[2]]: 2000 });

    await buyAndCheck(buyer, hold, paid);
    const bought = await get(`/reservations/${hold.id}`, buyer);
    expect(pricesOf(bought, 'GET /reservations/:id once bought')).toEqual(paid);
  });

  it('a best-available hold: the same, with the seats the script picked', async () => {
    const performance = await createPerformance();
    const buyer = await createSession(api.app);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, quantity: 2, section: 'Floor' },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    const hold = held.json() as Booking;
    expect(hold.seatIds).toHaveLength(2);
    const paid = Object.fromEntries(hold.seatIds.map((id) => [id, 1050]));
    expect(hold.amount).toBe(2100);
    expect(pricesOf(hold, 'POST /reservations (best available)')).toEqual(paid);

    await reprice(performance.id, 'Floor', 2000);
    expect(pricesOf(await get(`/reservations/${hold.id}`, buyer), 'GET /reservations/:id after the reprice')).toEqual(
      paid,
    );
    await buyAndCheck(buyer, hold, paid);
  });
});
