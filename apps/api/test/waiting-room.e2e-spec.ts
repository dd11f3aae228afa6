import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Clock, StoreUnavailableError } from '@app/core';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { AdmissionGate, SeatStateStore, shuffledArrivals, WaitingRoomService, WaitingRoomStore } from '@app/ticketing';
import { createPerformance } from './purchase-helpers';
import { QueueStreams } from '../src/waiting-room/queue-streams';
import { AdminApi, startAdminApi } from './support/api';

describe('waiting room (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  const settings = (opensAt: string) => ({
    opensAt,
    admitPerSecond: 100,
    maxActive: 10,
    admissionTtlSeconds: 60,
    sessionTtlSeconds: 600,
  });
  const past = () => new Date(Date.now() - 1000).toISOString();
  const expectAdmissionRequired = (res: { statusCode: number; json(): { error: string; message: string } }) => {
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      statusCode: 403,
      error: 'Forbidden',
      message: expect.stringMatching(/admission/i),
      details: { code: 'AdmissionRequired' },
    });
  };

  /** Runs admission steps (as `batch` does) until the buyer's ticket is admitted; answers its admission token. */
  async function admitted(performanceId: number, buyer: TestSession, ticketId: string): Promise<string> {
    const store = api.app.get(WaitingRoomStore);
    let token = '';
    await waitUntil(
      async () => {
        await store.admit(performanceId, 100);
        const res = await call('GET', `/queue/${ticketId}`, { session: buyer });
        token = res.json().admissionToken ?? '';
        return res.json().status === 'ADMITTED';
      },
      'the admission',
      10_000,
      20,
    );
    return token;
  }

  async function join(performanceId: number, buyer: TestSession) {
    const res = await call('POST', `/performances/${performanceId}/queue`, { session: buyer });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  /** A performance of `seats` seats behind a waiting room open since a second ago (`settings`); expects the PUT's 200. */
  async function queuedPerformance(seats: number) {
    const performance = await createPerformance(api.app, admin, seats);
    expect(
      (await call('PUT', `/performances/${performance.id}/queue`, { body: settings(past()), session: admin }))
        .statusCode,
    ).toBe(200);
    return performance;
  }

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
  });
  afterAll(() => close?.());

  it('sets, shows, changes and removes a queue (admin only); refuses bad settings with 400', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const url = `/performances/${performance.id}/queue`;
    expect((await call('GET', url)).statusCode).toBe(404);
    expect((await call('PUT', url, { body: settings(past()), session: buyer })).statusCode).toBe(403);
    for (const bad of [
      { ...settings(past()), admitPerSecond: 0 },
      { ...settings(past()), maxActive: 1.5 },
      { ...settings('2027-03-01 10:00') },
      { ...settings(past()), sessionTtlSeconds: undefined },
    ]) {
      const res = await call('PUT', url, { body: bad, session: admin });
      expect(res.statusCode).toBe(400);
    }
    expect(
      (await call('PUT', '/performances/999999/queue', { body: settings(past()), session: admin })).statusCode,
    ).toBe(404);

    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const set = await call('PUT', url, { body: settings(opensAt), session: admin });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({
      performanceId: performance.id,
      opensAt,
      admitPerSecond: 100,
      seed: null,
      seedSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      figures: { opened: false, waiting: 0, active: 0 },
    });
    const changed = await call('PUT', url, { body: { ...settings(opensAt), admitPerSecond: 7 }, session: admin });
    expect(changed.json()).toMatchObject({ admitPerSecond: 7, seedSha256: set.json().seedSha256 });
    expect((await call('GET', url)).json()).toMatchObject({ admitPerSecond: 7 });

    expect((await call('DELETE', url, { session: buyer })).statusCode).toBe(403);
    expect((await call('DELETE', url, { session: admin })).statusCode).toBe(204);
    expect((await call('DELETE', url, { session: admin })).statusCode).toBe(404);
    expect((await call('POST', url, { session: buyer })).statusCode).toBe(404);
  });

  it('hold and purchase need a valid admission token while the queue is on: 403 without, forged, expired or foreign; as before with one', async () => {
    const performance = await createPerformance(api.app, admin, 20);
    const elsewhere = await createPerformance(api.app, admin, 20);
    const buyer = await createSession(api.app);
    const other = await createSession(api.app);
    for (const p of [performance, elsewhere]) {
      expect(
        (await call('PUT', `/performances/${p.id}/queue`, { body: settings(past()), session: admin })).statusCode,
      ).toBe(200);
    }

    const ticket = await join(performance.id, buyer);
    expect(ticket).toMatchObject({ status: 'WAITING', position: 1, admissionToken: null, pollAfterSeconds: 5 });
    expect((await join(performance.id, buyer)).ticketId).toBe(ticket.ticketId);
    // Anyone else's ticket reads as none, with the same body as leaving it.
    const unseen = await call('GET', `/queue/${ticket.ticketId}`, { session: other });
    const unleft = await call('DELETE', `/queue/${ticket.ticketId}`, { session: other });
    for (const answer of [unseen, unleft]) {
      expect(answer.statusCode, answer.body).toBe(404);
      expect(answer.json()).toMatchObject({
        message: 'queue ticket not found',
        details: { ticketId: ticket.ticketId },
      });
    }

    const reserve = (session: TestSession, seatIds: number[], token?: string, performanceId = performance.id) =>
      call('POST', '/reservations', {
        body: { performanceId, seatIds },
        session,
        headers: token === undefined ? {} : { 'admission-token': token },
      });
    expectAdmissionRequired(await reserve(buyer, [performance.seatIds[0]]));

    const token = await admitted(performance.id, buyer, ticket.ticketId);
    const otherToken = await admitted(performance.id, other, (await join(performance.id, other)).ticketId);
    const elsewhereToken = await admitted(elsewhere.id, buyer, (await join(elsewhere.id, buyer)).ticketId);
    const [version, , mac] = token.split('.');
    const forged = `${version}.${Buffer.from(JSON.stringify({ p: performance.id, u: buyer.id, t: ticket.ticketId, exp: Date.now() + 60_000 })).toString('base64url')}.${mac}`;
    const expired = api.app.get(WaitingRoomService).tokens.sign({
      performanceId: performance.id,
      userId: buyer.id,
      ticketId: ticket.ticketId,
      expiresAt: Date.now() - 1,
    });
    for (const bad of ['', 'garbage', forged, expired, otherToken, elsewhereToken]) {
      expectAdmissionRequired(await reserve(buyer, [performance.seatIds[0]], bad));
    }

    // The slot ends admissionTtlSeconds (60) after the admission until a first hold; the token
    // lasts the longest slot (60 + sessionTtlSeconds 600).
    const admittedTicket = (await call('GET', `/queue/${ticket.ticketId}`, { session: buyer })).json();
    expect(Date.parse(admittedTicket.admissionExpiresAt) - Date.parse(admittedTicket.slotEndsAt)).toBe(600_000);

    const holdingFrom = Date.now();
    const held = await reserve(buyer, [performance.seatIds[0], performance.seatIds[1]], token);
    const holdingUntil = Date.now();
    expect(held.statusCode).toBe(201);
    expect(held.json()).toMatchObject({ status: 'HELD', performanceId: performance.id });
    // From the first hold, the session's sessionTtlSeconds: what a countdown shows now.
    const session = (await call('GET', `/queue/${ticket.ticketId}`, { session: buyer })).json();
    expect(Date.parse(session.slotEndsAt)).toBeGreaterThanOrEqual(holdingFrom + 600_000 - 1);
    expect(Date.parse(session.slotEndsAt)).toBeLessThanOrEqual(holdingUntil + 600_000 + 1);
    expect(session.admissionExpiresAt).toBe(admittedTicket.admissionExpiresAt);
    const buy = (session: TestSession, token?: string) =>
      call('POST', '/purchases', {
        body: { reservationId: held.json().id },
        session,
        headers: { 'idempotency-key': 'buy-once', ...(token === undefined ? {} : { 'admission-token': token }) },
      });
    expectAdmissionRequired(await buy(buyer));
    expectAdmissionRequired(await buy(buyer, otherToken));
    expectAdmissionRequired(await buy(buyer, elsewhereToken));
    const bought = await buy(buyer, token);
    expect(bought.statusCode).toBe(201);
    expect(bought.json()).toMatchObject({ status: 'PAID', reservationId: held.json().id });
    // A retry with the same Idempotency-Key gets the first answer (P6), though the session has ended.
    const retried = await buy(buyer, token);
    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toEqual(bought.json());

    // The purchase ended the session and freed the slot: the token no longer opens anything.
    expect((await call('GET', `/queue/${ticket.ticketId}`, { session: buyer })).json()).toMatchObject({
      status: 'ENDED',
      endReason: 'DONE',
    });
    expectAdmissionRequired(await reserve(buyer, [performance.seatIds[5]], token));
    expect((await call('GET', `/performances/${performance.id}/queue`)).json().figures).toMatchObject({ active: 1 });

    // Without a queue, as before.
    expect((await call('DELETE', `/performances/${performance.id}/queue`, { session: admin })).statusCode).toBe(204);
    expect((await reserve(other, [performance.seatIds[6]])).statusCode).toBe(201);
  });

  it('after a cancel the room says canceled and counts no slot or place in line; a deleted performance is "performance not found"', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const url = `/performances/${performance.id}/queue`;
    expect((await call('PUT', url, { body: settings(past()), session: admin })).statusCode).toBe(200);
    const [buyer, other] = [await createSession(api.app), await createSession(api.app)];
    const ticket = await join(performance.id, buyer);
    await admitted(performance.id, buyer, ticket.ticketId);
    await join(performance.id, other);
    const before = (await call('GET', url)).json();
    expect(before).toMatchObject({ canceled: false, figures: { active: 1 } });
    expect(before.figures.waiting + before.figures.active).toBe(2);

    expect((await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin })).statusCode).toBe(
      202,
    );
    const after = await call('GET', url);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toMatchObject({ canceled: true, figures: { active: 0, waiting: 0, admitted: 1 } });
    expect((await call('GET', `/queue/${ticket.ticketId}`, { session: buyer })).json()).toMatchObject({
      status: 'ENDED',
      endReason: 'CANCELED',
    });

    // Deleted: each queue route names the performance, not its queue.
    const gone = await createPerformance(api.app, admin, 2);
    expect((await call('DELETE', `/performances/${gone.id}`, { session: admin })).statusCode).toBe(204);
    for (const res of [
      await call('POST', `/performances/${gone.id}/queue`, { session: buyer }),
      await call('GET', `/performances/${gone.id}/queue`),
      await call('DELETE', `/performances/${gone.id}/queue`, { session: admin }),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json().message).toBe('performance not found');
    }
    // A performance without a queue: the queue is what is missing.
    const plain = await call('POST', `/performances/${(await createPerformance(api.app, admin, 2)).id}/queue`, {
      session: buyer,
    });
    expect(plain.json()).toMatchObject({ statusCode: 404, message: 'queue not found' });
  });

  it('a room Redis lost comes back from PostgreSQL before any hold passes: 403 without a token, join works, an old token has ended', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const url = `/performances/${performance.id}/queue`;
    expect((await call('PUT', url, { body: settings(past()), session: admin })).statusCode).toBe(200);
    const token = await admitted(performance.id, buyer, (await join(performance.id, buyer)).ticketId);
    const reserve = (seatIds: number[], admission?: string) =>
      call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds },
        session: buyer,
        headers: admission === undefined ? {} : { 'admission-token': admission },
      });
    // Redis loses everything of the performance (as when it comes back empty); PostgreSQL keeps the room.
    const loseRedisState = async () => {
      await api.app.get(SeatStateStore).removePerformance(performance.id);
      api.app.get(AdmissionGate).forget(performance.id);
    };

    await loseRedisState();
    expectAdmissionRequired(await reserve([performance.seatIds[0]]));
    expect(await api.app.get(WaitingRoomStore).queueState(performance.id)).toBe('on');

    // The seat state rebuilt first (a seat page) brings the room back with it.
    await loseRedisState();
    expect((await call('GET', `/performances/${performance.id}/seats`)).statusCode).toBe(200);
    expectAdmissionRequired(await reserve([performance.seatIds[0]]));

    // An admission of before the loss went with Redis, also while the gate still knows the room as on.
    await loseRedisState();
    expectAdmissionRequired(await reserve([performance.seatIds[0]]));
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const stale = await reserve([performance.seatIds[0]], token);
    expectAdmissionRequired(stale);
    expect(stale.json().message).toMatch(/join the queue again/);

    // Joining works again at once, and leads to a hold.
    await loseRedisState();
    const ticket = await join(performance.id, buyer);
    expect(ticket).toMatchObject({ status: expect.stringMatching(/^(WAITING|ADMITTED)$/) });
    const fresh = await admitted(performance.id, buyer, ticket.ticketId);
    expect((await reserve([performance.seatIds[1]], fresh)).statusCode).toBe(201);
  });

  it('reveals the seed after the opening; the order re-derives from it; SSE streams until admitted; leaving ends a ticket', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const url = `/performances/${performance.id}/queue`;
    const buyers = await Promise.all(Array.from({ length: 8 }, () => createSession(api.app)));
    const opensAt = new Date(Date.now() + 3000).toISOString();
    const set = await call('PUT', url, {
      body: { ...settings(opensAt), admitPerSecond: 1, maxActive: 1 },
      session: admin,
    });
    const tickets: { ticketId: string }[] = [];
    for (const buyer of buyers) tickets.push(await join(performance.id, buyer));
    for (const ticket of tickets) expect(ticket).toMatchObject({ status: 'WAITING', position: null, preQueue: null });

    const store = api.app.get(WaitingRoomStore);
    await waitUntil(async () => (await store.admit(performance.id, 0)).outcome === 'OPENED', 'the opening', 5000, 20);
    const shown = (await call('GET', url)).json();
    expect(shown.figures).toMatchObject({ opened: true, preQueueSize: 8 });
    expect(createHash('sha256').update(Buffer.from(shown.seed, 'hex')).digest('hex')).toBe(set.json().seedSha256);
    const order = shuffledArrivals(shown.seed, 8);
    for (const [index, buyer] of buyers.entries()) {
      const ticket = (await call('GET', `/queue/${tickets[index].ticketId}`, { session: buyer })).json();
      expect(ticket.preQueue).toEqual({ arrival: index + 1, openingPosition: expect.any(Number) });
      expect(order[ticket.preQueue.openingPosition - 1]).toBe(index + 1);
      expect(ticket.position).toBe(ticket.preQueue.openingPosition);
      expect(ticket.etaSeconds).toBeGreaterThanOrEqual(ticket.position - 1);
    }

    const first = buyers[order[0] - 1];
    const firstTicket = tickets[order[0] - 1].ticketId;
    await admitted(performance.id, first, firstTicket);
    const events = await call('GET', `/queue/${firstTicket}/events`, { session: first });
    expect(events.statusCode).toBe(200);
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = events.body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(data).toEqual([
      expect.objectContaining({ ticketId: firstTicket, status: 'ADMITTED', admissionToken: expect.any(String) }),
    ]);

    const last = buyers[order[7] - 1];
    const lastTicket = tickets[order[7] - 1].ticketId;
    expect((await call('DELETE', `/queue/${lastTicket}`, { session: first })).statusCode).toBe(404);
    expect((await call('DELETE', `/queue/${lastTicket}`, { session: last })).statusCode).toBe(204);
    expect((await call('GET', `/queue/${lastTicket}`, { session: last })).json()).toMatchObject({
      status: 'ENDED',
      endReason: 'LEFT',
    });
    // Leaving again answers as GET reads the ticket (ENDED, LEFT), as an ended hold's release does;
    // anyone else's ended ticket is still none.
    const again = await call('DELETE', `/queue/${lastTicket}`, { session: last });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json()).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: 'queue ticket has already ended: you left the queue',
      details: { ticketId: lastTicket, endReason: 'LEFT' },
    });
    const foreign = await call('DELETE', `/queue/${lastTicket}`, { session: first });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ message: 'queue ticket not found', details: { ticketId: lastTicket } });
    expect((await call('GET', `/queue/${lastTicket}`, { session: last })).json()).toMatchObject({
      status: 'ENDED',
      endReason: 'LEFT',
    });
    expect((await call('GET', '/queue/not-a-uuid', { session: last })).statusCode).toBe(400);
  });
  it("answers the event stream of anyone else's ticket 404 with the uniform body, also when the first read is slow", async () => {
    const performance = await createPerformance(api.app, admin, 10);
    await call('PUT', `/performances/${performance.id}/queue`, { body: settings(past()), session: admin });
    const [owner, intruder] = await Promise.all([createSession(api.app), createSession(api.app)]);
    const { ticketId } = await join(performance.id, owner);
    const rooms = api.app.get(WaitingRoomService);
    const read = rooms.get.bind(rooms);
    // A busy Redis: the ticket's first read answers after the stream's headers would have gone.
    const slow = vi.spyOn(rooms, 'get').mockImplementation(async (userId, id) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return read(userId, id);
    });
    try {
      for (const session of [intruder, admin]) {
        const res = await call('GET', `/queue/${ticketId}/events`, { session });
        expect(res.statusCode, `${session.role}: ${res.body}`).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
      }
    } finally {
      slow.mockRestore();
    }
  });

  /** The events of a finished SSE body: each `{event, data}` (data parsed from JSON). */
  const sseEvents = (body: string) =>
    body
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => {
        const lines = block.split('\n');
        const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message';
        const data = lines.find((line) => line.startsWith('data: '))?.slice(6) ?? '';
        return { event, data: data.startsWith('{') ? JSON.parse(data) : data };
      });

  /**
   * Streams `ticketId`'s events as `buyer`, runs `act` once the stream's first read is done (so a
   * later poll meets what it did), and answers the finished stream's events.
   */
  async function streamAcross(buyer: TestSession, ticketId: string, act: () => Promise<void>) {
    const rooms = api.app.get(WaitingRoomService);
    const read = rooms.get.bind(rooms);
    let firstRead!: () => void;
    const first = new Promise<void>((resolve) => (firstRead = resolve));
    const spy = vi.spyOn(rooms, 'get').mockImplementation(async (userId, id) => {
      const answer = await read(userId, id);
      if (id === ticketId) firstRead();
      return answer;
    });
    try {
      const streamed = call('GET', `/queue/${ticketId}/events`, { session: buyer });
      await first;
      await act();
      const res = await streamed;
      expect(res.statusCode, res.body).toBe(200);
      return sseEvents(res.body);
    } finally {
      spy.mockRestore();
    }
  }

  it.each([
    ['the queue is removed', 'CLOSED', (id: number) => call('DELETE', `/performances/${id}/queue`, { session: admin })],
    ['the performance is deleted', 'CLOSED', (id: number) => call('DELETE', `/performances/${id}`, { session: admin })],
    [
      'the performance is canceled',
      'CANCELED',
      (id: number) => call('POST', `/admin/performances/${id}/cancel`, { session: admin }),
    ],
  ])(
    'a ticket streamed while %s ends with ENDED (%s), as GET and DELETE tell it; never an error event',
    async (_what, reason, act) => {
      const performance = await createPerformance(api.app, admin, 10);
      const opensAt = new Date(Date.now() + 3_600_000).toISOString();
      expect(
        (await call('PUT', `/performances/${performance.id}/queue`, { body: settings(opensAt), session: admin }))
          .statusCode,
      ).toBe(200);
      const buyer = await createSession(api.app);
      const { ticketId } = await join(performance.id, buyer);
      const events = await streamAcross(buyer, ticketId, async () => {
        const done = await act(performance.id);
        expect(done.statusCode, done.body).toBeLessThan(300);
      });
      expect(events.map((event) => event.event)).not.toContain('error');
      expect(events[0].data).toMatchObject({ ticketId, status: 'WAITING' });
      expect(events.at(-1)!.data).toMatchObject({ ticketId, status: 'ENDED', endReason: reason });
      // GET tells the same; leaving answers it as an ended ticket (409, the reason); anyone else's is none.
      const got = await call('GET', `/queue/${ticketId}`, { session: buyer });
      expect(got.statusCode, got.body).toBe(200);
      expect(got.json()).toMatchObject({ ticketId, status: 'ENDED', endReason: reason });
      const left = await call('DELETE', `/queue/${ticketId}`, { session: buyer });
      expect(left.statusCode, left.body).toBe(409);
      expect(left.json()).toMatchObject({ error: 'Conflict', details: { ticketId, endReason: reason } });
      const other = await createSession(api.app);
      for (const method of ['GET', 'DELETE']) {
        const foreign = await call(method, `/queue/${ticketId}`, { session: other });
        expect(foreign.statusCode, foreign.body).toBe(404);
        expect(foreign.json()).toMatchObject({ message: 'queue ticket not found', details: { ticketId } });
      }
    },
  );

  it('ends a stream whose later poll meets a domain error with one error event of the uniform body, not "Internal server error"', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    await call('PUT', `/performances/${performance.id}/queue`, { body: settings(opensAt), session: admin });
    const buyer = await createSession(api.app);
    const { ticketId } = await join(performance.id, buyer);
    const rooms = api.app.get(WaitingRoomService);
    const read = rooms.get.bind(rooms);
    let reads = 0;
    const failing = vi.spyOn(rooms, 'get').mockImplementation(async (userId, id) => {
      reads += 1;
      if (reads > 1) throw new StoreUnavailableError('redis', new Error('connection lost'));
      return read(userId, id);
    });
    try {
      const res = await call('GET', `/queue/${ticketId}/events`, { session: buyer });
      expect(res.statusCode, res.body).toBe(200);
      const events = sseEvents(res.body);
      expect(events).toHaveLength(2);
      expect(events[0].data).toMatchObject({ ticketId, status: 'WAITING' });
      expect(events[1]).toEqual({
        event: 'error',
        data: expect.objectContaining({
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'the service is temporarily unavailable; retry shortly',
          path: `/api/v1/queue/${ticketId}/events`,
        }),
      });
    } finally {
      failing.mockRestore();
    }
  });

  it('a canceled performance takes no waiting room: PUT, DELETE and joining its queue are 409; its holds and purchases answer the cancellation before any admission, also after Redis lost it', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const url = `/performances/${performance.id}/queue`;
    const buyer = await createSession(api.app);
    // A queue set before the cancel, a buyer admitted, a hold made under the admission.
    expect((await call('PUT', url, { body: settings(past()), session: admin })).statusCode).toBe(200);
    const token = await admitted(performance.id, buyer, (await join(performance.id, buyer)).ticketId);
    const reserve = (seatIds: number[], admission?: string) =>
      call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds },
        session: buyer,
        headers: admission === undefined ? {} : { 'admission-token': admission },
      });
    const held = await reserve([performance.seatIds[0]], token);
    expect(held.statusCode, held.body).toBe(201);
    // This process's gate knows the queue as on: it must not answer before the cancellation.
    expectAdmissionRequired(await reserve([performance.seatIds[1]]));
    expect((await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin })).statusCode).toBe(
      202,
    );

    const canceled = (res: { statusCode: number; body: string; json(): unknown }, what: string) => {
      expect(res.statusCode, `${what}: ${res.body}`).toBe(409);
      expect(res.json(), what).toMatchObject({ details: { performanceId: performance.id } });
      expect((res.json() as { message: string }).message, what).toMatch(
        new RegExp(`^performance ${performance.id} has been canceled`),
      );
    };
    canceled(await call('PUT', url, { body: settings(past()), session: admin }), 'PUT queue');
    canceled(await call('DELETE', url, { session: admin }), 'DELETE queue');
    canceled(await call('POST', url, { session: await createSession(api.app) }), 'join');
    canceled(await call('POST', url, { session: buyer }), 'join again');

    const salesClosed = (res: { statusCode: number; body: string; json(): unknown }, what: string) => {
      expect(res.statusCode, `${what}: ${res.body}`).toBe(409);
      expect(res.json(), what).toMatchObject({ details: { reason: 'CANCELED' } });
    };
    const buy = (admission?: string) =>
      call('POST', '/purchases', {
        body: { reservationId: held.json().id },
        session: buyer,
        headers: admission === undefined ? {} : { 'admission-token': admission },
      });
    for (const round of ['live', 'after Redis lost it']) {
      salesClosed(await reserve([performance.seatIds[2]]), `${round}: hold without a token`);
      salesClosed(await reserve([performance.seatIds[2]], token), `${round}: hold with the token`);
      salesClosed(await reserve([performance.seatIds[2]], 'forged'), `${round}: hold with a forged token`);
      // The hold went with Redis (its purchase is a 404 then): bought only while Redis kept it.
      if (round === 'live') {
        salesClosed(await buy(), `${round}: purchase without a token`);
        salesClosed(await buy(token), `${round}: purchase with the token`);
      }
      // Redis loses everything of the performance; PostgreSQL keeps the room and the cancellation.
      await api.app.get(SeatStateStore).removePerformance(performance.id);
      api.app.get(AdmissionGate).forget(performance.id);
    }
  });

  /** Sets the password of `user` by a reset (a token stored as a request stores it): every session of the account ends. */
  async function resetPassword(user: TestSession): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    await api.app
      .get(DataSource)
      .query(
        `INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '10 minutes')`,
        [randomUUID(), user.id, createHash('sha256').update(token).digest('hex')],
      );
    const done = await call('POST', '/auth/password-reset/confirm', {
      body: { token, password: 'a new long passphrase' },
    });
    expect(done.statusCode, done.body).toBe(204);
  }

  /** Resolves with `promise`, or fails saying `what` once `ms` have passed. */
  const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      promise,
      new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
    ]);

  it('ends an open event stream within seconds of a password reset, and sends it no admission', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    await call('PUT', `/performances/${performance.id}/queue`, { body: settings(past()), session: admin });
    const buyer = await createSession(api.app);
    const { ticketId } = await join(performance.id, buyer);
    let resetAt = 0;
    const streamed = streamAcross(buyer, ticketId, async () => {
      await resetPassword(buyer);
      resetAt = Date.now();
      expect((await call('GET', '/users/me', { session: buyer })).statusCode).toBe(401);
      // The ticket is admitted now: an ended session must not get its admission token.
      await api.app.get(WaitingRoomStore).admit(performance.id, 100);
    });
    // Sooner than the next poll (pollAfterSeconds, 5 s): the session is checked every second.
    const events = await within(streamed, 4000, 'the stream of an ended session ended');
    expect(Date.now() - resetAt).toBeLessThan(4000);
    expect(events.map((event) => event.data.status)).not.toContain('ADMITTED');
    expect(JSON.stringify(events)).not.toContain('admissionToken":"a1.');
    expect(events[0].data).toMatchObject({ ticketId, status: 'WAITING' });
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: expect.objectContaining({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'this session has ended (the password was reset or the account changed): sign in again',
        path: `/api/v1/queue/${ticketId}/events`,
      }),
    });
    expect(api.app.get(QueueStreams).openOf(buyer.id)).toBe(0);
  });

  it('ends an open event stream once its access token expires (10 minutes), with the 401 of an expired token', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    await call('PUT', `/performances/${performance.id}/queue`, { body: settings(opensAt), session: admin });
    const buyer = await createSession(api.app);
    const { ticketId } = await join(performance.id, buyer);
    const clock = api.app.get(Clock);
    try {
      const streamed = streamAcross(buyer, ticketId, async () => {
        // Past the token's expiry on the api's clock (the waiting room reads Redis's).
        const later = new Date(Date.now() + 11 * 60_000);
        vi.spyOn(clock, 'now').mockImplementation(() => later);
      });
      const events = await within(streamed, 4000, 'the stream of an expired token ended');
      expect(events.at(-1)).toEqual({
        event: 'error',
        data: expect.objectContaining({ statusCode: 401, error: 'Unauthorized', message: 'invalid or expired token' }),
      });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('lets one account open WAITING_ROOM_STREAMS_PER_USER (3) event streams at once on an api process; past that 429 with Retry-After', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    await call('PUT', `/performances/${performance.id}/queue`, { body: settings(opensAt), session: admin });
    const [buyer, neighbour] = await Promise.all([createSession(api.app), createSession(api.app)]);
    const { ticketId } = await join(performance.id, buyer);
    const streams = api.app.get(QueueStreams);
    // 20 at once on one ticket: 3 stream, 17 are refused at once.
    const refused: { statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown> }[] = [];
    const opened = Array.from({ length: 20 }, () =>
      call('GET', `/queue/${ticketId}/events`, { session: buyer }).then((res) => {
        if (res.statusCode !== 200) refused.push(res);
        return res;
      }),
    );
    await waitUntil(() => refused.length === 17 && streams.openOf(buyer.id) === 3, '3 streams open, 17 refused');
    for (const res of refused) {
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        details: { code: 'TooManyQueueStreams', limit: 3 },
      });
      expect(res.headers['retry-after']).toBe('5');
    }
    // Another account is not held back by this one's.
    const { ticketId: theirs } = await join(performance.id, neighbour);
    const theirStream = call('GET', `/queue/${theirs}/events`, { session: neighbour });
    await waitUntil(() => streams.openOf(neighbour.id) === 1, "the neighbour's stream");
    // Leaving ends the ticket: each stream ends at its next poll and gives its place back.
    expect((await call('DELETE', `/queue/${ticketId}`, { session: buyer })).statusCode).toBe(204);
    expect((await call('DELETE', `/queue/${theirs}`, { session: neighbour })).statusCode).toBe(204);
    const ended = (await Promise.all([...opened, theirStream])).filter((res) => res.statusCode === 200);
    expect(ended).toHaveLength(4);
    for (const res of ended) expect(sseEvents(res.body).at(-1)!.data).toMatchObject({ status: 'ENDED' });
    await waitUntil(() => streams.openOf(buyer.id) === 0 && streams.openOf(neighbour.id) === 0, 'every place back');
    const again = await call('GET', `/queue/${ticketId}/events`, { session: buyer });
    expect(again.statusCode, again.body).toBe(200);
  });

  it('admits nobody while the sale is paused or closed: the waiting tickets and the room say why, and keep their order until it runs again', async () => {
    const performance = await queuedPerformance(10);
    const buyers = [await createSession(api.app), await createSession(api.app), await createSession(api.app)];
    const tickets: string[] = [];
    for (const buyer of buyers) tickets.push((await join(performance.id, buyer)).ticketId);
    const store = api.app.get(WaitingRoomStore);
    const ticketOf = async (k: number) => (await call('GET', `/queue/${tickets[k]}`, { session: buyers[k] })).json();

    for (const status of ['PAUSED', 'CLOSED'] as const) {
      const patched = await call('PATCH', `/performances/${performance.id}`, { body: { status }, session: admin });
      expect(patched.statusCode, patched.body).toBe(200);
      // Running, one step admits the whole line (bucket of 20, 10 slots): halted, none of them
      // (the first step of the room opens it).
      const steps = [];
      for (let step = 0; step < 5; step++) steps.push(await store.admit(performance.id, 100));
      expect(steps.flatMap((step) => step.admitted)).toEqual([]);
      expect(steps.at(-1)).toMatchObject({ outcome: 'HALTED', halted: status });
      for (let k = 0; k < buyers.length; k++) {
        expect(await ticketOf(k)).toMatchObject({ status: 'WAITING', position: k + 1, admissionHalted: status });
      }
      const room = (await call('GET', `/performances/${performance.id}/queue`)).json();
      expect(room).toMatchObject({ admissionHalted: status, figures: { admitted: 0, active: 0, waiting: 3 } });
    }

    expect(
      (await call('PATCH', `/performances/${performance.id}`, { body: { status: 'ON_SALE' }, session: admin }))
        .statusCode,
    ).toBe(200);
    expect(await ticketOf(0)).toMatchObject({ status: 'WAITING', position: 1, admissionHalted: null });
    expect((await call('GET', `/performances/${performance.id}/queue`)).json().admissionHalted).toBeNull();
    // The bucket fills at admitPerSecond from the room's first step: on a fast host this whole test
    // takes less than the 30 ms three admissions need, so the line may take more than one step.
    const admittedInOrder: string[] = [];
    await waitUntil(
      async () => {
        const step = await store.admit(performance.id, 100);
        admittedInOrder.push(...step.admitted.map(({ ticketId }) => ticketId));
        return admittedInOrder.length >= tickets.length;
      },
      'the line admitted once the sale runs again',
      5_000,
      10,
    );
    expect(admittedInOrder).toEqual(tickets);
    for (let k = 0; k < buyers.length; k++) {
      expect(await ticketOf(k)).toMatchObject({ status: 'ADMITTED', admissionHalted: null });
    }
  });

  it("a pause costs an admitted buyer none of their slot's time: paused longer than both TTLs, resumed, the token of before still holds", async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const body = { ...settings(past()), admissionTtlSeconds: 1, sessionTtlSeconds: 1 };
    expect((await call('PUT', `/performances/${performance.id}/queue`, { body, session: admin })).statusCode).toBe(200);
    const buyer = await createSession(api.app);
    const { ticketId } = await join(performance.id, buyer);
    const token = await admitted(performance.id, buyer, ticketId);
    const before = (await call('GET', `/queue/${ticketId}`, { session: buyer })).json();
    const patch = (status: string) =>
      call('PATCH', `/performances/${performance.id}`, { body: { status }, session: admin });
    expect((await patch('PAUSED')).statusCode).toBe(200);
    // The admission loop stepping all along (as batch does), past the slot's end and the token's.
    const store = api.app.get(WaitingRoomStore);
    await waitUntil(
      async () => (await store.admit(performance.id, 100), Date.now() > Date.parse(before.admissionExpiresAt) + 500),
      'the pause outlasting the slot and the token',
      10_000,
      50,
    );
    const paused = (await call('GET', `/queue/${ticketId}`, { session: buyer })).json();
    expect(paused).toMatchObject({ status: 'ADMITTED' });
    // While paused, the countdown stands: its end moves on with the pause.
    expect(Date.parse(paused.slotEndsAt)).toBeGreaterThan(Date.now());
    expect((await patch('ON_SALE')).statusCode).toBe(200);
    await store.admit(performance.id, 100);
    const hold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
      headers: { 'admission-token': token },
    });
    expect(hold.statusCode, hold.body).toBe(201);
  });

  it('admits nobody while no seat is available and tells the waiting tickets SOLD_OUT; seats that come back let admission go on', async () => {
    const performance = await queuedPerformance(2);
    const first = await createSession(api.app);
    const token = await admitted(performance.id, first, (await join(performance.id, first)).ticketId);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds },
      session: first,
      headers: { 'admission-token': token },
    });
    expect(held.statusCode, held.body).toBe(201);

    const waiter = await createSession(api.app);
    const ticket = await join(performance.id, waiter);
    expect(ticket).toMatchObject({ status: 'WAITING', position: 1, admissionHalted: 'SOLD_OUT' });
    const store = api.app.get(WaitingRoomStore);
    for (let step = 0; step < 5; step++) {
      expect(await store.admit(performance.id, 100)).toMatchObject({
        outcome: 'HALTED',
        halted: 'SOLD_OUT',
        admitted: [],
      });
    }
    expect((await call('GET', `/queue/${ticket.ticketId}`, { session: waiter })).json()).toMatchObject({
      status: 'WAITING',
      admissionHalted: 'SOLD_OUT',
    });
    expect((await call('GET', `/performances/${performance.id}/queue`)).json().admissionHalted).toBe('SOLD_OUT');

    // The hold released: its seats are back, and so is admission.
    expect((await call('DELETE', `/reservations/${held.json().id}`, { session: first })).statusCode).toBe(204);
    expect((await call('GET', `/performances/${performance.id}/queue`)).json().admissionHalted).toBeNull();
    await admitted(performance.id, waiter, ticket.ticketId);
    expect((await call('GET', `/queue/${ticket.ticketId}`, { session: waiter })).json()).toMatchObject({
      status: 'ADMITTED',
      admissionHalted: null,
    });
  });

  it('documents the routes and the Admission-Token header in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/performances/{id}/queue',
        '/api/v1/queue/{ticketId}',
        '/api/v1/queue/{ticketId}/events',
      ]),
    );
    expect(Object.keys(doc.paths['/api/v1/performances/{id}/queue'])).toEqual(
      expect.arrayContaining(['put', 'get', 'delete', 'post']),
    );
    expect(doc.paths['/api/v1/queue/{ticketId}'].delete.responses['409'].description).toMatch(
      /QueueTicketEnded.*endReason/,
    );
    for (const path of ['/api/v1/reservations', '/api/v1/purchases']) {
      expect(doc.paths[path].post.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'Admission-Token', in: 'header' })]),
      );
    }
  });
});
