import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TEST_PASSWORD, TestSession } from '@app/testing';
import { formatLocalDateTime, formatWallClock, TicketCodes } from '@app/ticketing';
import { caller, createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';
import { buyTickets as buyTicketsOf, createStaffSession, startSecondApi } from './support/door';

interface TicketBody {
  id: string;
  purchaseId: string;
  performanceId: number;
  seat: { id: number; section: string; row: number; number: number };
  status: 'ACTIVE' | 'CANCELED';
  code: string | null;
  checkedInAt: string | null;
}

describe('tickets and check-in at the door (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  /** A second api on the same database and Redis: the other door. */
  let secondDoor: NestFastifyApplication;
  let admin: TestSession;
  let buyer: TestSession;
  let other: TestSession;
  let staff: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  /** Buys `count` seats for the buyer, flushes, and returns the purchase id and its tickets. */
  const buyTickets = (count: number) => buyTicketsOf<TicketBody>(api.app, buyer, performance.id, seats(count));

  const checkIn = (code: unknown, session: TestSession | undefined = staff, app = api.app) =>
    caller(app)('POST', '/check-in', { body: { code }, session });

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app, { name: 'Grace Hopper' });
    other = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 200, doorsOpenNow());
    staff = await createStaffSession(api.app, admin, 'door-1@example.test', 'Door One');
    secondDoor = await startSecondApi(api);
  });
  afterAll(async () => {
    await secondDoor?.close();
    await api?.close();
  });

  it('lets an admin create staff accounts (201 STAFF), refuses a taken e-mail (409) and a non-admin (403)', async () => {
    expect(staff.role).toBe('STAFF');
    const me = await call('GET', '/users/me', { session: staff });
    expect(me.json()).toMatchObject({ email: 'door-1@example.test', name: 'Door One', role: 'STAFF' });
    const again = await call('POST', '/admin/staff', {
      body: { email: 'DOOR-1@example.test', password: TEST_PASSWORD, name: 'Again' },
      session: admin,
    });
    expect(again.statusCode).toBe(409);
    const byUser = await call('POST', '/admin/staff', {
      body: { email: 'door-2@example.test', password: TEST_PASSWORD, name: 'Door Two' },
      session: buyer,
    });
    expect(byUser.statusCode).toBe(403);
    const byStaff = await call('POST', '/admin/staff', {
      body: { email: 'door-3@example.test', password: TEST_PASSWORD, name: 'Door Three' },
      session: staff,
    });
    expect(byStaff.statusCode).toBe(403);
    const invalid = await call('POST', '/admin/staff', { body: { email: 'nope' }, session: admin });
    expect(invalid.statusCode).toBe(400);
  });

  it('lists the tickets of a purchase: 409 with Retry-After before the flush, then one per seat with a code; 404 for others', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(2));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode).toBe(201);
    const id = bought.json().id as string;

    const early = await call('GET', `/purchases/${id}/tickets`, { session: buyer });
    expect(early.statusCode).toBe(409);
    expect(early.headers['retry-after']).toBe('1');
    expect(early.json()).toMatchObject({ statusCode: 409, message: expect.stringContaining('not issued yet') });
    expect((await call('GET', `/purchases/${id}/tickets`, { session: other })).statusCode).toBe(404);

    await flushPurchases(api.app);
    const listed = await call('GET', `/purchases/${id}/tickets`, { session: buyer });
    expect(listed.statusCode).toBe(200);
    const items: TicketBody[] = listed.json().items;
    expect(items).toHaveLength(2);
    expect(items.map((ticket) => ticket.seat.id)).toEqual([...held.seatIds].sort((a, b) => a - b));
    for (const ticket of items) {
      expect(ticket).toEqual({
        id: expect.stringMatching(/^\d+$/),
        purchaseId: id,
        performanceId: performance.id,
        seat: { id: expect.any(Number), section: 'Floor', row: 1, rowLabel: 'A', number: expect.any(Number) },
        status: 'ACTIVE',
        code: expect.stringMatching(/^[A-Za-z0-9_-]{66}$/),
        checkedInAt: null,
      });
    }
    expect(new Set(items.map((ticket) => ticket.code)).size).toBe(2);

    const others = await call('GET', `/purchases/${id}/tickets`, { session: other });
    expect(others.statusCode).toBe(404);
    expect(others.json()).toMatchObject({ statusCode: 404, message: 'purchase not found' });
    const unknown = await call('GET', '/purchases/7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d/tickets', { session: buyer });
    expect(unknown.statusCode).toBe(404);
    const malformed = await call('GET', '/purchases/not-a-uuid/tickets', { session: buyer });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ statusCode: 400, message: [expect.stringMatching(/^id must be a UUID/)] });
    expect((await call('GET', `/purchases/${id}/tickets`)).statusCode).toBe(401);
  });

  it('lists the tickets of a purchase canceled before the flush as canceled, as it does once flushed (ids come with the flush)', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(2));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode).toBe(201);
    const id = bought.json().id as string;
    expect((await call('POST', `/purchases/${id}/cancel`, { session: buyer })).statusCode).toBe(200);

    const early = await call('GET', `/purchases/${id}/tickets`, { session: buyer });
    expect(early.statusCode, early.body).toBe(200);
    const canceled = [...held.seatIds]
      .sort((a, b) => a - b)
      .map((seatId) => ({
        purchaseId: id,
        performanceId: performance.id,
        seat: { id: seatId, section: 'Floor', row: 1, rowLabel: 'A', number: expect.any(Number) },
        status: 'CANCELED',
        code: null,
        checkedInAt: null,
      }));
    expect(early.json().items).toEqual(canceled.map((ticket) => ({ id: null, ...ticket })));
    expect((await call('GET', `/purchases/${id}/tickets`, { session: other })).statusCode).toBe(404);

    await flushPurchases(api.app);
    const flushed = await call('GET', `/purchases/${id}/tickets`, { session: buyer });
    expect(flushed.statusCode).toBe(200);
    expect(flushed.json().items).toEqual(canceled.map((ticket) => ({ id: expect.stringMatching(/^\d+$/), ...ticket })));
    expect(flushed.json().items.map((t: TicketBody) => t.seat)).toEqual(
      early.json().items.map((t: TicketBody) => t.seat),
    );
  });

  it('checks a ticket in once: 200 with seat and holder, then 409 already checked in with when and at which door', async () => {
    const { tickets } = await buyTickets(1);
    const [ticket] = tickets;
    const first = await checkIn(ticket.code);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      ticketId: ticket.id,
      purchaseId: ticket.purchaseId,
      performanceId: performance.id,
      seat: ticket.seat,
      holder: { name: 'Grace Hopper', email: buyer.email },
      checkedInAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const checkedInAt = first.json().checkedInAt as string;

    const second = await checkIn(ticket.code, staff, secondDoor);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({
      statusCode: 409,
      // On the venue's clock (its event's zone, UTC by default: `+00:00`); details as answered above;
      // where: the door's account, by the name the venue gave it.
      message: `already checked in at ${formatWallClock(new Date(checkedInAt), 'UTC')} by Door One (door-1@example.test)`,
      details: { checkedInAt, checkedInBy: { id: staff.id, email: 'door-1@example.test', name: 'Door One' } },
    });
    const listed = await call('GET', `/purchases/${ticket.purchaseId}/tickets`, { session: buyer });
    expect(listed.json().items[0]).toMatchObject({ status: 'ACTIVE', checkedInAt });
  });

  it('a door that names its performance refuses a ticket for another (409, unused), then admits it at its own door', async () => {
    const { tickets } = await buyTickets(1);
    const [ticket] = tickets;
    const otherShow = await createPerformance(api.app, admin, 4, doorsOpenNow());
    const atOtherDoor = await call('POST', '/check-in', {
      body: { code: ticket.code, performanceId: otherShow.id },
      session: staff,
    });
    expect(atOtherDoor.statusCode).toBe(409);
    // Its own show's start on the venue's clock, with the offset, so staff can send the holder there.
    const own = (await call('GET', `/performances/${performance.id}`)).json() as { eventId: number; startsAt: string };
    const startsAt = new Date(own.startsAt);
    expect(atOtherDoor.json()).toMatchObject({
      statusCode: 409,
      message: `ticket is for performance ${performance.id} on ${formatWallClock(startsAt, 'UTC')}, not this one`,
      details: { performanceId: performance.id, startsAt: formatLocalDateTime(startsAt, 'UTC'), timeZone: 'UTC' },
    });
    // The venue's zone is fixed once tickets are sold (docs/guide/catalog.md, Time zones): its buyers were told its times.
    const moved = await call('PATCH', `/events/${own.eventId}`, { body: { timeZone: 'Asia/Seoul' }, session: admin });
    expect(moved.statusCode, moved.body).toBe(409);
    expect(moved.json().message).toMatch(/^timeZone cannot be changed/);
    const listed = await call('GET', `/purchases/${ticket.purchaseId}/tickets`, { session: buyer });
    expect(listed.json().items[0]).toMatchObject({ status: 'ACTIVE', checkedInAt: null });
    // A door set up with an id no performance has says so, rather than send every ticket away.
    const unknownDoor = await call('POST', '/check-in', {
      body: { code: ticket.code, performanceId: 2 ** 31 - 1 },
      session: staff,
    });
    expect(unknownDoor.statusCode).toBe(404);
    expect(unknownDoor.json()).toMatchObject({ message: 'performance not found' });
    for (const performanceId of [0, -1, 1.5, '1', 2 ** 31]) {
      const invalid = await call('POST', '/check-in', { body: { code: ticket.code, performanceId }, session: staff });
      expect(invalid.statusCode, JSON.stringify(performanceId)).toBe(400);
    }

    const atOwnDoor = await call('POST', '/check-in', {
      body: { code: ticket.code, performanceId: performance.id },
      session: staff,
    });
    expect(atOwnDoor.statusCode, atOwnDoor.body).toBe(200);
    expect(atOwnDoor.json()).toMatchObject({ ticketId: ticket.id, performanceId: performance.id });
  });

  it('admits once when two doors scan the same code at the same moment; the other door hears when and which door', async () => {
    const gateTwo = await createStaffSession(api.app, admin, 'gate-2@example.test', 'Gate 2');
    const doors = [
      { session: staff, app: api.app, name: 'Door One' },
      { session: gateTwo, app: secondDoor, name: 'Gate 2' },
    ];
    for (let round = 0; round < 5; round++) {
      const [ticket] = (await buyTickets(1)).tickets;
      const answers = await Promise.all(doors.map((door) => checkIn(ticket.code, door.session, door.app)));
      expect(answers.map((res) => res.statusCode).sort()).toEqual([200, 409]);
      const winner = answers.findIndex((res) => res.statusCode === 200);
      const { session, name } = doors[winner];
      const loser = answers[1 - winner].json();
      expect(loser.message).toBe(
        `already checked in at ${formatWallClock(new Date(answers[winner].json().checkedInAt), 'UTC')} by ${name} (${session.email})`,
      );
      expect(loser.details).toEqual({
        checkedInAt: answers[winner].json().checkedInAt,
        checkedInBy: { id: session.id, email: session.email, name },
      });
    }
  });

  it('admits once among 50 concurrent scans of one code across two api instances', async () => {
    const [ticket] = (await buyTickets(1)).tickets;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) => checkIn(ticket.code, staff, index % 2 === 0 ? api.app : secondDoor)),
    );
    const statuses = answers.map((res) => res.statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(49);
    const winner = answers.find((res) => res.statusCode === 200)!.json();
    for (const loser of answers.filter((res) => res.statusCode === 409)) {
      expect(loser.json().details.checkedInAt).toBe(winner.checkedInAt);
    }
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT checked_in_by FROM tickets WHERE id = $1', [ticket.id]);
      expect(rows).toEqual([{ checked_in_by: staff.id }]);
    } finally {
      await db.end();
    }
  });

  it('refuses a canceled ticket (409), before and after the cancellation is written to PostgreSQL', async () => {
    const { purchaseId, tickets } = await buyTickets(2);
    const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);

    const beforeFlush = await checkIn(tickets[0].code);
    expect(beforeFlush.statusCode).toBe(409);
    expect(beforeFlush.json().message).toContain('canceled');
    await flushPurchases(api.app);
    const afterFlush = await checkIn(tickets[1].code, admin);
    expect(afterFlush.statusCode).toBe(409);
    expect(afterFlush.json().message).toContain('canceled');

    const listed = await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer });
    expect(listed.json().items.map((t: TicketBody) => [t.status, t.code])).toEqual([
      ['CANCELED', null],
      ['CANCELED', null],
    ]);
  });

  it('admits a code with what a scanner adds around it (Enter as CR/LF, a tab, spaces), once; white space inside is malformed', async () => {
    const [ticket] = (await buyTickets(1)).tickets;
    const code = ticket.code!;
    const inside = await checkIn(`${code.slice(0, 30)} ${code.slice(30)}`);
    expect(inside.statusCode).toBe(400);
    const scanned = await checkIn(` ${code}\r\n`);
    expect(scanned.statusCode).toBe(200);
    expect(scanned.json()).toMatchObject({ ticketId: ticket.id });
    const again = await checkIn(`${code}\t`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ details: { checkedInAt: scanned.json().checkedInAt } });
  });

  it('refuses forged and malformed codes (400), and a genuine code of an unknown ticket (404)', async () => {
    const [ticket] = (await buyTickets(1)).tickets;
    const code = ticket.code!;
    const swapped = code[10] === 'A' ? 'B' : 'A';
    const forged = `${code.slice(0, 10)}${swapped}${code.slice(11)}`;
    for (const bad of [forged, 'hello', '', 'A'.repeat(66), `${code}x`, 42, null]) {
      const res = await checkIn(bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(Object.keys(res.json()).sort()).toEqual([
        'error',
        'message',
        'path',
        'requestId',
        'statusCode',
        'timestamp',
      ]);
    }
    const unknown = api.app.get(TicketCodes).sign({
      ticketId: '987654321',
      purchaseId: ticket.purchaseId,
      performanceId: performance.id,
      seatId: 1,
      codeVersion: 0,
    });
    expect((await checkIn(unknown)).statusCode).toBe(404);
    // Nothing was admitted by any of it.
    expect((await checkIn(code)).statusCode).toBe(200);
  });

  it('lets only staff and admins check in: 403 for a user, 401 without a token', async () => {
    const [ticket] = (await buyTickets(1)).tickets;
    const byBuyer = await checkIn(ticket.code, buyer);
    expect(byBuyer.statusCode).toBe(403);
    expect((await checkIn(ticket.code, other)).statusCode).toBe(403);
    expect((await call('POST', '/check-in', { body: { code: ticket.code } })).statusCode).toBe(401);
    expect((await checkIn(ticket.code, admin)).statusCode).toBe(200);
  });
});
