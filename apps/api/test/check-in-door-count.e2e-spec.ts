import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PurchaseRepository } from '@app/database';
import { createSession, TestSession } from '@app/testing';
import { createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { buyTickets, createStaffSession } from './support/door';

interface TicketBody {
  id: string;
  code: string;
}

interface DoorBody {
  accountId: string | null;
  email: string | null;
  name: string | null;
  admitted: number;
  lastCheckInAt: string;
}

/** RFC 3339 in UTC with milliseconds, as the other reads write times. */
const UTC_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The door's live count, `GET /performances/:id/check-ins/summary`, on real PostgreSQL and Redis:
 * two gates scan, one undoes its own scan, a duplicate is refused, a checked-in ticket is refunded
 * (kept) and a sale is not written yet; per door and in total it agrees with the sales report's
 * `checkedIn` and `sold - kept` (before and after the flush) and with the door list's pivot.
 */
describe('door count: GET /performances/:id/check-ins/summary (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let gate1: TestSession;
  let gate2: TestSession;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything so far; the test decides when it runs.
    ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    gate1 = await createStaffSession(api.app, admin, 'count-gate-1@example.test', 'Gate 1');
    gate2 = await createStaffSession(api.app, admin, 'count-gate-2@example.test', 'Gate 2');
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  const summary = async (performanceId: number, session: TestSession) => {
    const res = await call('GET', `/performances/${performanceId}/check-ins/summary`, { session });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const report = async (performanceId: number) => {
    const res = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  /** The door list pivoted by door: checked-in tickets per `checked_in_by_email`. */
  const doorList = async (performanceId: number) => {
    const res = await call('GET', `/performances/${performanceId}/attendees`, { session: admin });
    expect(res.statusCode).toBe(200);
    const [header, ...rows]: string[][] = parse(res.rawPayload, { bom: true });
    const at = header.indexOf('checked_in_at');
    const by = header.indexOf('checked_in_by_email');
    const perDoor: Record<string, number> = {};
    for (const row of rows) if (row[at] !== '') perDoor[row[by]] = (perDoor[row[by]] ?? 0) + 1;
    return perDoor;
  };

  it('counts per door and in total as the sales report and the door list do', async () => {
    const performance = await createPerformance(api.app, admin, 12, doorsOpenNow());
    const seats = performance.seatIds;
    const [ada, bob, cy, dee] = await Promise.all([
      createSession(api.app),
      createSession(api.app),
      createSession(api.app),
      createSession(api.app),
    ]);
    const adas = await buyTickets<TicketBody>(api.app, ada, performance.id, seats.slice(0, 4));
    const bobs = await buyTickets<TicketBody>(api.app, bob, performance.id, seats.slice(4, 7));
    const cys = await buyTickets<TicketBody>(api.app, cy, performance.id, [seats[7]]);

    const before = await summary(performance.id, gate1);
    expect(before).toMatchObject({ performanceId: performance.id, expected: 8, admitted: 0, remaining: 8, byDoor: [] });

    const scan = async (gate: TestSession, code: string) =>
      call('POST', '/check-in', { body: { code, performanceId: performance.id }, session: gate });
    const admittedAt: string[] = [];
    for (const ticket of adas.tickets) {
      const res = await scan(gate1, ticket.code);
      expect(res.statusCode, res.body).toBe(200);
      admittedAt.push(res.json().checkedInAt);
    }
    for (const ticket of [...bobs.tickets.slice(0, 2), ...cys.tickets]) {
      const res = await scan(gate2, ticket.code);
      expect(res.statusCode, res.body).toBe(200);
    }
    // A copy of Ada's first ticket at the other gate: refused, counted nowhere.
    const duplicate = await scan(gate2, adas.tickets[0].code);
    expect(duplicate.statusCode, duplicate.body).toBe(409);
    expect(duplicate.json().message).toMatch(/^already checked in at /);
    expect(duplicate.json().details.checkedInBy).toMatchObject({ id: gate1.id });
    // Gate 1 turns Ada's fourth back: its check-in undone.
    const undone = await call('DELETE', `/check-in/${adas.tickets[3].id}`, { session: gate1 });
    expect(undone.statusCode, undone.body).toBe(200);
    // Cy's checked-in ticket refunded, the seat kept: sold and kept, neither expected nor admitted.
    // The refund's own write to PostgreSQL fails: the cancellation is only in Redis until the flush.
    vi.spyOn(api.app.get(PurchaseRepository), 'cancelWritten').mockRejectedValueOnce(
      new Error('PostgreSQL unreachable'),
    );
    const kept = await call('POST', `/admin/purchases/${cys.purchaseId}/refund`, {
      body: { resellCheckedInSeats: false },
      session: admin,
    });
    expect(kept.statusCode, kept.body).toBe(200);
    vi.restoreAllMocks();
    const cysRow = await db.query('SELECT status, checked_in_at FROM tickets WHERE purchase_id = $1', [cys.purchaseId]);
    expect(cysRow.rows).toEqual([{ status: 'ACTIVE', checked_in_at: expect.any(Date) }]);
    // Dee's sale not written yet: expected already (no ticket of it scans before the flush).
    const held = await hold(api.app, dee, performance.id, [seats[8]]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: dee });
    expect(bought.statusCode, bought.body).toBe(201);

    const expectedDoors = [
      {
        accountId: gate1.id,
        email: gate1.email,
        name: 'Gate 1',
        admitted: 3,
        lastCheckInAt: admittedAt[2],
      },
      { accountId: gate2.id, email: gate2.email, name: 'Gate 2', admitted: 2 },
    ];
    for (const flushed of [false, true]) {
      if (flushed) await flushPurchases(api.app);
      const { totals, checkIn } = await report(performance.id);
      expect(totals).toMatchObject({ sold: 9, kept: 1, checkedIn: 5 });
      // The report's own per-door figures: the door count's, summing to its checkedIn.
      expect(checkIn.byDoor).toMatchObject(expectedDoors);
      expect(checkIn.byDoor).toHaveLength(2);
      for (const session of [gate2, admin]) {
        const count = await summary(performance.id, session);
        expect(count).toMatchObject({ performanceId: performance.id, expected: 8, admitted: 5, remaining: 3 });
        expect(count.expected).toBe(totals.sold - totals.kept);
        expect(count.admitted).toBe(totals.checkedIn);
        expect(count.byDoor).toMatchObject(expectedDoors);
        expect(count.byDoor).toEqual(checkIn.byDoor);
        expect(count.byDoor).toHaveLength(2);
        expect(count.byDoor.reduce((sum: number, door: DoorBody) => sum + door.admitted, 0)).toBe(count.admitted);
        expect(count.byDoor[1].lastCheckInAt).toMatch(UTC_TIME);
        expect(count.asOf).toMatch(UTC_TIME);
      }
    }
    // The door list (PostgreSQL, all written now) pivoted by door says the same.
    expect(await doorList(performance.id)).toEqual({ [gate1.email]: 3, [gate2.email]: 2 });
  });

  it('answers gate staff and admins, 401 without a token, 403 a buyer, 404 an unknown performance, 400 a bad id', async () => {
    const performance = await createPerformance(api.app, admin, 2, doorsOpenNow());
    const url = `/performances/${performance.id}/check-ins/summary`;
    const buyer = await createSession(api.app);
    for (const session of [gate1, admin]) {
      expect((await summary(performance.id, session)).expected).toBe(0);
    }
    const anonymous = await call('GET', url);
    expect(anonymous.statusCode, anonymous.body).toBe(401);
    const denied = await call('GET', url, { session: buyer });
    expect(denied.statusCode, denied.body).toBe(403);
    expect(denied.json()).toMatchObject({ statusCode: 403, message: expect.any(String) });
    const unknown = await call('GET', '/performances/2147483000/check-ins/summary', { session: gate1 });
    expect(unknown.statusCode, unknown.body).toBe(404);
    expect(unknown.json()).toMatchObject({
      statusCode: 404,
      error: 'Not Found',
      details: { performanceId: 2147483000 },
    });
    const bad = await call('GET', '/performances/abc/check-ins/summary', { session: gate1 });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, message: [expect.stringMatching(/^id must be an integer/)] });
  });
});
