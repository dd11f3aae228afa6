import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Redis from 'ioredis';
import { createSession } from '@app/testing';
import { performanceKeys, SeatBlockStore, SeatStateStore } from '@app/ticketing';
import { createPerformance } from './purchase-helpers';
import { AdminApi, listSeats, signedBuyer, startAdminApi } from './support/api';
import { expectCountsInStep as expectCountsInStepOf } from './support/races';

type Headers = Record<string, string>;
interface Seat {
  id: number;
  status: string;
}

/**
 * Operators' blocked seats (`/admin/performances/:id/seat-blocks`): the routes and their 4xx, all
 * or nothing against buyers' holds (a block racing 200 buyers: each seat ends held or blocked,
 * never both), every view (seat pages, map, sections, counts, sales report), best-available,
 * release, and a rebuild after Redis lost the performance. Real PostgreSQL and Redis.
 */
describe('blocked seats (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({ MAX_SEATS_PER_RESERVATION: '4' }));
  });
  afterAll(() => close?.());

  /** A fresh buyer's headers (an account row, a token signed directly). */
  const buyer = async () => (await signedBuyer(api)).headers;

  /** A performance on sale of `rows` rows of `seatsPerRow` seats (one section, Floor), its seat ids in layout order. */
  async function newPerformance(rows: number, seatsPerRow: number): Promise<{ id: number; seatIds: number[] }> {
    const event = await call('POST', '/events', { body: { title: 'Blocks', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-01-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'VIP', price: 3000, rows, seatsPerRow }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    return { id, seatIds: (await seats(id)).map((seat) => seat.id) };
  }

  /** Every seat of the performance with its status (`query`: e.g. `status=AVAILABLE`), following the pages. */
  const seats = (performanceId: number, query = '') => listSeats<Seat>(call, performanceId, query);

  const block = (performanceId: number, body: object, session = admin) =>
    call('POST', `/admin/performances/${performanceId}/seat-blocks`, { body, session });
  const release = (performanceId: number, body: object, session = admin) =>
    call('POST', `/admin/performances/${performanceId}/seat-blocks/release`, { body, session });
  const reserve = (headers: Headers, payload: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });

  /** The seat letters and counts in Redis agree; answers the letters (see expectCountsInStep). */
  const expectCountsInStep = (performanceId: number) => expectCountsInStepOf(redis, performanceId);

  it('blocks all or nothing, idempotently, lists blocks with reason, who and when, and audits', async () => {
    const performance = await newPerformance(2, 5);
    const [s1, s2, s3, s4, s5] = performance.seatIds;

    const first = await block(performance.id, { seatIds: [s2, s1], reason: 'sound desk' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ performanceId: performance.id, blocked: [s1, s2], alreadyBlocked: [] });

    // Again with one more seat: the first two keep their reason.
    const again = await block(performance.id, { seatIds: [s1, s2, s3], reason: 'camera' });
    expect(again.json()).toEqual({ performanceId: performance.id, blocked: [s3], alreadyBlocked: [s1, s2] });

    // A held seat refuses the whole request, naming it; nothing else is blocked.
    const held = await reserve(await buyer(), { performanceId: performance.id, seatIds: [s5] });
    expect(held.statusCode, held.body).toBe(201);
    const refused = await block(performance.id, { seatIds: [s4, s5] });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      error: 'Conflict',
      details: { seatIds: [s5], held: [s5], sold: [], truncated: false, heldCount: 1, soldCount: 0 },
      requestId: expect.any(String),
      path: `/api/v1/admin/performances/${performance.id}/seat-blocks`,
    });
    expect((await seats(performance.id)).find((seat) => seat.id === s4)?.status).toBe('AVAILABLE');

    const page1 = await call('GET', `/admin/performances/${performance.id}/seat-blocks?limit=2`, { session: admin });
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json().items).toEqual([
      {
        seatId: s1,
        section: 'Floor',
        row: 1,
        rowLabel: 'A',
        number: 1,
        reason: 'sound desk',
        blockedBy: { id: admin.id, email: admin.email },
        blockedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      expect.objectContaining({ seatId: s2, reason: 'sound desk' }),
    ]);
    const page2 = await call(
      'GET',
      `/admin/performances/${performance.id}/seat-blocks?limit=2&cursor=${page1.json().nextCursor}`,
      { session: admin },
    );
    expect(page2.json()).toEqual({
      items: [expect.objectContaining({ seatId: s3, reason: 'camera' })],
      nextCursor: null,
    });

    // Releasing a seat not blocked is no change and no error.
    const released = await release(performance.id, { seatIds: [s3, s4] });
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json()).toEqual({ performanceId: performance.id, released: [s3], notBlocked: [s4] });

    // Requests that change no seat add no audit row.
    expect((await block(performance.id, { seatIds: [s1] })).json()).toEqual({
      performanceId: performance.id,
      blocked: [],
      alreadyBlocked: [s1],
    });
    expect((await release(performance.id, { seatIds: [s4] })).json()).toEqual({
      performanceId: performance.id,
      released: [],
      notBlocked: [s4],
    });

    const audit = await db.query(
      `SELECT action, actor_id, details FROM admin_audit_log WHERE subject_id = $1 AND action LIKE 'seat.%' ORDER BY id`,
      [`performance:${performance.id}`],
    );
    expect(audit.rows).toEqual([
      {
        action: 'seat.block',
        actor_id: admin.id,
        details: { performanceId: performance.id, seatIds: [s1, s2], reason: 'sound desk' },
      },
      {
        action: 'seat.block',
        actor_id: admin.id,
        details: { performanceId: performance.id, seatIds: [s3], reason: 'camera' },
      },
      { action: 'seat.release', actor_id: admin.id, details: { performanceId: performance.id, seatIds: [s3] } },
    ]);
    await expectCountsInStep(performance.id);
  });

  it('answers 400, 401, 403 and 404 with the uniform body, changing nothing', async () => {
    const performance = await newPerformance(1, 4);
    const other = await newPerformance(1, 2);
    const [s1] = performance.seatIds;
    const user = await createSession(api.app);

    for (const body of [
      {},
      { seatIds: [] },
      { seatIds: [s1, s1] },
      { seatIds: ['1'] },
      { seatIds: [1.5] },
      { seatIds: [0] },
      { seatIds: Array.from({ length: 501 }, (_, i) => i + 1) },
      { seatIds: [s1], reason: 'x'.repeat(201) },
      { seatIds: [s1], reason: 'bad\u202etext' },
      { seatIds: [s1], extra: true },
    ]) {
      const answer = await block(performance.id, body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: expect.any(String) });
    }
    expect((await release(performance.id, { seatIds: [] })).statusCode).toBe(400);
    expect((await release(performance.id, { seatIds: [s1], reason: 'no' })).statusCode).toBe(400);
    const badCursor = await call('GET', `/admin/performances/${performance.id}/seat-blocks?cursor=forged`, {
      session: admin,
    });
    expect(badCursor.statusCode).toBe(400);
    expect((await call('GET', `/admin/performances/abc/seat-blocks`, { session: admin })).statusCode).toBe(400);

    const anonymous = await call('POST', `/admin/performances/${performance.id}/seat-blocks`, {
      body: { seatIds: [s1] },
    });
    expect(anonymous.statusCode).toBe(401);
    expect((await block(performance.id, { seatIds: [s1] }, user)).statusCode).toBe(403);
    expect((await release(performance.id, { seatIds: [s1] }, user)).statusCode).toBe(403);
    expect((await call('GET', `/admin/performances/${performance.id}/seat-blocks`, { session: user })).statusCode).toBe(
      403,
    );

    expect((await block(999_999, { seatIds: [s1] })).statusCode).toBe(404);
    expect((await release(999_999, { seatIds: [s1] })).statusCode).toBe(404);
    expect((await call('GET', `/admin/performances/999999/seat-blocks`, { session: admin })).statusCode).toBe(404);
    // A seat of another performance: 404 naming it, nothing blocked.
    const foreign = await block(performance.id, { seatIds: [s1, other.seatIds[0]] });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ details: { seatIds: [other.seatIds[0]] } });
    expect((await release(performance.id, { seatIds: [other.seatIds[0]] })).statusCode).toBe(404);

    expect((await seats(performance.id)).every((seat) => seat.status === 'AVAILABLE')).toBe(true);
    const rows = await db.query('SELECT count(*)::int AS n FROM seat_blocks WHERE performance_id = $1', [
      performance.id,
    ]);
    expect(rows.rows[0].n).toBe(0);
  });

  it('refuses to block a sold seat (409 naming it as sold)', async () => {
    const performance = await newPerformance(1, 4);
    const headers = await buyer();
    const held = await reserve(headers, { performanceId: performance.id, seatIds: [performance.seatIds[0]] });
    const sold = await api.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers,
      payload: { reservationId: held.json().id },
    });
    expect(sold.statusCode, sold.body).toBe(201);
    const refused = await block(performance.id, { seatIds: performance.seatIds });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().details).toEqual({
      seatIds: [performance.seatIds[0]],
      held: [],
      sold: [performance.seatIds[0]],
      truncated: false,
      heldCount: 0,
      soldCount: 1,
    });
    expect((await seats(performance.id, 'status=AVAILABLE')).map((seat) => seat.id)).toEqual(
      performance.seatIds.slice(1),
    );
  });

  it('shows blocked seats in every view and counts them apart from available', async () => {
    const performance = await newPerformance(2, 5);
    const blocked = performance.seatIds.slice(0, 3);
    expect((await block(performance.id, { seatIds: blocked })).statusCode).toBe(200);

    const all = await seats(performance.id);
    expect(all.filter((seat) => seat.status === 'BLOCKED').map((seat) => seat.id)).toEqual(blocked);
    expect((await seats(performance.id, 'status=AVAILABLE')).map((seat) => seat.id)).toEqual(
      performance.seatIds.slice(3),
    );
    expect((await seats(performance.id, 'status=BLOCKED')).map((seat) => seat.id)).toEqual(blocked);

    const map = await call('GET', `/performances/${performance.id}/map`);
    const mapSeats = map
      .json()
      .sections.flatMap((section: { rows: { seats: Seat[] }[] }) => section.rows.flatMap((row) => row.seats));
    expect(mapSeats.filter((seat: Seat) => seat.status === 'BLOCKED').map((seat: Seat) => seat.id)).toEqual(blocked);

    const detail = await call('GET', `/performances/${performance.id}`);
    expect(detail.json()).toMatchObject({ available: 7, held: 0, sold: 0, blocked: 3 });
    const sections = await call('GET', `/performances/${performance.id}/sections`);
    expect(sections.json().items).toEqual([expect.objectContaining({ name: 'Floor', seatsTotal: 10, available: 7 })]);
    const sales = await call('GET', `/performances/${performance.id}/sales`, { session: admin });
    expect(sales.statusCode, sales.body).toBe(200);
    expect(sales.json().totals).toMatchObject({ seatsTotal: 10, available: 7, held: 0, sold: 0, blocked: 3 });

    // A hold of a blocked seat is refused like any taken seat.
    const refused = await reserve(await buyer(), { performanceId: performance.id, seatIds: [blocked[0]] });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().details).toEqual({ seatIds: [blocked[0]] });
    await expectCountsInStep(performance.id);
  });

  it('best-available never offers blocked seats, and offers them again once released', async () => {
    const performance = await newPerformance(1, 6);
    const [s1, s2, s3, s4, s5, s6] = performance.seatIds;
    // The middle is the best; blocked, the pick has to go around it.
    expect((await block(performance.id, { seatIds: [s2, s3, s4, s5] })).statusCode).toBe(200);
    const two = await reserve(await buyer(), { performanceId: performance.id, quantity: 2, together: false });
    expect(two.statusCode, two.body).toBe(201);
    expect([...two.json().seatIds].sort((a: number, b: number) => a - b)).toEqual([s1, s6]);
    const none = await reserve(await buyer(), { performanceId: performance.id, quantity: 1 });
    expect(none.statusCode, none.body).toBe(409);

    expect((await release(performance.id, { seatIds: [s3, s4] })).json().released).toEqual([s3, s4]);
    const pair = await reserve(await buyer(), { performanceId: performance.id, quantity: 2 });
    expect(pair.statusCode, pair.body).toBe(201);
    expect([...pair.json().seatIds].sort((a: number, b: number) => a - b)).toEqual([s3, s4]);
    // A released seat is holdable by id again.
    expect((await release(performance.id, { seatIds: [s2] })).json().released).toEqual([s2]);
    const byId = await reserve(await buyer(), { performanceId: performance.id, seatIds: [s2] });
    expect(byId.statusCode, byId.body).toBe(201);
    expect((await seats(performance.id)).map((seat) => seat.status)).toEqual([
      'HELD',
      'HELD',
      'HELD',
      'HELD',
      'BLOCKED',
      'HELD',
    ]);
    await expectCountsInStep(performance.id);
  });

  it('keeps blocks when Redis lost the performance: the rebuild from PostgreSQL registers them BLOCKED', async () => {
    const performance = await newPerformance(1, 5);
    const blocked = performance.seatIds.slice(1, 3);
    expect((await block(performance.id, { seatIds: blocked })).statusCode).toBe(200);
    await api.app.get(SeatStateStore).removePerformance(performance.id);

    // The first read rebuilds it.
    expect((await seats(performance.id)).filter((seat) => seat.status === 'BLOCKED').map((seat) => seat.id)).toEqual(
      blocked,
    );
    expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({ available: 3, blocked: 2 });
    expect((await seats(performance.id, 'status=AVAILABLE')).map((seat) => seat.id)).not.toContain(blocked[0]);
    const refused = await reserve(await buyer(), { performanceId: performance.id, seatIds: [blocked[0]] });
    expect(refused.statusCode).toBe(409);
    const best = await reserve(await buyer(), { performanceId: performance.id, quantity: 3, together: false });
    expect(best.statusCode, best.body).toBe(201);
    expect(best.json().seatIds).not.toContain(blocked[0]);
    expect(best.json().seatIds).not.toContain(blocked[1]);

    // Lost again, then released: the release rebuilds first and frees the seat.
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    expect((await release(performance.id, { seatIds: [blocked[0]] })).json().released).toEqual([blocked[0]]);
    const byId = await reserve(await buyer(), { performanceId: performance.id, seatIds: [blocked[0]] });
    expect(byId.statusCode, byId.body).toBe(201);
    await expectCountsInStep(performance.id);
  });

  it('a performance with blocked seats is deleted with its blocks', async () => {
    const performance = await newPerformance(1, 3);
    expect((await block(performance.id, { seatIds: performance.seatIds })).statusCode).toBe(200);
    const deleted = await call('DELETE', `/performances/${performance.id}`, { session: admin });
    expect(deleted.statusCode, deleted.body).toBe(204);
    const rows = await db.query('SELECT count(*)::int AS n FROM seat_blocks WHERE performance_id = $1', [
      performance.id,
    ]);
    expect(rows.rows[0].n).toBe(0);
    expect(
      (await call('GET', `/admin/performances/${performance.id}/seat-blocks`, { session: admin })).statusCode,
    ).toBe(404);
  });

  it('a block racing 200 buyers (seat ids and best available) on the same seats: each seat ends held or blocked, never both', async () => {
    const store = api.app.get(SeatBlockStore);
    const original = store.block.bind(store);
    // Rounds 0-1: the buyers first, the block among them (its PostgreSQL lock takes a few round
    // trips, so holds mostly land first). Rounds 2-3: the buyers sent the moment the block sends its
    // script, so their scripts and the block's meet in Redis (the block mostly first).
    for (let round = 0; round < 4; round += 1) {
      const performance = await newPerformance(2, 6);
      const target = performance.seatIds.slice(0, 6);
      const buyers = await Promise.all(Array.from({ length: 200 }, () => buyer()));
      const send = () =>
        buyers.map((headers, i) =>
          i % 4 === 3
            ? reserve(headers, { performanceId: performance.id, quantity: 1 + (i % 2) })
            : reserve(headers, { performanceId: performance.id, seatIds: [target[i % 6]] }),
        );
      let blockAnswer: Awaited<ReturnType<typeof block>>;
      let holds: Awaited<ReturnType<typeof reserve>>[];
      if (round < 2) {
        const at = round === 0 ? 0 : 100;
        const requests = send();
        const answers = await Promise.all([
          ...requests.slice(0, at),
          block(performance.id, { seatIds: target, reason: 'race' }),
          ...requests.slice(at),
        ]);
        blockAnswer = answers[at];
        holds = answers.filter((_, i) => i !== at);
      } else {
        let sent: Promise<Awaited<ReturnType<typeof reserve>>[]> | undefined;
        const spy = vi.spyOn(store, 'block').mockImplementationOnce((performanceId, seatIds) => {
          sent = Promise.all(send());
          return original(performanceId, seatIds);
        });
        blockAnswer = await block(performance.id, { seatIds: target, reason: 'race' });
        spy.mockRestore();
        expect(sent).toBeDefined();
        holds = await sent!;
      }
      expect([200, 409], blockAnswer.body).toContain(blockAnswer.statusCode);
      for (const answer of holds) expect([201, 409], answer.body).toContain(answer.statusCode);
      const heldSeats: number[] = holds
        .filter((answer) => answer.statusCode === 201)
        .flatMap((answer) => answer.json().seatIds);
      expect(new Set(heldSeats).size).toBe(heldSeats.length);

      const letters = await expectCountsInStep(performance.id);
      const blockedNow = Object.keys(letters)
        .filter((id) => letters[id] === 'B')
        .map(Number)
        .sort((a, b) => a - b);
      // Never both: no seat of a hold is blocked; the block took all its seats or none.
      expect(heldSeats.filter((id) => blockedNow.includes(id))).toEqual([]);
      const persisted = await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [
        performance.id,
      ]);
      if (blockAnswer.statusCode === 200) {
        expect(blockedNow).toEqual(target);
        expect(persisted.rows.map((row: { seat_id: number }) => row.seat_id)).toEqual(target);
      } else {
        expect(blockedNow).toEqual([]);
        expect(persisted.rows).toEqual([]);
        const named: number[] = blockAnswer.json().details.held;
        expect(named.length).toBeGreaterThan(0);
        for (const id of named) expect(heldSeats).toContain(id);
      }
      for (const id of heldSeats) expect(letters[id]).toBe('H');
      // The best-available index (the free bitmap behind ?status=AVAILABLE) agrees with the letters.
      expect((await seats(performance.id, 'status=AVAILABLE')).map((seat) => seat.id).sort((a, b) => a - b)).toEqual(
        Object.keys(letters)
          .filter((id) => letters[id] === 'A')
          .map(Number)
          .sort((a, b) => a - b),
      );
    }
  });
});

