import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { caller, createPerformance, hold, persisted, flushPurchases } from './purchase-helpers';
import { startApiWithSessions } from './support/api';

const PERFORMANCE_HAS_PURCHASES = 'performance has purchases and cannot be deleted';
const EVENT_HAS_PURCHASES = 'event has purchases and cannot be deleted';

/**
 * Deleting a performance or an event never erases a purchase, whatever its status and wherever it
 * is: a purchase canceled or refunded before `batch` wrote it lives only in the performance's
 * Redis stream, which the delete used to remove with the performance (204, the purchase gone,
 * its payment attempt COMPLETED with nothing behind it). No flusher runs here unless a test
 * calls one, so a purchase stays unwritten for as long as a test needs.
 */
describe('deleting a performance or event that has purchases (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    ({ api, admin, user: buyer } = await startApiWithSessions({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    call = caller(api.app);
  });
  afterAll(async () => api?.close());

  /** Writes every purchase and cancellation to PostgreSQL, as `batch` does. */
  const flushAll = () => flushPurchases(api.app, { batchSize: 500 });

  /** Buys `seatId` for the buyer; answers the purchase id. */
  async function buy(performanceId: number, seatId: number): Promise<string> {
    const held = await hold(api.app, buyer, performanceId, [seatId]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    return bought.json().id as string;
  }

  async function eventOf(performanceId: number): Promise<number> {
    return (await call('GET', `/performances/${performanceId}`)).json().eventId as number;
  }

  /** The purchase is where the buyer and the operators read it, with `status`. */
  async function expectPurchase(purchaseId: string, status: string, context: string): Promise<void> {
    const read = await call('GET', `/purchases/${purchaseId}`, { session: buyer });
    expect(read.statusCode, `${context}: GET /purchases/${purchaseId} ${read.body}`).toBe(200);
    expect(read.json().status, context).toBe(status);
    const mine = (await call('GET', '/purchases?limit=100', { session: buyer })).json();
    expect(
      mine.items.map((item: { id: string }) => item.id),
      `${context}: the buyer's list`,
    ).toContain(purchaseId);
  }

  it('refuses to delete a performance whose purchase was canceled before it was written (409, the purchase stays)', async () => {
    const performance = await createPerformance(api.app, admin, 2);
    const purchaseId = await buy(performance.id, performance.seatIds[0]);
    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(200);

    const refused = await call('DELETE', `/performances/${performance.id}`, { session: admin });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().message).toBe(PERFORMANCE_HAS_PURCHASES);
    expect(refused.json().details).toEqual({ performanceId: performance.id });
    await expectPurchase(purchaseId, 'CANCELED', 'after the refused delete');
    // The refused delete opened sales again.
    expect((await hold(api.app, admin, performance.id, [performance.seatIds[1]])).status).toBe('HELD');

    // Written now: still refused, by the row in PostgreSQL.
    await flushAll();
    expect((await persisted(api.env.DATABASE_URL, [purchaseId])).purchases).toMatchObject([{ status: 'CANCELED' }]);
    const again = await call('DELETE', `/performances/${performance.id}`, { session: admin });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json().message).toBe(PERFORMANCE_HAS_PURCHASES);
  });

  it('refuses to delete an event whose purchase an operator refunded before it was written (409, the purchase stays)', async () => {
    const performance = await createPerformance(api.app, admin, 2);
    const eventId = await eventOf(performance.id);
    const purchaseId = await buy(performance.id, performance.seatIds[0]);
    const refund = await call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin });
    expect(refund.statusCode, refund.body).toBe(200);

    const refused = await call('DELETE', `/events/${eventId}`, { session: admin });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().message).toBe(EVENT_HAS_PURCHASES);
    expect(refused.json().details).toEqual({ performanceId: performance.id });
    await expectPurchase(purchaseId, 'CANCELED', 'after the refused delete');
    // Written by the next flush, the refund with it: the operators' search (PostgreSQL) finds it.
    await flushAll();
    const found = await call('GET', `/admin/purchases?performanceId=${performance.id}`, { session: admin });
    expect(
      found.json().items.map((item: { id: string }) => item.id),
      'admin search',
    ).toEqual([purchaseId]);
    expect((await call('GET', `/events/${eventId}`)).statusCode).toBe(200);
  });

  it('refuses to delete an event whose only purchases are canceled and written with a clear 409, not a foreign-key message', async () => {
    const performance = await createPerformance(api.app, admin, 2);
    const eventId = await eventOf(performance.id);
    const purchaseId = await buy(performance.id, performance.seatIds[0]);
    await flushAll();
    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(200);
    await flushAll();
    expect((await persisted(api.env.DATABASE_URL, [purchaseId])).purchases).toMatchObject([{ status: 'CANCELED' }]);

    const performanceDelete = await call('DELETE', `/performances/${performance.id}`, { session: admin });
    expect(performanceDelete.statusCode, performanceDelete.body).toBe(409);
    expect(performanceDelete.json().message).toBe(PERFORMANCE_HAS_PURCHASES);
    const eventDelete = await call('DELETE', `/events/${eventId}`, { session: admin });
    expect(eventDelete.statusCode, eventDelete.body).toBe(409);
    expect(eventDelete.json()).toMatchObject({
      message: EVENT_HAS_PURCHASES,
      details: { performanceId: performance.id },
    });
    // Sales of the performance are open again after both refusals.
    expect((await hold(api.app, admin, performance.id, [performance.seatIds[1]])).status).toBe('HELD');
  });

  it('turns no buyer away while deletes it refuses run: purchases racing them all sell', async () => {
    const performance = await createPerformance(api.app, admin, 25);
    const eventId = await eventOf(performance.id);
    // A sale already: every delete below is refused.
    await buy(performance.id, performance.seatIds[0]);
    const buyers = await Promise.all(Array.from({ length: 6 }, () => createSession(api.app)));
    const holds = [];
    for (let i = 0; i < 24; i++) {
      const session = buyers[i % buyers.length];
      holds.push({ session, held: await hold(api.app, session, performance.id, [performance.seatIds[i + 1]]) });
    }
    const [deletes, purchases] = await Promise.all([
      Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call('DELETE', i % 2 === 0 ? `/performances/${performance.id}` : `/events/${eventId}`, { session: admin }),
        ),
      ),
      Promise.all(
        holds.map(({ session, held }) => call('POST', '/purchases', { body: { reservationId: held.id }, session })),
      ),
    ]);
    deletes.forEach((deletion, i) => expect(deletion.statusCode, `delete ${i}: ${deletion.body}`).toBe(409));
    purchases.forEach((bought, i) => expect(bought.statusCode, `purchase ${i}: ${bought.body}`).toBe(201));
  });

  it('still deletes an event and a performance that never had a purchase', async () => {
    const performance = await createPerformance(api.app, admin, 2);
    await hold(api.app, buyer, performance.id, [performance.seatIds[0]]);
    expect((await call('DELETE', `/performances/${performance.id}`, { session: admin })).statusCode).toBe(204);
    const other = await createPerformance(api.app, admin, 2);
    const eventId = await eventOf(other.id);
    expect((await call('DELETE', `/events/${eventId}`, { session: admin })).statusCode).toBe(204);
    expect((await call('GET', `/performances/${other.id}`)).statusCode).toBe(404);
  });

  /**
   * Rounds of a DELETE racing a sale and its cancel, or the cancel of an earlier sale (and, every
   * other round, a flusher pass that moves the purchase from the stream to PostgreSQL meanwhile),
   * staggered a little either way so each order is tried. Either the delete is refused and the purchase stands, or no purchase
   * existed: never a 204 with a purchase made.
   */
  it('never loses a purchase to a DELETE racing its sale, cancel and flush', async () => {
    const buyerOfRace = await createSession(api.app);
    const outcomes = { deleted: 0, refused: 0 };
    for (let round = 0; round < 24; round++) {
      const performance = await createPerformance(api.app, admin, 2);
      const viaEvent = round % 4 >= 2;
      const target = viaEvent ? `/events/${await eventOf(performance.id)}` : `/performances/${performance.id}`;
      const held = await hold(api.app, buyerOfRace, performance.id, [performance.seatIds[0]]);
      const lead = round % 3;
      const flushing = round % 2 === 1;
      const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const buyNow = (reservationId: string) =>
        call('POST', '/purchases', { body: { reservationId }, session: buyerOfRace });

      // The first half races the sale and its cancel; the second, the cancel of a sale made before.
      const sold = round >= 12 ? await buyNow(held.id) : null;

      const [deletion, sale] = await Promise.all([
        later(lead === 1 ? 2 : 0).then(() => call('DELETE', target, { session: admin })),
        later(lead === 2 ? 2 : 0).then(async () => {
          const bought = sold ?? (await buyNow(held.id));
          if (bought.statusCode !== 201) return { bought, canceled: null };
          const [canceled] = await Promise.all([
            call('POST', `/purchases/${bought.json().id}/cancel`, { session: buyerOfRace }),
            flushing ? flushAll() : Promise.resolve(),
          ]);
          return { bought, canceled };
        }),
      ]);
      const context = `round ${round} (${target}): DELETE ${deletion.statusCode} ${deletion.body}, POST ${sale.bought.statusCode} ${sale.bought.body}, cancel ${sale.canceled?.statusCode}`;
      if (deletion.statusCode === 204) {
        outcomes.deleted += 1;
        expect(sale.bought.statusCode, context).not.toBe(201);
        continue;
      }
      outcomes.refused += 1;
      expect(deletion.statusCode, context).toBe(409);
      expect(sale.bought.statusCode, context).toBe(201);
      const purchaseId = sale.bought.json().id as string;
      const status = sale.canceled?.statusCode === 200 ? 'CANCELED' : 'PAID';
      const read = await call('GET', `/purchases/${purchaseId}`, { session: buyerOfRace });
      expect(read.statusCode, context).toBe(200);
      expect(read.json().status, context).toBe(status);
      await flushAll();
      expect((await persisted(api.env.DATABASE_URL, [purchaseId])).purchases, context).toMatchObject([{ status }]);
    }
    expect(outcomes.deleted + outcomes.refused).toBe(24);
  }, 180_000);
});
