import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsService } from '@app/auth';
import { createSession, TEST_PASSWORD, TestSession } from '@app/testing';
import { performanceKeys, SeatStateRebuilder } from '@app/ticketing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { createDoorsOpenShow } from './support/shows';

/** What a window sale answered: the ids a clerk could try on the buyer's routes. */
interface WindowSale {
  id: string;
  reservationId: string;
  tickets: { ticketId: string; seatId: number; code: string }[];
}

/** A buyer's route tried with a window sale's ids, and what it must answer: 404, or a list without it. */
interface BuyerRoute {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: (sale: WindowSale) => string;
  body?: (sale: WindowSale) => object;
  /** Absent: 404 like another user's resource. Present: 200, and these ids are not in its items. */
  listed?: (items: Record<string, unknown>[]) => unknown[];
}

/**
 * Every route a buyer uses, keyed on the purchase's account. A window sale is stored under the
 * selling clerk's account, yet it is the venue's: none of these may show or act on it for the clerk.
 */
const BUYER_ROUTES: BuyerRoute[] = [
  {
    name: 'GET /purchases',
    method: 'GET',
    url: () => '/purchases?limit=100',
    listed: (items) => items.map((i) => i.id),
  },
  { name: 'GET /purchases/:id', method: 'GET', url: (sale) => `/purchases/${sale.id}` },
  { name: 'GET /purchases/:id/tickets', method: 'GET', url: (sale) => `/purchases/${sale.id}/tickets` },
  { name: 'GET /purchases/:id/tickets.pdf', method: 'GET', url: (sale) => `/purchases/${sale.id}/tickets.pdf` },
  {
    name: 'GET /tickets/:ticketId/ticket.pdf',
    method: 'GET',
    url: (sale) => `/tickets/${sale.tickets[0].ticketId}/ticket.pdf`,
  },
  { name: 'POST /purchases/:id/tickets/resend', method: 'POST', url: (sale) => `/purchases/${sale.id}/tickets/resend` },
  { name: 'POST /purchases/:id/cancel', method: 'POST', url: (sale) => `/purchases/${sale.id}/cancel` },
  {
    name: 'POST /purchases (its hold)',
    method: 'POST',
    url: () => '/purchases',
    body: (sale) => ({ reservationId: sale.reservationId }),
  },
  { name: 'GET /tickets', method: 'GET', url: () => '/tickets?limit=100', listed: (items) => items.map((i) => i.id) },
  {
    name: 'POST /tickets/:ticketId/transfers',
    method: 'POST',
    url: (sale) => `/tickets/${sale.tickets[0].ticketId}/transfers`,
    body: () => ({ email: 'ben@example.test' }),
  },
  {
    name: 'GET /ticket-transfers',
    method: 'GET',
    url: () => '/ticket-transfers',
    listed: (items) => items.map((i) => i.ticketId),
  },
  { name: 'GET /reservations', method: 'GET', url: () => '/reservations', listed: (items) => items.map((i) => i.id) },
  { name: 'GET /reservations/:id', method: 'GET', url: (sale) => `/reservations/${sale.reservationId}` },
  { name: 'DELETE /reservations/:id', method: 'DELETE', url: (sale) => `/reservations/${sale.reservationId}` },
];

/**
 * A box office sale is the venue's, not the selling clerk's: the clerk's account (active staff, or
 * a plain buyer once its role is revoked) finds none of it on the buyer's routes, before and after
 * the flush; the walk-up's printed codes stay good. The door names the walk-up; the admin view
 * names the walk-up, the channel, the method and the clerk; a repeated sale is told its seats were
 * sold at the box office. Real PostgreSQL and Redis.
 */