/**
 * REDIS_WAIT_REPLICAS on a block: the seats' letters must reach that many replicas before the
 * PostgreSQL commit. The single Redis of `int` has no replica: 503, nothing committed, the letters
 * written back (the seats available again); the Cluster of a TEST_REDIS_CLUSTER run has one per
 * primary: 200.
 */
describe('blocked seats wait for REDIS_WAIT_REPLICAS replicas (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' }));
  });
  afterAll(() => close?.());

  it('commits a block only once a replica has it, else answers 503 and keeps nothing', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const seatIds = performance.seatIds.slice(0, 2);
    const answer = await call('POST', `/admin/performances/${performance.id}/seat-blocks`, {
      body: { seatIds },
      session: admin,
    });
    const committed = await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [
      performance.id,
    ]);
    const letters = await api.app.get(Redis).hmget(performanceKeys(performance.id).seats, ...seatIds.map(String));
    if (api.env.REDIS_CLUSTER_NODES) {
      expect(answer.statusCode, answer.body).toBe(200);
      expect(committed.rows.map((row: { seat_id: number }) => row.seat_id)).toEqual(seatIds);
      expect(letters).toEqual(['B', 'B']);
    } else {
      expect(answer.statusCode, answer.body).toBe(503);
      expect(answer.json()).toMatchObject({ statusCode: 503, requestId: expect.any(String) });
      expect(answer.headers['retry-after']).toBe('1');
      expect(committed.rows).toEqual([]);
      expect(letters).toEqual(['A', 'A']);
    }
  });
});
