import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiHarness, TestSession } from '@app/testing';
import { SeatStateStore } from '@app/ticketing';
import { caller, createPerformance } from './purchase-helpers';
import { startApiWithSessions } from './support/api';

/**
 * An admin deletes an event at the moment a buyer buys one of its seats. Before the fix the
 * delete checked `sold == 0` and then deleted: a purchase landing in between answered 201 and
 * was lost (never flushed, no e-mail, PAID forever). Never may both succeed.
 */
describe('deleting an event while its seats sell (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;

  beforeAll(async () => {
    ({ api, admin, user: buyer } = await startApiWithSessions());
  });
  afterAll(async () => api?.close());

  it('either refuses the delete (the purchase stands) or refuses the purchase (the event is gone), never both succeed', async () => {
    const call = caller(api.app);
    const outcomes = { deleted: 0, bought: 0 };
    for (let round = 0; round < 25; round++) {
      const performance = await createPerformance(api.app, admin, 2);
      const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
      const hold = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
        session: buyer,
      });
      expect(hold.statusCode).toBe(201);

      // Staggered by up to a few ms either way, so both orders are tried.
      const lead = round % 3;
      const [deletion, purchase] = await Promise.all([
        new Promise((r) => setTimeout(r, lead === 1 ? 2 : 0)).then(() =>
          call('DELETE', `/events/${eventId}`, { session: admin }),
        ),
        new Promise((r) => setTimeout(r, lead === 2 ? 2 : 0)).then(() =>
          call('POST', '/purchases', { body: { reservationId: hold.json().id }, session: buyer }),
        ),
      ]);
      const context = `round ${round}: DELETE ${deletion.statusCode} ${deletion.body}, POST ${purchase.statusCode} ${purchase.body}`;
      if (purchase.statusCode === 201) {
        outcomes.bought += 1;
        expect(deletion.statusCode, context).toBe(409);
        expect(deletion.json().message, context).toBe('event has sold seats and cannot be deleted');
        const read = await call('GET', `/purchases/${purchase.json().id}`, { session: buyer });
        expect(read.json(), context).toMatchObject({ status: 'PAID', performanceId: performance.id });
        // Sales are open again after the refused delete: the other seat can still be held.
        const next = await call('POST', '/reservations', {
          body: { performanceId: performance.id, seatIds: [performance.seatIds[1]] },
          session: admin,
        });
        expect(next.statusCode, context).toBe(201);
      } else {
        outcomes.deleted += 1;
        expect(deletion.statusCode, context).toBe(204);
        expect([404, 409], context).toContain(purchase.statusCode);
        expect((await call('GET', `/events/${eventId}`)).statusCode, context).toBe(404);
        // The hold ended with its performance: it does not read as HELD.
        const held = await call('GET', `/reservations/${hold.json().id}`, { session: buyer });
        expect(held.statusCode === 404 || held.json().status !== 'HELD', context).toBe(true);
      }
    }
    expect(outcomes.deleted + outcomes.bought).toBe(25);
  }, 120_000);

  it('leaves no live seat state of a performance created while its event is deleted', async () => {
    const call = caller(api.app);
    const seats = api.app.get(SeatStateStore);
    for (let round = 0; round < 10; round++) {
      const event = (await call('POST', '/events', { body: { title: 'Race', venue: 'Hall' }, session: admin })).json();
      const [deletion, creation] = await Promise.all([
        call('DELETE', `/events/${event.id}`, { session: admin }),
        call('POST', `/events/${event.id}/performances`, {
          body: {
            startsAt: '2030-03-01T19:00:00Z',
            sections: [{ name: 'A', grade: 'R', price: 500, rows: 2, seatsPerRow: 50 }],
          },
          session: admin,
        }),
      ]);
      const context = `round ${round}: DELETE ${deletion.statusCode}, POST ${creation.statusCode} ${creation.body}`;
      expect(deletion.statusCode, context).toBe(204);
      if (creation.statusCode === 201) {
        // Created before the delete locked the event: deleted with it, live state included.
        expect(await seats.isRegistered(creation.json().id), context).toBe(false);
      } else {
        expect([404, 409], context).toContain(creation.statusCode);
      }
    }
  });

  it('refuses holds and purchases of a performance closed to sales with 409 SalesClosed, and a refused delete reopens it', async () => {
    const call = caller(api.app);
    const performance = await createPerformance(api.app, admin, 3);
    const hold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    const seats = api.app.get(SeatStateStore);
    expect(await seats.closeSales(performance.id, 'test-closure', 60_000)).toEqual({
      closed: true,
      sold: 0,
      held: 1,
      unwritten: 0,
      parked: 0,
    });
    const refusedHold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[1]] },
      session: buyer,
    });
    const refusedPurchase = await call('POST', '/purchases', {
      body: { reservationId: hold.json().id },
      session: buyer,
    });
    for (const refused of [refusedHold, refusedPurchase]) {
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toBe('sales are closed for this performance');
    }
    expect(await seats.reopenSales(performance.id, 'test-closure')).toBe(true);
    const bought = await call('POST', '/purchases', { body: { reservationId: hold.json().id }, session: buyer });
    expect(bought.statusCode).toBe(201);

    const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
    expect((await call('DELETE', `/events/${eventId}`, { session: admin })).statusCode).toBe(409);
    const after = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[2]] },
      session: buyer,
    });
    expect(after.statusCode).toBe(201);
  });

  it("keeps a delete's closure when a time zone change that closed before it reopens late: no hold until the delete ends", async () => {
    const call = caller(api.app);
    const performance = await createPerformance(api.app, admin, 2);
    const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
    const seats = api.app.get(SeatStateStore);
    const closeSales = seats.closeSales.bind(seats);
    const reopenSales = seats.reopenSales.bind(seats);
    let deleteClosed!: () => void;
    const deleteHasClosed = new Promise<void>((resolve) => (deleteClosed = resolve));
    let letDeleteCommit!: () => void;
    const deleteMayCommit = new Promise<void>((resolve) => (letDeleteCommit = resolve));
    let deletion: ReturnType<typeof call> | undefined;
    const closing = vi.spyOn(seats, 'closeSales').mockImplementation(async (...args) => {
      const atClose = await closeSales(...args);
      // The delete's close, under its row lock: it holds the lock (not committed) until let go.
      if (deletion) {
        deleteClosed();
        await deleteMayCommit;
      }
      return atClose;
    });
    // The time zone change reopens after its commit (its finally): a delete that waited on the row
    // lock has closed sales by then.
    const reopening = vi.spyOn(seats, 'reopenSales').mockImplementationOnce(async (...args) => {
      deletion = call('DELETE', `/performances/${performance.id}`, { session: admin });
      await deleteHasClosed;
      return reopenSales(...args);
    });
    try {
      const changed = await call('PATCH', `/events/${eventId}`, {
        body: { timeZone: 'America/Denver' },
        session: admin,
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(reopening).toHaveBeenCalledTimes(1);
      // Before the fix the late reopen opened the delete's closure: this hold (and its purchase)
      // landed on a performance about to be deleted with its keys.
      const hold = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
        session: buyer,
      });
      expect(hold.statusCode, hold.body).toBe(409);
      expect(hold.json().message).toBe('sales are closed for this performance');
    } finally {
      letDeleteCommit();
      closing.mockRestore();
      reopening.mockRestore();
    }
    expect((await deletion!).statusCode).toBe(204);
    expect((await call('GET', `/performances/${performance.id}`)).statusCode).toBe(404);
  });
});