describe("window sales are the venue's, not the clerk's (real PostgreSQL and Redis)", () => {
  let { api, db, admin, call, redis, close } = {} as AdminApi;
  let clerks = 0;

  beforeAll(async () => {
    ({ api, db, admin, call, redis, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(() => close?.());

  async function clerkSession(): Promise<TestSession> {
    clerks += 1;
    return createStaffSession(api.app, admin, `clerk-${clerks}@example.test`, `Clerk ${clerks}`);
  }

  async function createShow(): Promise<{ id: number; seatIds: number[] }> {
    const { id, seats } = await createDoorsOpenShow(call, admin, {
      title: 'Walk-up Night',
      currency: 'EUR',
      sections: [{ name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 12 }],
    });
    return { id, seatIds: seats.Stalls! };
  }

  async function sellAtWindow(clerk: TestSession, performanceId: number, seatIds: number[]): Promise<WindowSale> {
    const sold = await call('POST', `/box-office/performances/${performanceId}/sales`, {
      body: { seatIds, paymentMethod: 'CASH', email: 'victim@example.test', name: 'Walk Up' },
      session: clerk,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json() as WindowSale;
  }

  /** Every buyer's route, as `session`, with `sale`'s ids: 404, or a list that leaves it out. */
  async function expectHiddenFrom(session: TestSession, sale: WindowSale, when: string): Promise<void> {
    const saleIds = [sale.id, sale.reservationId, ...sale.tickets.map((ticket) => ticket.ticketId)];
    for (const route of BUYER_ROUTES) {
      const res = await call(route.method, route.url(sale), { session, body: route.body?.(sale) });
      const what = `${when}: ${route.name} → ${res.statusCode} ${res.body}`;
      if (route.listed) {
        expect(res.statusCode, what).toBe(200);
        const ids = route.listed(res.json().items).map(String);
        expect(
          ids.filter((id) => saleIds.includes(id)),
          what,
        ).toEqual([]);
      } else {
        expect(res.statusCode, what).toBe(404);
      }
    }
  }

  it("hides a window sale from every buyer's route of the clerk, active or demoted, before and after the flush; its codes stay good", async () => {
    const show = await createShow();
    const clerk = await clerkSession();
    // The clerk's own online purchase stays the clerk's.
    const held = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: [show.seatIds[0]] },
      session: clerk,
    });
    expect(held.statusCode, held.body).toBe(201);
    const own = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: clerk });
    expect(own.statusCode, own.body).toBe(201);

    const sale = await sellAtWindow(clerk, show.id, [show.seatIds[1], show.seatIds[2]]);
    await expectHiddenFrom(clerk, sale, 'clerk, before the flush');
    await flushPurchases(api.app);
    await expectHiddenFrom(clerk, sale, 'clerk, after the flush');

    const mine = await call('GET', '/purchases', { session: clerk });
    expect(mine.json().items.map((item: { id: string }) => item.id)).toEqual([own.json().id]);
    const ownTickets = await call('GET', `/purchases/${own.json().id}/tickets`, { session: clerk });
    expect(ownTickets.statusCode, ownTickets.body).toBe(200);

    // The trial's path: the staff role revoked, the account signs in as a plain buyer.
    const revoked = await call('DELETE', `/admin/staff/${clerk.id}`, { session: admin });
    expect(revoked.statusCode, revoked.body).toBe(204);
    const tokens = await api.app.get(SessionsService).login(clerk.email, TEST_PASSWORD);
    const demoted = { ...clerk, headers: { authorization: `Bearer ${tokens.accessToken}` } };
    await expectHiddenFrom(demoted, sale, 'demoted clerk');

    // An offer the clerk made before this fix (a row as POST /tickets/:ticketId/transfers wrote it):
    // its recipient cannot take the walk-up's ticket.
    const ben = await createSession(api.app, { name: 'Ben' });
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [ben.id]);
    const stale = await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, created_at, expires_at)
       SELECT gen_random_uuid(), $1, $2, u.email, u.email_key, now(), now() + interval '1 hour' FROM users u WHERE u.id = $3
       RETURNING id`,
      [sale.tickets[0].ticketId, clerk.id, ben.id],
    );
    const accepted = await call('POST', `/ticket-transfers/${stale.rows[0].id}/accept`, { session: ben });
    expect(accepted.statusCode, accepted.body).toBe(409);
    const heldByBen = await call('GET', '/tickets', { session: ben });
    expect(heldByBen.json().items).toEqual([]);

    // Nothing moved: the sale is still paid, and each printed code admits the walk-up.
    const operatorView = await call('GET', `/admin/purchases/${sale.id}`, { session: admin });
    expect(operatorView.json()).toMatchObject({ status: 'PAID', seatIds: [show.seatIds[1], show.seatIds[2]].sort() });
    const door = await clerkSession();
    for (const ticket of sale.tickets) {
      const scanned = await call('POST', '/check-in', {
        body: { code: ticket.code, performanceId: show.id },
        session: door,
      });
      expect(scanned.statusCode, scanned.body).toBe(200);
    }
  });

  it('the door names the walk-up as the holder; the admin view names the walk-up, channel, method and clerk', async () => {
    const show = await createShow();
    const clerk = await clerkSession();
    const sale = await sellAtWindow(clerk, show.id, [show.seatIds[3]]);
    const bare = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: [show.seatIds[4]], paymentMethod: 'CARD_TERMINAL' },
      session: clerk,
    });
    expect(bare.statusCode, bare.body).toBe(201);

    const before = await call('GET', `/admin/purchases/${sale.id}`, { session: admin });
    const expected = {
      saleChannel: 'BOX_OFFICE',
      paymentMethod: 'CASH',
      soldBy: clerk.id,
      deliveryEmail: 'victim@example.test',
      deliveryName: 'Walk Up',
    };
    expect(before.json()).toMatchObject(expected);
    await flushPurchases(api.app);
    expect((await call('GET', `/admin/purchases/${sale.id}`, { session: admin })).json()).toMatchObject(expected);
    expect((await call('GET', `/admin/purchases/${bare.json().id}`, { session: admin })).json()).toMatchObject({
      paymentMethod: 'CARD_TERMINAL',
      soldBy: clerk.id,
      deliveryEmail: null,
      deliveryName: null,
    });

    const door = await clerkSession();
    const scanned = await call('POST', '/check-in', {
      body: { code: sale.tickets[0].code, performanceId: show.id },
      session: door,
    });
    expect(scanned.statusCode, scanned.body).toBe(200);
    expect(scanned.json().holder).toEqual({ name: 'Walk Up', email: 'victim@example.test' });
    // A walk-up who gave neither: the door has no name for them, and never the clerk's.
    const unnamed = await call('POST', '/check-in', {
      body: { code: bare.json().tickets[0].code, performanceId: show.id },
      session: door,
    });
    expect(unnamed.statusCode, unnamed.body).toBe(200);
    expect(unnamed.json().holder).toEqual({ name: null, email: null });

    // An online buyer's ticket still names its buyer.
    const buyer = await createSession(api.app);
    const held = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: [show.seatIds[5]] },
      session: buyer,
    });
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchases(api.app);
    const tickets = await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer });
    const online = await call('POST', '/check-in', {
      body: { code: tickets.json().items[0].code, performanceId: show.id },
      session: door,
    });
    expect(online.statusCode, online.body).toBe(200);
    expect(online.json().holder).toMatchObject({ email: buyer.email });
  });

  it("a window sale counts in no one's ticket limit: the clerk still buys for themselves, refunds and a rebuild leave the clerk's count alone", async () => {
    const show = await createShow();
    const limited = await call('PATCH', `/performances/${show.id}`, {
      body: { maxTicketsPerBuyer: 2 },
      session: admin,
    });
    expect(limited.statusCode, limited.body).toBe(200);
    const clerk = await clerkSession();
    const bought = () => redis.hget(performanceKeys(show.id).ticketsBought, clerk.id);

    const sale = await sellAtWindow(clerk, show.id, show.seatIds.slice(0, 3));
    expect(await bought()).toBeNull();
    const held = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: show.seatIds.slice(3, 5) },
      session: clerk,
    });
    expect(held.statusCode, held.body).toBe(201);
    const own = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: clerk });
    expect(own.statusCode, own.body).toBe(201);
    expect(await bought()).toBe('2');

    await flushPurchases(api.app);
    const partial = await call('POST', `/admin/purchases/${sale.id}/refund`, {
      body: { seatIds: [show.seatIds[0]] },
      session: admin,
    });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(await bought()).toBe('2');
    const whole = await call('POST', `/admin/purchases/${sale.id}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    expect(await bought()).toBe('2');

    // Counted again from PostgreSQL (as after an upgrade): only the clerk's own purchase.
    await sellAtWindow(clerk, show.id, show.seatIds.slice(5, 8));
    await flushPurchases(api.app);
    await redis.del(performanceKeys(show.id).ticketsBought);
    await redis.hdel(performanceKeys(show.id).meta, 'ticketsCounted');
    await api.app.get(SeatStateRebuilder).countTicketsBought(show.id);
    expect(await bought()).toBe('2');
  });

  it('a repeated window sale is told its seats were sold at the box office, and when', async () => {
    const show = await createShow();
    const clerk = await clerkSession();
    const body = { seatIds: [show.seatIds[6], show.seatIds[7]], paymentMethod: 'CASH' };
    const first = await call('POST', `/box-office/performances/${show.id}/sales`, { body, session: clerk });
    expect(first.statusCode, first.body).toBe(201);

    const again = await call('POST', `/box-office/performances/${show.id}/sales`, { body, session: clerk });
    expect(again.statusCode, again.body).toBe(409);
    const soldAt = first.json().createdAt as string;
    expect(again.json()).toMatchObject({
      error: 'Conflict',
      message: `seats not available: ${show.seatIds[6]}, ${show.seatIds[7]}; ${show.seatIds[6]}, ${show.seatIds[7]} sold at the box office ${soldAt} (sale ${first.json().id})`,
      details: {
        seatIds: [show.seatIds[6], show.seatIds[7]],
        soldAtBoxOffice: [{ purchaseId: first.json().id, seatIds: [show.seatIds[6], show.seatIds[7]], soldAt }],
      },
    });

    // A seat held online is refused as before, without naming a sale.
    const buyer = await createSession(api.app);
    const held = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: [show.seatIds[8]] },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    const mixed = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: [show.seatIds[8], show.seatIds[6]], paymentMethod: 'CASH' },
      session: clerk,
    });
    expect(mixed.statusCode, mixed.body).toBe(409);
    expect(mixed.json().details).toEqual({
      seatIds: [show.seatIds[8], show.seatIds[6]],
      soldAtBoxOffice: [{ purchaseId: first.json().id, seatIds: [show.seatIds[6]], soldAt }],
    });
    const heldOnly = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: [show.seatIds[8]], paymentMethod: 'CASH' },
      session: clerk,
    });
    expect(heldOnly.statusCode, heldOnly.body).toBe(409);
    expect(heldOnly.json()).toMatchObject({
      message: `seats not available: ${show.seatIds[8]}`,
      details: { seatIds: [show.seatIds[8]] },
    });

    // After an admin's refund the seats are the window's to sell again.
    const refunded = await call('POST', `/admin/purchases/${first.json().id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const resold = await call('POST', `/box-office/performances/${show.id}/sales`, { body, session: clerk });
    expect(resold.statusCode, resold.body).toBe(201);
  });
});
