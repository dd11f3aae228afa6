import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { PurchaseRepository } from '@app/database';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { formatWallClock } from '@app/ticketing';
import { beforeTime, caller, flushPurchases, hold, persisted } from './purchase-helpers';
import { startTestApi } from './support/api';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ERROR_BODY_KEYS = ['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort();
const TIME_ZONE = 'Europe/Berlin';

/**
 * Regressions found in review of the check-in window: a refused ticket answers the same inside and
 * outside the window, whether its cancellation is in PostgreSQL yet or only in Redis; "already
 * checked in" names the time on the venue's clock; an empty window and malformed window settings
 * are refused with 400.
 */
describe('check-in window refusals (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  /** The admin's name: "already checked in" names the account that scanned. */
  const adminName = 'Door Manager';
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let eventId: number;

  async function performance(startsAt: Date, extra: Record<string, unknown> = {}) {
    return call('POST', `/events/${eventId}/performances`, {
      body: {
        startsAt: startsAt.toISOString(),
        salesOpenAt: new Date(Date.now() - 2 * DAY_MS).toISOString(),
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 10 }],
        ...extra,
      },
      session: admin,
    });
  }

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin, name: adminName });
    buyer = await createSession(api.app, { name: 'Ada' });
    const event = await call('POST', '/events', {
      body: { title: 'Review', venue: 'Hall', timeZone: TIME_ZONE },
      session: admin,
    });
    eventId = event.json().id;
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Buys one seat of performance `id` for the buyer, flushes, and answers the purchase id and its ticket. */
  async function buyTicket(
    id: number,
  ): Promise<{ purchaseId: string; ticket: { code: string; seat: { id: number } } }> {
    const seats = (await call('GET', `/performances/${id}/seats?limit=100`)).json().items;
    const held = await hold(api.app, buyer, id, [seats[0].id]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchases(api.app);
    const listed = await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer });
    expect(listed.statusCode, listed.body).toBe(200);
    return { purchaseId: bought.json().id, ticket: listed.json().items[0] };
  }

  /**
   * Moves performance `id` to start at `startsAt` (PATCH, as an operator would). A start already
   * past is set as an operator set it before it came: a move into the past is refused, so the api's
   * Clock stands just before it for the PATCH.
   */
  async function moveStart(id: number, startsAt: Date): Promise<void> {
    const moved = await beforeTime(api.app, startsAt, () =>
      call('PATCH', `/performances/${id}`, { body: { startsAt: startsAt.toISOString() }, session: admin }),
    );
    expect(moved.statusCode, moved.body).toBe(200);
  }

  it('a ticket canceled only in Redis so far answers TicketCanceled outside the window too, as after the flush', async () => {
    const created = await performance(new Date(Date.now() + HOUR_MS), { cancelUntil: null });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const { purchaseId, ticket } = await buyTicket(id);
    // The refund's own write to PostgreSQL fails (unreachable for that moment): the cancellation
    // is in Redis only, until the flush writes it.
    vi.spyOn(api.app.get(PurchaseRepository), 'cancelWritten').mockRejectedValueOnce(
      new Error('PostgreSQL unreachable'),
    );
    const refunded = await call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    vi.restoreAllMocks();
    expect((await persisted(api.env.DATABASE_URL, [purchaseId])).tickets).toEqual([
      { purchase_id: purchaseId, seat_id: ticket.seat.id, status: 'ACTIVE' },
    ]);

    // A day early (doors not open), a day late (check-in closed), and inside the window.
    const starts = [
      ['before doors open', new Date(Date.now() + 2 * DAY_MS)],
      ['after check-in closed', new Date(Date.now() - DAY_MS)],
      ['inside the window', new Date(Date.now() + HOUR_MS)],
    ] as const;
    const expectCanceledEverywhere = async (stage: string) => {
      for (const [when, startsAt] of starts) {
        await moveStart(id, startsAt);
        const scanned = await call('POST', '/check-in', { body: { code: ticket.code }, session: admin });
        expect(scanned.statusCode, `${stage}, ${when}: ${scanned.body}`).toBe(409);
        expect(scanned.json().message, `${stage}, ${when}`).toMatch(/^ticket is canceled/);
      }
    };
    await expectCanceledEverywhere('only in Redis');
    await flushPurchases(api.app);
    expect((await persisted(api.env.DATABASE_URL, [purchaseId])).tickets).toEqual([
      { purchase_id: purchaseId, seat_id: ticket.seat.id, status: 'CANCELED' },
    ]);
    await expectCanceledEverywhere('after the flush');
  });

  it('"already checked in" names the time on the venue\'s clock, and keeps details.checkedInAt as the check-in answered it', async () => {
    const created = await performance(new Date(Date.now() + HOUR_MS), { cancelUntil: null });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const { ticket } = await buyTicket(id);
    const first = await call('POST', '/check-in', { body: { code: ticket.code }, session: admin });
    expect(first.statusCode, first.body).toBe(200);
    const checkedInAt: string = first.json().checkedInAt;
    // On the venue's clock to the second, no fraction (a door's handheld), with the offset and zone:
    // Berlin is at +01:00 or +02:00, never the UTC spelling.
    const local = formatWallClock(new Date(checkedInAt), TIME_ZONE);
    expect(local).toMatch(/^\w{3} \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC\+0[12]:00 \(Europe\/Berlin\)$/);
    const expectAlreadyCheckedIn = async (when: string) => {
      const again = await call('POST', '/check-in', { body: { code: ticket.code }, session: admin });
      expect(again.statusCode, `${when}: ${again.body}`).toBe(409);
      expect(again.json(), when).toMatchObject({
        message: `already checked in at ${local} by ${adminName} (${admin.email})`,
        details: { checkedInAt, checkedInBy: { id: admin.id, email: admin.email, name: adminName } },
      });
    };
    await expectAlreadyCheckedIn('inside the window');
    // Doors now open 30 minutes before the start, in half an hour (a moved start would clear the
    // check-in instead: see performance-move-check-ins.e2e-spec.ts).
    const narrowed = await call('PATCH', `/performances/${id}`, {
      body: { checkInOpensBeforeMinutes: 30 },
      session: admin,
    });
    expect(narrowed.statusCode, narrowed.body).toBe(200);
    await expectAlreadyCheckedIn('before doors open');
  });

  it('a refunded ticket scanned outside the window answers TicketCanceled, not "come back when doors open"', async () => {
    const created = await performance(new Date(Date.now() + HOUR_MS), { cancelUntil: null });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const seats = (await call('GET', `/performances/${id}/seats?limit=100`)).json().items;
    const held = await hold(api.app, buyer, id, [seats[0].id]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchases(api.app);
    const [ticket] = (await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer })).json().items;
    const refunded = await call('POST', `/admin/purchases/${bought.json().id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBeLessThan(300);
    // Inside the window: TicketCanceled.
    const inside = await call('POST', '/check-in', { body: { code: ticket.code }, session: admin });
    expect(inside.json().message, inside.body).toMatch(/ticket is canceled/);
    // The show is postponed by two days (PATCH): the refunded ticket is now scanned early.
    const moved = await call('PATCH', `/performances/${id}`, {
      body: { startsAt: new Date(Date.now() + 2 * DAY_MS).toISOString() },
      session: admin,
    });
    expect(moved.statusCode, moved.body).toBe(200);
    // Now (a day early): the same refunded ticket answers the same.
    const early = await call('POST', '/check-in', { body: { code: ticket.code }, session: admin });
    expect(early.statusCode).toBe(409);
    expect(early.json().message, early.body).toMatch(/ticket is canceled/);
  });

  it('refuses an empty window (0 before and 0 after: no ticket can ever admit) on create and PATCH', async () => {
    const created = await performance(new Date(Date.now() + 2 * DAY_MS), {
      checkInOpensBeforeMinutes: 0,
      checkInClosesAfterMinutes: 0,
    });
    expect(created.statusCode, created.body).toBe(400);
    expect(Object.keys(created.json()).sort()).toEqual([...ERROR_BODY_KEYS, 'details'].sort());
    expect(created.json()).toMatchObject({
      message: expect.stringMatching(/^empty check-in window/),
      details: { checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: 0 },
    });

    const open = await performance(new Date(Date.now() + 2 * DAY_MS), { checkInOpensBeforeMinutes: 0 });
    expect(open.statusCode, open.body).toBe(201);
    // The stored 0 before and a 0 after given now: empty as well.
    const emptied = await call('PATCH', `/performances/${open.json().id}`, {
      body: { checkInClosesAfterMinutes: 0 },
      session: admin,
    });
    expect(emptied.statusCode, emptied.body).toBe(400);
    expect(emptied.json()).toMatchObject({
      message: expect.stringMatching(/^empty check-in window/),
      details: { checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: 0 },
    });
    const unchanged = (await call('GET', `/performances/${open.json().id}`)).json();
    expect(unchanged).toMatchObject({ checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: null });
  });

  it('refuses malformed window settings with 400 and the uniform body, and null gives the global one back', async () => {
    const created = await performance(new Date(Date.now() + 2 * DAY_MS), { checkInOpensBeforeMinutes: 90 });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    for (const value of [-1, 10_081, 1.5, '90', true, {}, [], '', 5_256_000]) {
      const refused = await call('PATCH', `/performances/${id}`, {
        body: { checkInOpensBeforeMinutes: value },
        session: admin,
      });
      expect(refused.statusCode, JSON.stringify(value)).toBe(400);
      expect(Object.keys(refused.json()).sort()).toEqual(ERROR_BODY_KEYS);
    }
    // JSON's 1e400 is Infinity once parsed.
    const infinite = await api.app.inject({
      method: 'PATCH',
      url: `/api/v1/performances/${id}`,
      headers: { ...admin.headers, 'content-type': 'application/json' },
      payload: '{"checkInClosesAfterMinutes": 1e400}',
    });
    expect(infinite.statusCode, infinite.body).toBe(400);
    expect((await call('GET', `/performances/${id}`)).json()).toMatchObject({
      checkInOpensBeforeMinutes: 90,
      checkInClosesAfterMinutes: null,
    });
    const reset = await call('PATCH', `/performances/${id}`, {
      body: { checkInOpensBeforeMinutes: null },
      session: admin,
    });
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null });
    const createdBad = await performance(new Date(Date.now() + 2 * DAY_MS), { checkInClosesAfterMinutes: 'x' });
    expect(createdBad.statusCode, createdBad.body).toBe(400);
    expect(Object.keys(createdBad.json()).sort()).toEqual(ERROR_BODY_KEYS);
  });
});
