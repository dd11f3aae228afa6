import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { TicketsRepository } from '@app/database';
import { Clock } from '@app/core';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { formatLocalDateTime, performanceKeys } from '@app/ticketing';
import { beforeTime, caller, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';
import { startSecondApi } from './support/door';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** The default window: doors open 180 min before the start, check-in closes 240 min after it. */
const OPENS_BEFORE_MS = 180 * MINUTE_MS;
const CLOSES_AFTER_MS = 240 * MINUTE_MS;
const TIME_ZONE = 'Europe/Berlin';

interface TicketBody {
  id: string;
  purchaseId: string;
  seat: { id: number };
  code: string;
  checkedInAt: string | null;
}

/**
 * The check-in window with the default settings, on real PostgreSQL and Redis. Performance times
 * are set relative to now (PATCH moves them); the exact edges pin the api's Clock to an instant
 * within a second of real time (so access tokens stay valid) for one scan at a time.
 */
describe('the check-in window at the door (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  /** A second api on the same database and Redis: another door. */
  let secondDoor: NestFastifyApplication;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let performanceId: number;
  let seatIds: number[];
  const tickets: TicketBody[] = [];
  let nextTicket = 0;
  const ticket = () => tickets[nextTicket++];

  const checkIn = (code: string, app: NestFastifyApplication = api.app, performance?: number) =>
    caller(app)('POST', '/check-in', {
      body: { code, ...(performance === undefined ? {} : { performanceId: performance }) },
      session: admin,
    });

  /** Moves the performance's start (PATCH, as an operator would) and answers the new start. */
  async function moveStart(startsAt: Date): Promise<Date> {
    // A move into the past is refused: a start already past is set as before it came.
    const moved = await beforeTime(api.app, startsAt, () =>
      call('PATCH', `/performances/${performanceId}`, { body: { startsAt: startsAt.toISOString() }, session: admin }),
    );
    expect(moved.statusCode, moved.body).toBe(200);
    return startsAt;
  }

  /** Scans `code` with the api's Clock at `at` (only for this scan). */
  async function checkInAt(at: Date, code: string) {
    const spy = vi.spyOn(api.app.get(Clock), 'now').mockImplementation(() => new Date(at.getTime()));
    try {
      return await checkIn(code);
    } finally {
      spy.mockRestore();
    }
  }

  /** Nothing of a check-in was written: no check-in in PostgreSQL, no mark in Redis. */
  async function expectUnused(used: TicketBody): Promise<void> {
    const [row] = await api.app
      .get(DataSource)
      .query('SELECT checked_in_at, checked_in_by FROM tickets WHERE id = $1', [used.id]);
    expect(row).toEqual({ checked_in_at: null, checked_in_by: null });
    // No mark of any code version of the seat (the purchase's other seats were not scanned).
    const marks = await api.app.get(Redis).smembers(performanceKeys(performanceId).checkedIn(used.purchaseId));
    expect(marks.filter((mark) => mark.split(':')[0] === String(used.seat.id))).toEqual([]);
  }

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app, { name: 'Grace Hopper' });
    const event = await call('POST', '/events', {
      body: { title: 'Matinee and evening', venue: 'Hall', timeZone: TIME_ZONE },
      session: admin,
    });
    expect(event.statusCode, event.body).toBe(201);
    const now = Date.now();
    // Starts in an hour: inside its window now. Sales opened two days ago, so PATCH may move the
    // start into the past; no self-service cancel.
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: new Date(now + HOUR_MS).toISOString(),
        salesOpenAt: new Date(now - 2 * DAY_MS).toISOString(),
        cancelUntil: null,
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 40 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    performanceId = created.json().id;
    seatIds = (await call('GET', `/performances/${performanceId}/seats?limit=100`))
      .json()
      .items.map((seat: { id: number }) => seat.id);
    // Every ticket of this file is bought now, while sales run.
    for (let i = 0; i < 3; i += 1) {
      const held = await hold(api.app, buyer, performanceId, seatIds.slice(i * 4, i * 4 + 4));
      const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
      expect(bought.statusCode, bought.body).toBe(201);
      await flushPurchases(api.app);
      const listed = await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer });
      expect(listed.statusCode, listed.body).toBe(200);
      tickets.push(...listed.json().items);
    }

    secondDoor = await startSecondApi(api);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await secondDoor?.close();
    await api?.close();
  });

  it('shows when doors open and check-in closes on the performance, moving with a PATCH of its start', async () => {
    const detail = (await call('GET', `/performances/${performanceId}`)).json();
    const startsAt = Date.parse(detail.startsAt);
    expect(detail.checkInOpensAt).toBe(new Date(startsAt - OPENS_BEFORE_MS).toISOString());
    expect(detail.checkInClosesAt).toBe(new Date(startsAt + CLOSES_AFTER_MS).toISOString());
    // The same instants on the venue's wall clock, as startsAtLocal gives the start.
    expect(detail.checkInOpensAtLocal).toBe(formatLocalDateTime(new Date(detail.checkInOpensAt), TIME_ZONE));
    expect(detail.checkInClosesAtLocal).toBe(formatLocalDateTime(new Date(detail.checkInClosesAt), TIME_ZONE));
    expect(detail.checkInOpensAtLocal).toMatch(/\+01:00$/);
    const listed = (await call('GET', `/events/${detail.eventId}/performances`)).json().items[0];
    expect(listed).toMatchObject({ checkInOpensAt: detail.checkInOpensAt, checkInClosesAt: detail.checkInClosesAt });

    const later = await moveStart(new Date(startsAt + DAY_MS));
    const moved = (await call('GET', `/performances/${performanceId}`)).json();
    expect(moved.checkInOpensAt).toBe(new Date(later.getTime() - OPENS_BEFORE_MS).toISOString());
    expect(moved.checkInClosesAt).toBe(new Date(later.getTime() + CLOSES_AFTER_MS).toISOString());
    expect(moved.checkInOpensAtLocal).toBe(formatLocalDateTime(new Date(moved.checkInOpensAt), TIME_ZONE));
    await moveStart(new Date(startsAt));
  });

  it('admits inside the window, and answers a used ticket "already checked in" as before', async () => {
    await moveStart(new Date(Date.now() + HOUR_MS));
    const inside = ticket();
    const admitted = await checkIn(inside.code, api.app, performanceId);
    expect(admitted.statusCode, admitted.body).toBe(200);
    expect(admitted.json()).toMatchObject({ ticketId: inside.id, performanceId });
    const again = await checkIn(inside.code);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/^already checked in at /);
  });

  it("refuses a ticket for tomorrow's show (409 CheckInNotOpen, its start on the venue's clock), writing nothing", async () => {
    const startsAt = await moveStart(new Date(Date.now() + DAY_MS));
    const early = ticket();
    const refused = await checkIn(early.code, api.app, performanceId);
    expect(refused.statusCode).toBe(409);
    const local = formatLocalDateTime(startsAt, TIME_ZONE);
    const opensLocal = formatLocalDateTime(new Date(startsAt.getTime() - OPENS_BEFORE_MS), TIME_ZONE);
    expect(refused.json()).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      // With its seconds when it has some (this start is rarely on a whole minute), and the offset.
      message: expect.stringContaining(
        `${local.slice(0, 10)} ${local.slice(17, 19) === '00' ? local.slice(11, 16) : local.slice(11, 19)} UTC${local.slice(-6)} (${TIME_ZONE})`,
      ),
      details: {
        reason: 'NOT_OPEN',
        performanceId,
        startsAt: local,
        timeZone: TIME_ZONE,
        checkInOpensAt: opensLocal,
        checkInClosesAt: formatLocalDateTime(new Date(startsAt.getTime() + CLOSES_AFTER_MS), TIME_ZONE),
      },
    });
    expect(refused.json().message).toMatch(
      /^check-in has not opened: this ticket is for the performance on (Mon|Tue|Wed|Thu|Fri|Sat|Sun) /,
    );
    expect(refused.json().message).toContain(`its doors open at ${opensLocal}`);
    await expectUnused(early);
    const listed = await call('GET', `/purchases/${early.purchaseId}/tickets`, { session: buyer });
    expect(listed.json().items.find((item: TicketBody) => item.id === early.id)).toMatchObject({ checkedInAt: null });

    // Postponed to today after all (PATCH): the window moved, the same ticket admits.
    await moveStart(new Date(Date.now() + HOUR_MS));
    expect((await checkIn(early.code)).statusCode).toBe(200);
  });

  it('refuses a ticket of a show that ended (409 CheckInClosed), writing nothing, and admits it when the start moves back', async () => {
    const startsAt = await moveStart(new Date(Date.now() - 5 * HOUR_MS));
    const late = ticket();
    const refused = await checkIn(late.code);
    expect(refused.statusCode).toBe(409);
    const closesLocal = formatLocalDateTime(new Date(startsAt.getTime() + CLOSES_AFTER_MS), TIME_ZONE);
    expect(refused.json()).toMatchObject({
      details: {
        reason: 'CLOSED',
        performanceId,
        startsAt: formatLocalDateTime(startsAt, TIME_ZONE),
        checkInClosesAt: closesLocal,
      },
    });
    expect(refused.json().message).toMatch(/^check-in has closed: this ticket is for the performance on /);
    expect(refused.json().message).toContain(`its check-in closed at ${closesLocal}`);
    await expectUnused(late);

    await moveStart(new Date(Date.now() - 3 * HOUR_MS));
    expect((await checkIn(late.code)).statusCode).toBe(200);
  });

  it('admits exactly from doors open, refusing 1 ms before', async () => {
    const edge = new Date(Math.floor(Date.now() / 1000) * 1000);
    await moveStart(new Date(edge.getTime() + OPENS_BEFORE_MS));
    const atEdge = ticket();
    const before = await checkInAt(new Date(edge.getTime() - 1), atEdge.code);
    expect(before.statusCode).toBe(409);
    expect(before.json().details).toMatchObject({ reason: 'NOT_OPEN' });
    await expectUnused(atEdge);
    const opened = await checkInAt(edge, atEdge.code);
    expect(opened.statusCode, opened.body).toBe(200);
  });

  it('admits until 1 ms before check-in closes, and refuses exactly at the close', async () => {
    const edge = new Date(Math.floor(Date.now() / 1000) * 1000);
    await moveStart(new Date(edge.getTime() - CLOSES_AFTER_MS));
    const lastIn = ticket();
    const atClose = ticket();
    const justInside = await checkInAt(new Date(edge.getTime() - 1), lastIn.code);
    expect(justInside.statusCode, justInside.body).toBe(200);
    const closed = await checkInAt(edge, atClose.code);
    expect(closed.statusCode).toBe(409);
    expect(closed.json().details).toMatchObject({ reason: 'CLOSED' });
    await expectUnused(atClose);
    // A used ticket still says when it was used, also after the close.
    await moveStart(new Date(Date.now() - CLOSES_AFTER_MS - HOUR_MS));
    const used = await checkIn(lastIn.code);
    expect(used.statusCode).toBe(409);
    expect(used.json().message).toMatch(/^already checked in at /);
  });

  it("PostgreSQL's check-in refuses on its own an instant outside the window around the start it reads", async () => {
    const startsAt = await moveStart(new Date(Date.now() + DAY_MS));
    const raced = ticket();
    const identity = {
      ticketId: raced.id,
      purchaseId: raced.purchaseId,
      performanceId,
      seatId: raced.seat.id,
      codeVersion: 0,
    };
    const repository = api.app.get(TicketsRepository);
    const window = { opensBeforeMinutes: 180, closesAfterMinutes: 240 };
    // As a scan that read the start before a PATCH moved it a day later would ask: the answer names
    // the window PostgreSQL compared with.
    const applied = {
      startsAt,
      opensAt: new Date(startsAt.getTime() - OPENS_BEFORE_MS),
      closesAt: new Date(startsAt.getTime() + CLOSES_AFTER_MS),
    };
    expect(await repository.checkIn(identity, admin.id, { at: new Date(), ...window }, 'scan')).toEqual({
      outcome: 'OUTSIDE_WINDOW',
      ...applied,
    });
    expect(
      await repository.checkIn(
        identity,
        admin.id,
        { at: new Date(startsAt.getTime() + CLOSES_AFTER_MS), ...window },
        'scan',
      ),
    ).toEqual({ outcome: 'OUTSIDE_WINDOW', ...applied });
    // As a scan that read the settings before a PATCH gave the performance its own window (doors
    // at the start, no latecomers) would ask: refused by, and named with, the performance's own.
    const narrowed = await call('PATCH', `/performances/${performanceId}`, {
      body: { checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: 1 },
      session: admin,
    });
    expect(narrowed.statusCode, narrowed.body).toBe(200);
    expect(
      await repository.checkIn(identity, admin.id, { at: new Date(startsAt.getTime() + HOUR_MS), ...window }, 'scan'),
    ).toEqual({
      outcome: 'OUTSIDE_WINDOW',
      startsAt,
      opensAt: startsAt,
      closesAt: new Date(startsAt.getTime() + MINUTE_MS),
    });
    const reset = await call('PATCH', `/performances/${performanceId}`, {
      body: { checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null },
      session: admin,
    });
    expect(reset.statusCode, reset.body).toBe(200);
    await expectUnused(raced);
    const atDoorsOpen = new Date(startsAt.getTime() - OPENS_BEFORE_MS);
    expect(await repository.checkIn(identity, admin.id, { at: atDoorsOpen, ...window }, 'scan')).toMatchObject({
      outcome: 'CHECKED_IN',
    });
  });

  it("honours a performance's own window (create and PATCH), and refuses negative or overlong ones with 400", async () => {
    const startsAt = await moveStart(new Date(Date.now() + 2 * HOUR_MS));
    const own = ticket();
    // Doors at 90 min before: not open 2 h before the start, though the global 3 h would be.
    const narrowed = await call('PATCH', `/performances/${performanceId}`, {
      body: { checkInOpensBeforeMinutes: 90, checkInClosesAfterMinutes: 360 },
      session: admin,
    });
    expect(narrowed.statusCode, narrowed.body).toBe(200);
    expect(narrowed.json()).toMatchObject({
      checkInOpensBeforeMinutes: 90,
      checkInClosesAfterMinutes: 360,
      checkInOpensAt: new Date(startsAt.getTime() - 90 * MINUTE_MS).toISOString(),
      checkInClosesAt: new Date(startsAt.getTime() + 360 * MINUTE_MS).toISOString(),
    });
    const early = await checkIn(own.code);
    expect(early.statusCode).toBe(409);
    expect(early.json().details).toMatchObject({
      reason: 'NOT_OPEN',
      checkInOpensAt: formatLocalDateTime(new Date(startsAt.getTime() - 90 * MINUTE_MS), TIME_ZONE),
    });
    await expectUnused(own);
    // 5 h after the start: closed by the global 4 h, open by the performance's 6 h.
    await moveStart(new Date(Date.now() - 5 * HOUR_MS));
    expect((await checkIn(own.code)).statusCode).toBe(200);

    for (const body of [
      { checkInOpensBeforeMinutes: -30 },
      { checkInClosesAfterMinutes: -1 },
      { checkInOpensBeforeMinutes: 10_081 },
      { checkInClosesAfterMinutes: 1.5 },
      { checkInOpensBeforeMinutes: '90' },
    ]) {
      const refused = await call('PATCH', `/performances/${performanceId}`, { body, session: admin });
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(Object.keys(refused.json()).sort()).toEqual(
        ['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort(),
      );
    }
    const eventId = (await call('GET', `/performances/${performanceId}`)).json().eventId;
    const createdBad = await call('POST', `/events/${eventId}/performances`, {
      body: {
        startsAt: new Date(Date.now() + DAY_MS).toISOString(),
        cancelUntil: null,
        checkInOpensBeforeMinutes: -60,
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 2 }],
      },
      session: admin,
    });
    expect(createdBad.statusCode).toBe(400);
    const created = await call('POST', `/events/${eventId}/performances`, {
      body: {
        startsAt: new Date(Date.now() + DAY_MS).toISOString(),
        cancelUntil: null,
        checkInOpensBeforeMinutes: 45,
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 2 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ checkInOpensBeforeMinutes: 45, checkInClosesAfterMinutes: null });
    const startsAtOther = Date.parse(created.json().startsAt);
    expect(created.json().checkInOpensAt).toBe(new Date(startsAtOther - 45 * MINUTE_MS).toISOString());
    expect(created.json().checkInClosesAt).toBe(new Date(startsAtOther + CLOSES_AFTER_MS).toISOString());

    // null gives the global settings back.
    const reset = await call('PATCH', `/performances/${performanceId}`, {
      body: { checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null },
      session: admin,
    });
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null });
  });

  it('admits exactly once among 40 concurrent scans of one code across two doors inside the window', async () => {
    await moveStart(new Date(Date.now() + HOUR_MS));
    const contested = ticket();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => checkIn(contested.code, i % 2 === 0 ? api.app : secondDoor)),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(39);
    for (const answer of answers.filter((a) => a.statusCode === 409)) {
      expect(answer.json().message).toMatch(/^already checked in at /);
    }
  });
});
