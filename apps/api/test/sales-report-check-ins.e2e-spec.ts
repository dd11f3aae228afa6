import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { Clock } from '@app/core';
import { createSession, TestSession } from '@app/testing';
import { createPerformance, doorsOpenNow, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { buyTickets, createStaffSession } from './support/door';
import { createShowOfSections } from './support/shows';

interface TicketBody {
  id: string;
  code: string;
}

/**
 * The door in the sales report (`GET /performances/:id/sales`, `GET /events/:id/sales`) on real
 * PostgreSQL and Redis: tickets checked in, whatever sold them (online, the box office window, a
 * comp), an undone check-in no longer counted, a refunded ticket never; and no-shows once the
 * performance's check-in has closed (null before).
 */
describe('check-ins and no-shows in the sales report (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let staff: TestSession;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    staff = await createStaffSession(api.app, admin, 'report-door@example.test');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await close?.();
  });

  const report = async (performanceId: number, session = admin) => {
    const answer = await call('GET', `/performances/${performanceId}/sales`, { session });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json();
  };

  it('counts checked-in tickets of every channel, not an undone check-in nor a refunded ticket, and no-shows once check-in closed', async () => {
    const { startsAt, checkInOpensBeforeMinutes } = doorsOpenNow();
    const performance = await createPerformance(api.app, admin, 10, {
      startsAt,
      checkInOpensBeforeMinutes,
      checkInClosesAfterMinutes: 60,
    });
    const seats = performance.seatIds;
    const scan = async (code: string) => {
      const res = await call('POST', '/check-in', { body: { code, performanceId: performance.id }, session: staff });
      expect(res.statusCode, res.body).toBe(200);
    };

    // Online: Ada's two tickets (both scanned, one undone), Bob's one (scanned, then refunded
    // keeping the seat), Cy's one (refunded unused).
    const [ada, bob, cy] = await Promise.all([createSession(api.app), createSession(api.app), createSession(api.app)]);
    const adas = await buyTickets<TicketBody>(api.app, ada, performance.id, seats.slice(0, 2));
    const bobs = await buyTickets<TicketBody>(api.app, bob, performance.id, [seats[2]]);
    const cys = await buyTickets<TicketBody>(api.app, cy, performance.id, [seats[3]]);
    // The box office window: one walk-up ticket.
    const sale = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      body: { seatIds: [seats[4]], paymentMethod: 'CASH' },
      session: staff,
    });
    expect(sale.statusCode, sale.body).toBe(201);
    // A comp to a confirmed account.
    const guest = await createSession(api.app);
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [guest.id]);
    const comp = await call('POST', `/admin/performances/${performance.id}/comps`, {
      body: { email: guest.email, seatIds: [seats[5]], note: 'press' },
      session: admin,
    });
    expect(comp.statusCode, comp.body).toBe(201);
    await flushPurchases(api.app);
    const compTickets = await call('GET', `/purchases/${comp.json().id}/tickets`, { session: guest });
    expect(compTickets.statusCode, compTickets.body).toBe(200);

    await scan(adas.tickets[0].code);
    await scan(adas.tickets[1].code);
    await scan(bobs.tickets[0].code);
    await scan(sale.json().tickets[0].code);
    await scan(compTickets.json().items[0].code);
    const undone = await call('DELETE', `/check-in/${adas.tickets[1].id}`, { session: admin });
    expect(undone.statusCode, undone.body).toBe(200);
    const kept = await call('POST', `/admin/purchases/${bobs.purchaseId}/refund`, {
      body: { resellCheckedInSeats: false },
      session: admin,
    });
    expect(kept.statusCode, kept.body).toBe(200);
    const refunded = await call('POST', `/admin/purchases/${cys.purchaseId}/refund`, { body: {}, session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);

    // Sold: Ada's 2, Bob's kept seat, the walk-up's, the comp's. In: Ada's first, the walk-up, the comp.
    const open = await report(performance.id);
    expect(open.checkIn).toMatchObject({ state: 'OPEN' });
    expect(open.totals).toMatchObject({ sold: 5, kept: 1, comps: 1, checkedIn: 3, noShows: null });
    expect(open.sections[0]).toMatchObject({ checkedIn: 3, noShows: null });
    await flushPurchases(api.app); // the refunds written behind: the same figures
    expect((await report(performance.id)).totals).toMatchObject({ sold: 5, kept: 1, checkedIn: 3, noShows: null });

    // After check-in closed (the api's clock, as the door has it), Ada's undone ticket is the one no-show.
    const closesAt = new Date(open.checkIn.closesAt);
    expect(closesAt.getTime()).toBe(startsAt.getTime() + 60 * 60_000);
    vi.spyOn(api.app.get(Clock), 'now').mockImplementation(() => new Date(closesAt.getTime()));
    // Signed in at that time: the first session's token has expired by then.
    const later = await createSession(api.app, { role: Role.Admin });
    const closed = await report(performance.id, later);
    expect(closed.checkIn).toMatchObject({ state: 'CLOSED' });
    expect(closed.totals).toMatchObject({ sold: 5, kept: 1, checkedIn: 3, noShows: 1 });
    expect(closed.sections[0]).toMatchObject({ checkedIn: 3, noShows: 1 });

    const { eventId } = (await call('GET', `/performances/${performance.id}`)).json();
    const event = await call('GET', `/events/${eventId}/sales`, { session: later });
    expect(event.statusCode, event.body).toBe(200);
    expect(event.json().totals).toMatchObject({ checkedIn: 3, noShows: 1 });
    expect(event.json().performances[0].totals).toMatchObject({ checkedIn: 3, noShows: 1 });
    vi.restoreAllMocks();
  });

  it('counts free seats available while the box office window still sells after the start, unsold once check-in closed', async () => {
    // Started an hour ago, check-in closing 4 h after the start: online sales have ended, the window sells.
    const startsAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000);
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Started show',
      performance: {
        startsAt: startsAt.toISOString(),
        salesOpenAt: new Date(startsAt.getTime() - 60 * 60_000).toISOString(),
        cancelUntil: null,
        checkInClosesAfterMinutes: 240,
      },
      sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 4 }],
    });
    const started = await report(id);
    expect(started).toMatchObject({ salesState: 'ENDED', checkIn: { state: 'OPEN' } });
    expect(started.totals).toMatchObject({ seatsTotal: 4, available: 4, unsold: 0 });
    expect(started.sections[0]).toMatchObject({ available: 4, unsold: 0 });
    // What the report calls available, the window sells.
    const sale = await call('POST', `/box-office/performances/${id}/sales`, {
      body: { seatIds: [seats.Floor[0]], paymentMethod: 'CASH' },
      session: staff,
    });
    expect(sale.statusCode, sale.body).toBe(201);
    expect((await report(id)).totals).toMatchObject({ available: 3, sold: 1, unsold: 0 });

    // Check-in closed (the api's clock, as the window decides): nothing sells any more, the rest is unsold.
    const closesAt = new Date(startsAt.getTime() + 240 * 60_000);
    vi.spyOn(api.app.get(Clock), 'now').mockImplementation(() => new Date(closesAt.getTime()));
    vi.spyOn(api.app.get(Clock), 'nowMs').mockImplementation(() => closesAt.getTime());
    const later = await createSession(api.app, { role: Role.Admin });
    const over = await report(id, later);
    expect(over.checkIn).toMatchObject({ state: 'CLOSED' });
    expect(over.totals).toMatchObject({ seatsTotal: 4, available: 0, sold: 1, unsold: 3 });
    const laterStaff = await createStaffSession(api.app, later, 'report-window-late@example.test');
    const refused = await call('POST', `/box-office/performances/${id}/sales`, {
      body: { seatIds: [seats.Floor[1]], paymentMethod: 'CASH' },
      session: laterStaff,
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().message).toContain('check-in closed');
    vi.restoreAllMocks();
  });
});
