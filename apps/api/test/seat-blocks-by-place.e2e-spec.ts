import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BLOCK_WORK_PER_ROW,
  MAX_BLOCK_SELECTION_WORK,
  MAX_SEATS_PER_BLOCK_SELECTION,
  performanceKeys,
  SeatBlockStore,
} from '@app/ticketing';
import { AdminApi, listSeats, signedBuyer, startAdminApi } from './support/api';
import { expectCountsInStep as expectCountsInStepOf } from './support/races';

type Headers = Record<string, string>;
interface Seat {
  id: number;
  section: string;
  row: number;
  rowLabel: string;
  number: number;
  status: string;
}
interface Section {
  name: string;
  rows: number;
  seatsPerRow: number;
  rowLabels?: string[];
}

/**
 * Blocking and releasing seats by place (`section`, `rows`, `numbers`) instead of by id: each
 * form, the 400s and 404s, all or nothing on a partly held row, `onlyFree`, release by place, the
 * views, the audit, and a block of a section racing 200 buyers (never both held and blocked,
 * counts exact; on the Cluster too in a TEST_REDIS_CLUSTER run). Real PostgreSQL and Redis.
 */
describe('blocked seats by place (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({ MAX_SEATS_PER_RESERVATION: '4' }));
  });
  afterAll(() => close?.());

  /** A fresh buyer's headers (an account row, a token signed directly). */
  const buyer = async () => (await signedBuyer(api)).headers;

  /** A performance on sale with `sections`; its seats in layout order. */
  async function newPerformance(sections: Section[]): Promise<{ id: number; seats: Seat[] }> {
    const event = await call('POST', '/events', { body: { title: 'Blocks by place', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-01-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: sections.map((section) => ({ grade: 'R', price: 1000, ...section })),
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    return { id, seats: await seats(id) };
  }

  const seats = (performanceId: number, query = '') => listSeats<Seat>(call, performanceId, query);

  /** Seat ids of `all` where `where` holds, ascending. */
  const idsWhere = (all: Seat[], where: (seat: Seat) => boolean) =>
    all
      .filter(where)
      .map((seat) => seat.id)
      .sort((a, b) => a - b);

  const block = (performanceId: number, body: object, session = admin) =>
    call('POST', `/admin/performances/${performanceId}/seat-blocks`, { body, session });
  const release = (performanceId: number, body: object, session = admin) =>
    call('POST', `/admin/performances/${performanceId}/seat-blocks/release`, { body, session });
  const reserve = (headers: Headers, payload: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });

  /** The seat letters and counts in Redis agree; answers the letters (see expectCountsInStep). */
  const expectCountsInStep = (performanceId: number) => expectCountsInStepOf(redis, performanceId);

  const audits = async (performanceId: number) =>
    (
      await db.query(
        `SELECT action, details FROM admin_audit_log WHERE subject_id = $1 AND action LIKE 'seat.%' ORDER BY id`,
        [`performance:${performanceId}`],
      )
    ).rows as { action: string; details: Record<string, unknown> }[];

  it('blocks a whole section, rows of one, and a seat range in rows; the views show BLOCKED; releases by place; audits the selection', async () => {
    const performance = await newPerformance([
      { name: 'Stalls', rows: 3, seatsPerRow: 6 },
      { name: 'Balcony', rows: 2, seatsPerRow: 4, rowLabels: ['BB1', 'BB2'] },
    ]);
    const all = performance.seats;
    const balcony = idsWhere(all, (seat) => seat.section === 'Balcony');
    const rowA = idsWhere(all, (seat) => seat.section === 'Stalls' && seat.rowLabel === 'A');
    const rangeBC = idsWhere(
      all,
      (seat) => seat.section === 'Stalls' && ['B', 'C'].includes(seat.rowLabel) && seat.number >= 2 && seat.number <= 4,
    );

    // A section, named in another casing: all of its seats.
    const bySection = await block(performance.id, { section: 'balcony', reason: 'closed balcony' });
    expect(bySection.statusCode, bySection.body).toBe(200);
    expect(bySection.json()).toEqual({ performanceId: performance.id, blocked: balcony, alreadyBlocked: [] });
    // Rows of a section, labels in any casing.
    const byRow = await block(performance.id, { section: 'Stalls', rows: ['a'], reason: 'camera platform' });
    expect(byRow.json()).toEqual({ performanceId: performance.id, blocked: rowA, alreadyBlocked: [] });
    // A seat range in rows.
    const byRange = await block(performance.id, {
      section: 'Stalls',
      rows: ['B', 'C'],
      numbers: { from: 2, to: 4 },
      reason: 'production',
    });
    expect(byRange.json()).toEqual({ performanceId: performance.id, blocked: rangeBC, alreadyBlocked: [] });
    // The same range again, by seat numbers across every row of the section: row A is blocked already.
    const again = await block(performance.id, { section: 'Stalls', numbers: { from: 2, to: 4 } });
    expect(again.json()).toEqual({
      performanceId: performance.id,
      blocked: [],
      alreadyBlocked: idsWhere(all, (seat) => seat.section === 'Stalls' && seat.number >= 2 && seat.number <= 4),
    });

    const blocked = [...balcony, ...rowA, ...rangeBC].sort((a, b) => a - b);
    expect(idsWhere(await seats(performance.id), (seat) => seat.status === 'BLOCKED')).toEqual(blocked);
    expect(idsWhere(await seats(performance.id, 'status=BLOCKED'), () => true)).toEqual(blocked);
    const map = await call('GET', `/performances/${performance.id}/map`);
    expect(map.statusCode, map.body).toBe(200);
    const mapSeats: Seat[] = map
      .json()
      .sections.flatMap((section: { rows: { seats: Seat[] }[] }) => section.rows.flatMap((row) => row.seats));
    expect(idsWhere(mapSeats, (seat) => seat.status === 'BLOCKED')).toEqual(blocked);
    expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({
      available: all.length - blocked.length,
      blocked: blocked.length,
    });
    const listed = await call('GET', `/admin/performances/${performance.id}/seat-blocks?limit=100`, { session: admin });
    expect(
      listed
        .json()
        .items.map((item: { seatId: number }) => item.seatId)
        .sort((a: number, b: number) => a - b),
    ).toEqual(blocked);
    expect(listed.json().items).toContainEqual(
      expect.objectContaining({ seatId: rowA[0], section: 'Stalls', rowLabel: 'A', reason: 'camera platform' }),
    );

    // Release by place: seats 1-2 of row A (released) and of row B (seat 2 released; seat 1, not
    // blocked, is not among the seats a release by place resolves to, so not named).
    const rowB = (number: number) =>
      idsWhere(all, (seat) => seat.section === 'Stalls' && seat.rowLabel === 'B' && seat.number === number)[0];
    const released = await release(performance.id, {
      section: 'STALLS',
      rows: ['A', 'b'],
      numbers: { from: 1, to: 2 },
    });
    expect(released.statusCode, released.body).toBe(200);
    const releasedIds = [...rowA.slice(0, 2), rowB(2)].sort((a, b) => a - b);
    expect(released.json()).toEqual({ performanceId: performance.id, released: releasedIds, notBlocked: [] });
    expect((await release(performance.id, { section: 'Balcony', rows: ['bb2'] })).json().released).toEqual(
      idsWhere(all, (seat) => seat.rowLabel === 'BB2'),
    );
    // A released seat is holdable again.
    const held = await reserve(await buyer(), { performanceId: performance.id, seatIds: [rowA[0]] });
    expect(held.statusCode, held.body).toBe(201);

    // The audit: the selection as asked, the section as stored, the seats each request changed.
    expect(await audits(performance.id)).toEqual([
      {
        action: 'seat.block',
        details: {
          performanceId: performance.id,
          seatIds: balcony,
          reason: 'closed balcony',
          selection: { section: 'balcony' },
          section: 'Balcony',
        },
      },
      {
        action: 'seat.block',
        details: {
          performanceId: performance.id,
          seatIds: rowA,
          reason: 'camera platform',
          selection: { section: 'Stalls', rows: ['a'] },
          section: 'Stalls',
        },
      },
      {
        action: 'seat.block',
        details: {
          performanceId: performance.id,
          seatIds: rangeBC,
          reason: 'production',
          selection: { section: 'Stalls', rows: ['B', 'C'], numbers: { from: 2, to: 4 } },
          section: 'Stalls',
        },
      },
      {
        action: 'seat.release',
        details: {
          performanceId: performance.id,
          seatIds: releasedIds,
          selection: { section: 'STALLS', rows: ['A', 'b'], numbers: { from: 1, to: 2 } },
          section: 'Stalls',
        },
      },
      {
        action: 'seat.release',
        details: {
          performanceId: performance.id,
          seatIds: idsWhere(all, (seat) => seat.rowLabel === 'BB2'),
          selection: { section: 'Balcony', rows: ['bb2'] },
          section: 'Balcony',
        },
      },
    ]);
    await expectCountsInStep(performance.id);
  });

  it('answers 400 and 404 with the uniform body for both forms, neither, unknown places, an empty or too large selection', async () => {
    // One section just over the bound: 41 rows of 50 seats.
    const rows = Math.ceil((MAX_SEATS_PER_BLOCK_SELECTION + 1) / 50);
    const performance = await newPerformance([
      { name: 'Arena', rows, seatsPerRow: 50 },
      { name: 'Box', rows: 1, seatsPerRow: 4 },
    ]);
    const [s1] = performance.seats.map((seat) => seat.id);
    const expectError = async (
      answer: Awaited<ReturnType<typeof block>>,
      status: number,
      message: RegExp,
      label: string,
    ) => {
      expect(answer.statusCode, `${label}: ${answer.body}`).toBe(status);
      expect(answer.json(), label).toMatchObject({
        statusCode: status,
        error: status === 400 ? 'Bad Request' : 'Not Found',
        requestId: expect.any(String),
        path: expect.stringContaining(`/admin/performances/${performance.id}/seat-blocks`),
        timestamp: expect.any(String),
      });
      expect([answer.json().message].flat().join('; '), label).toMatch(message);
    };

    for (const send of [block, release]) {
      const label = send === block ? 'block' : 'release';
      await expectError(
        await send(performance.id, { seatIds: [s1], section: 'Box' }),
        400,
        /not both/,
        `${label} both`,
      );
      await expectError(await send(performance.id, {}), 400, /either seatIds or a selection/, `${label} neither`);
      await expectError(await send(performance.id, { rows: ['A'] }), 400, /needs section/, `${label} rows alone`);
      await expectError(
        await send(performance.id, { numbers: { from: 1, to: 2 } }),
        400,
        /needs section/,
        `${label} numbers alone`,
      );
      await expectError(
        await send(performance.id, { section: 'Box', numbers: { from: 3, to: 2 } }),
        400,
        /numbers.from must not be after numbers.to/,
        `${label} reversed range`,
      );
      await expectError(
        await send(performance.id, { section: 'Box', numbers: { from: 0, to: 2 } }),
        400,
        /from/,
        `${label} seat 0`,
      );
      const noRows = await send(performance.id, { section: 'Box', rows: [] });
      await expectError(noRows, 400, /rows/, `${label} no rows`);
      expect(noRows.json().message, label).toEqual(['rows must have at least 1 item']);
      await expectError(
        await send(performance.id, { section: 'Box', rows: ['A', 'a'] }),
        400,
        /row twice/,
        `${label} a row twice`,
      );
      // Written twice alike is the field's own error, listed with the body's other field errors.
      const twice = await send(performance.id, { section: 'Box', rows: ['A', 'A'], extra: 1 });
      await expectError(twice, 400, /row twice/, `${label} a label twice`);
      expect(twice.json().message, label).toEqual(
        expect.arrayContaining(['rows must not name a row twice', 'property extra should not exist']),
      );
      await expectError(
        await send(performance.id, { section: 'Box', rows: ['A<'] }),
        400,
        /row label/,
        `${label} bad label`,
      );
      await expectError(await send(performance.id, { section: '' }), 400, /section/, `${label} empty section`);
      await expectError(
        await send(performance.id, { section: 'Balcony' }),
        404,
        /section "Balcony" not found/,
        `${label} unknown section`,
      );
      const unknownRows = await send(performance.id, { section: 'box', rows: ['A', 'Q', 'Z'] });
      await expectError(unknownRows, 404, /rows "Q", "Z" of section "Box" not found/, `${label} unknown rows`);
      expect(unknownRows.json().details).toEqual({ performanceId: performance.id, section: 'Box', rows: ['Q', 'Z'] });
      await expectError(
        await send(performance.id, { section: 'Box', numbers: { from: 50, to: 60 } }),
        400,
        /matches no seat: section "Box", seats 50-60/,
        `${label} empty selection`,
      );
      if (send === block) {
        // A release counts the blocked seats of the selection only (none here: below).
        const tooLarge = await send(performance.id, { section: 'Arena' });
        await expectError(tooLarge, 400, /more than the 2000 one request may touch: split it/, `${label} too large`);
        expect(tooLarge.json().details).toMatchObject({ matched: rows * 50, max: MAX_SEATS_PER_BLOCK_SELECTION });
      }
      await expectError(
        await send(performance.id, { section: 'Box', extra: 1 }),
        400,
        /extra/,
        `${label} unknown field`,
      );
      expect((await send(999_999, { section: 'Box' })).statusCode).toBe(404);
    }
    await expectError(await block(performance.id, { section: 'Box', onlyFree: 'yes' }), 400, /onlyFree/, 'onlyFree');
    // The bound itself is fine: the first 40 rows of the arena.
    const labels = [
      ...new Set(performance.seats.filter((seat) => seat.section === 'Arena').map((seat) => seat.rowLabel)),
    ];
    const atBound = await block(performance.id, {
      section: 'Arena',
      rows: labels.slice(0, MAX_SEATS_PER_BLOCK_SELECTION / 50),
    });
    expect(atBound.statusCode, atBound.body).toBe(200);
    expect(atBound.json().blocked).toHaveLength(MAX_SEATS_PER_BLOCK_SELECTION);
    const freed = await release(performance.id, {
      section: 'Arena',
      rows: labels.slice(0, MAX_SEATS_PER_BLOCK_SELECTION / 50),
    });
    expect(freed.json().released).toHaveLength(MAX_SEATS_PER_BLOCK_SELECTION);
    expect((await seats(performance.id)).every((seat) => seat.status === 'AVAILABLE')).toBe(true);
    await expectCountsInStep(performance.id);
  });

  it('bounds the work of the rows a selection touches, not only its seats: a column across long rows is refused, split it is taken', async () => {
    // 21 rows of 1,000 seats: seats 1-2 of every row are 42 seats, in rows of 21,000 seats.
    const performance = await newPerformance([{ name: 'Promenade', rows: 21, seatsPerRow: 1000 }]);
    const refused = await block(performance.id, { section: 'Promenade', numbers: { from: 1, to: 2 } });
    expect(refused.statusCode, refused.body).toBe(400);
    const work = 21_000 + 21 * BLOCK_WORK_PER_ROW;
    expect(refused.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      requestId: expect.any(String),
      message: expect.stringMatching(
        new RegExp(
          `42 seats lie in 21 rows of 21000 seats: ${work} seat slots of work .* more than the 20000 .* split it`,
        ),
      ),
      details: { matched: 42, rows: 21, rowSeats: 21_000, work, maxWork: MAX_BLOCK_SELECTION_WORK },
    });
    expect(await seats(performance.id, 'status=BLOCKED')).toEqual([]);
    // Nineteen of the rows are within the bound: taken, and released by place the same way.
    const labels = [...new Set(performance.seats.map((seat) => seat.rowLabel))].slice(0, 19);
    const taken = await block(performance.id, { section: 'Promenade', rows: labels, numbers: { from: 1, to: 2 } });
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.json().blocked).toHaveLength(38);
    // A release's bound counts the blocked seats' rows: the whole section holds only those 38.
    const freed = await release(performance.id, { section: 'Promenade' });
    expect(freed.statusCode, freed.body).toBe(200);
    expect(freed.json()).toEqual({ performanceId: performance.id, released: taken.json().blocked, notBlocked: [] });
    await expectCountsInStep(performance.id);
  });

  it('bounds seat ids by the same work: one per long row is refused, and so are few rows in large sections; split, taken', async () => {
    // 21 rows of 1,000 seats: seat 1 of each row is 21 ids in rows of 21,000 seats.
    const long = await newPerformance([{ name: 'Promenade', rows: 21, seatsPerRow: 1000 }]);
    const firsts = idsWhere(long.seats, (seat) => seat.number === 1);
    const refused = await block(long.id, { seatIds: firsts });
    expect(refused.statusCode, refused.body).toBe(400);
    // The section's slot is counted once after its 21 rows: 21 row slots.
    const work = 21_000 + 21 * BLOCK_WORK_PER_ROW + 21;
    expect(refused.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      requestId: expect.any(String),
      message: expect.stringMatching(
        new RegExp(
          `^the 21 seat ids name seats in 21 rows of 21000 seats, in sections of 21 row slots to refresh: ${work} seat slots of work .* more than the ${MAX_BLOCK_SELECTION_WORK} one request may do: split them`,
        ),
      ),
      details: { seats: 21, rows: 21, rowSeats: 21_000, sectionSlots: 21, work, maxWork: MAX_BLOCK_SELECTION_WORK },
    });
    expect(await seats(long.id, 'status=BLOCKED')).toEqual([]);
    const taken = await block(long.id, { seatIds: firsts.slice(0, 19) });
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.json().blocked).toEqual(firsts.slice(0, 19));
    // A release by id counts the blocked seats among its ids: all 21 named, 19 blocked.
    const freed = await release(long.id, { seatIds: firsts });
    expect(freed.statusCode, freed.body).toBe(200);
    expect(freed.json()).toEqual({
      performanceId: long.id,
      released: firsts.slice(0, 19),
      notBlocked: firsts.slice(19),
    });
    await expectCountsInStep(long.id);

    // Three sections of 1,000 one-seat rows, 8 rows of each: each section's slot is refreshed
    // after each of its rows, reading its 1,000 row slots: 24,000 of them.
    const wide = await newPerformance(['North', 'East', 'South'].map((name) => ({ name, rows: 1000, seatsPerRow: 1 })));
    const eight = (section: string) => idsWhere(wide.seats, (seat) => seat.section === section && seat.row <= 8);
    const spread = await block(wide.id, { seatIds: [...eight('North'), ...eight('East'), ...eight('South')] });
    expect(spread.statusCode, spread.body).toBe(400);
    expect(spread.json().details).toEqual({
      seats: 24,
      rows: 24,
      rowSeats: 24,
      sectionSlots: 24_000,
      work: 24 + 24 * BLOCK_WORK_PER_ROW + 24_000,
      maxWork: MAX_BLOCK_SELECTION_WORK,
    });
    const two = await block(wide.id, { seatIds: [...eight('North'), ...eight('East')] });
    expect(two.statusCode, two.body).toBe(200);
    expect(two.json().blocked).toHaveLength(16);
    await expectCountsInStep(wide.id);
  });

  it('counts a section refresh per row the block changes: ids of rows blocked already do not lift a section past the recount', async () => {
    // Row 1 of each of three sections of 1,000 one-seat rows blocked first; then rows 1-9 of each
    // named: nine rows a section by the ids, but the script changes eight a section and refreshes
    // each section after each of them (24,000 row slots), as for rows 1-8 named alone (refused above).
    const wide = await newPerformance(['North', 'East', 'South'].map((name) => ({ name, rows: 1000, seatsPerRow: 1 })));
    const rowsUpTo = (last: number) =>
      idsWhere(wide.seats, (seat) => seat.row <= last && ['North', 'East', 'South'].includes(seat.section));
    expect((await block(wide.id, { seatIds: rowsUpTo(1) })).statusCode).toBe(200);
    const nine = await block(wide.id, { seatIds: rowsUpTo(9) });
    expect(nine.statusCode, nine.body).toBe(400);
    expect(nine.json().details).toMatchObject({ sectionSlots: 24_000, maxWork: MAX_BLOCK_SELECTION_WORK });
    expect(await seats(wide.id, 'status=BLOCKED')).toHaveLength(3);
    await expectCountsInStep(wide.id);
  });

  it('a release by place resolves against the blocked seats: a section over the bound with five blocked is released', async () => {
    const performance = await newPerformance([{ name: 'Arena', rows: 41, seatsPerRow: 50 }]);
    const five = performance.seats.slice(0, 5).map((seat) => seat.id);
    expect((await block(performance.id, { seatIds: five })).statusCode).toBe(200);
    const answer = await release(performance.id, { section: 'arena' });
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toEqual({ performanceId: performance.id, released: five, notBlocked: [] });
    expect(await seats(performance.id, 'status=BLOCKED')).toEqual([]);
    // Again: nothing blocked there any more, no change and no error.
    const again = await release(performance.id, { section: 'Arena' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual({ performanceId: performance.id, released: [], notBlocked: [] });
    expect((await audits(performance.id)).map((row) => [row.action, row.details.seatIds])).toEqual([
      ['seat.block', five],
      ['seat.release', five],
    ]);
    await expectCountsInStep(performance.id);
  });

  it('a row with a held and a sold seat: 409 naming them, nothing blocked; onlyFree blocks the rest and names the skipped', async () => {
    const performance = await newPerformance([{ name: 'Stalls', rows: 2, seatsPerRow: 6 }]);
    const rowA = idsWhere(performance.seats, (seat) => seat.rowLabel === 'A');
    const rowB = idsWhere(performance.seats, (seat) => seat.rowLabel === 'B');
    const holder = await buyer();
    const held = await reserve(holder, { performanceId: performance.id, seatIds: [rowA[2]] });
    expect(held.statusCode, held.body).toBe(201);
    const payer = await buyer();
    const toSell = await reserve(payer, { performanceId: performance.id, seatIds: [rowA[4]] });
    const sold = await api.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers: payer,
      payload: { reservationId: toSell.json().id },
    });
    expect(sold.statusCode, sold.body).toBe(201);

    const refused = await block(performance.id, { section: 'Stalls', rows: ['A'] });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringContaining('onlyFree'),
      details: {
        seatIds: [rowA[2], rowA[4]],
        held: [rowA[2]],
        sold: [rowA[4]],
        truncated: false,
        heldCount: 1,
        soldCount: 1,
      },
    });
    expect(idsWhere(await seats(performance.id), (seat) => seat.status === 'BLOCKED')).toEqual([]);
    expect(await audits(performance.id)).toEqual([]);

    const partial = await block(performance.id, {
      section: 'Stalls',
      rows: ['A', 'B'],
      onlyFree: true,
      reason: 'sightline',
    });
    expect(partial.statusCode, partial.body).toBe(200);
    const free = [...rowA.filter((id) => id !== rowA[2] && id !== rowA[4]), ...rowB];
    expect(partial.json()).toEqual({
      performanceId: performance.id,
      blocked: free,
      alreadyBlocked: [],
      skipped: { held: [rowA[2]], sold: [rowA[4]] },
    });
    const after = await seats(performance.id);
    expect(idsWhere(after, (seat) => seat.status === 'BLOCKED')).toEqual(free);
    expect(after.find((seat) => seat.id === rowA[2])?.status).toBe('HELD');
    expect(after.find((seat) => seat.id === rowA[4])?.status).toBe('SOLD');
    // The held seat's buyer keeps it; released, it stays on sale (a retry of onlyFree blocks it then).
    const freedHold = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/reservations/${held.json().id}`,
      headers: holder,
    });
    expect(freedHold.statusCode, freedHold.body).toBe(204);
    const retry = await block(performance.id, { section: 'Stalls', rows: ['A'], onlyFree: true });
    expect(retry.json()).toEqual({
      performanceId: performance.id,
      blocked: [rowA[2]],
      alreadyBlocked: rowA.filter((id) => id !== rowA[2] && id !== rowA[4]),
      skipped: { held: [], sold: [rowA[4]] },
    });
    // onlyFree by seat ids too.
    expect((await block(performance.id, { seatIds: [rowA[4], rowB[0]], onlyFree: true })).json()).toEqual({
      performanceId: performance.id,
      blocked: [],
      alreadyBlocked: [rowB[0]],
      skipped: { held: [], sold: [rowA[4]] },
    });
    const persisted = await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [
      performance.id,
    ]);
    expect(persisted.rows.map((row: { seat_id: number }) => row.seat_id)).toEqual(
      [...free, rowA[2]].sort((a, b) => a - b),
    );
    expect(await audits(performance.id)).toEqual([
      {
        action: 'seat.block',
        details: {
          performanceId: performance.id,
          seatIds: free,
          reason: 'sightline',
          selection: { section: 'Stalls', rows: ['A', 'B'] },
          section: 'Stalls',
          onlyFree: true,
          skipped: { held: [rowA[2]], sold: [rowA[4]] },
        },
      },
      {
        action: 'seat.block',
        details: {
          performanceId: performance.id,
          seatIds: [rowA[2]],
          reason: null,
          selection: { section: 'Stalls', rows: ['A'] },
          section: 'Stalls',
          onlyFree: true,
          skipped: { held: [], sold: [rowA[4]] },
        },
      },
    ]);
    await expectCountsInStep(performance.id);
  });

  it('a 409 on a large selection names the lowest 100 seats and counts all of them; its details keep one shape', async () => {
    const performance = await newPerformance([{ name: 'Stalls', rows: 3, seatsPerRow: 50 }]);
    // 120 seats shown sold in Redis (as unflushed sales are), counts left alone: nothing is changed.
    const soldIds = performance.seats
      .slice(0, 120)
      .map((seat) => seat.id)
      .sort((a, b) => a - b);
    await redis.hset(performanceKeys(performance.id).seats, ...soldIds.flatMap((id) => [String(id), 'S']));
    const answer = await block(performance.id, { section: 'Stalls' });
    expect(answer.statusCode, answer.body).toBe(409);
    expect(answer.json()).toMatchObject({
      error: 'Conflict',
      message: expect.stringMatching(/^seats held or sold cannot be blocked: 120 seats, the first 100: /),
      details: {
        seatIds: soldIds.slice(0, 100),
        held: [],
        sold: soldIds.slice(0, 100),
        truncated: true,
        heldCount: 0,
        soldCount: 120,
      },
    });
    const small = await block(performance.id, { section: 'Stalls', rows: ['A'], numbers: { from: 1, to: 2 } });
    expect(small.statusCode, small.body).toBe(409);
    expect(small.json().details).toEqual({
      seatIds: soldIds.slice(0, 2),
      held: [],
      sold: soldIds.slice(0, 2),
      truncated: false,
      heldCount: 0,
      soldCount: 2,
    });
    expect(await seats(performance.id, 'status=BLOCKED')).toEqual([]);
  });

  it('a section named alike in casing only (an older performance: Straße and STRASSE) with no exact match is a 400 naming both', async () => {
    const performance = await newPerformance([
      { name: 'Straße', rows: 1, seatsPerRow: 2 },
      { name: 'Other', rows: 1, seatsPerRow: 2 },
    ]);
    // Sections are unique by folded name today; an older performance may hold both spellings.
    await db.query(`UPDATE seats SET section = 'STRASSE' WHERE performance_id = $1 AND section = 'Other'`, [
      performance.id,
    ]);
    for (const send of [block, release]) {
      const answer = await send(performance.id, { section: 'strasse' });
      expect(answer.statusCode, answer.body).toBe(400);
      expect(answer.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        requestId: expect.any(String),
        message: expect.stringContaining('section "strasse" is ambiguous: it names "Straße", "STRASSE"'),
        details: { section: 'strasse', sections: ['Straße', 'STRASSE'] },
      });
    }
    const exact = await block(performance.id, { section: 'STRASSE' });
    expect(exact.statusCode, exact.body).toBe(200);
    expect(exact.json().blocked).toEqual(idsWhere(performance.seats, (seat) => seat.section === 'Other'));
  });

  it('rows named alike in casing: two labels for one row are a repeat (400); rows aa and AA of one hall, each written exactly, are both taken', async () => {
    const performance = await newPerformance([{ name: 'Box', rows: 3, seatsPerRow: 2, rowLabels: ['aa', 'BB', 'CC'] }]);
    for (const send of [block, release]) {
      const repeat = await send(performance.id, { section: 'Box', rows: ['AA', 'BB', 'aa'] });
      expect(repeat.statusCode, repeat.body).toBe(400);
      expect(repeat.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: 'rows "AA", "aa" name one row twice ("aa" of section "Box"): give each row once',
        details: { section: 'Box', row: 'aa', rows: ['AA', 'aa'] },
      });
    }
    // An older performance may hold rows alike in casing only (labels are unique by folded form today).
    await db.query(`UPDATE seats SET row_label = 'AA' WHERE performance_id = $1 AND "row" = 2`, [performance.id]);
    const ambiguous = await block(performance.id, { section: 'Box', rows: ['Aa'] });
    expect(ambiguous.statusCode, ambiguous.body).toBe(400);
    expect(ambiguous.json().details).toEqual({ section: 'Box', row: 'Aa', rows: ['aa', 'AA'] });
    const both = await block(performance.id, { section: 'Box', rows: ['aa', 'AA'] });
    expect(both.statusCode, both.body).toBe(200);
    expect(both.json().blocked).toEqual(idsWhere(performance.seats, (seat) => seat.row <= 2));
    const one = await release(performance.id, { section: 'Box', rows: ['AA'] });
    expect(one.json().released).toEqual(idsWhere(performance.seats, (seat) => seat.row === 2));
    await expectCountsInStep(performance.id);
  });

  it('P7: odd bodies and fields answer 4xx with the uniform body, never 5xx', async () => {
    const performance = await newPerformance([{ name: 'Box', rows: 2, seatsPerRow: 4 }]);
    const bodies: unknown[] = [
      null,
      [],
      'x',
      5,
      { section: 'Box', numbers: { from: 1, to: 2, extra: 1 } },
      { section: 'Box', numbers: '1-4' },
      { section: 'Box', numbers: [1, 2] },
      { section: 'Box', numbers: { from: '1', to: '2' } },
      { section: 'Box', rows: 'A' },
      { section: 'Box', rows: [1] },
      { section: 'Box', rows: ['\u0301'] },
      { section: 123 },
      { section: null },
      { section: 'Box', seatIds: null },
      { section: 'Box', onlyFree: 'true' },
    ];
    for (const url of ['seat-blocks', 'seat-blocks/release']) {
      for (const body of bodies) {
        const answer = await api.app.inject({
          method: 'POST',
          url: `/api/v1/admin/performances/${performance.id}/${url}`,
          headers: { authorization: `Bearer ${admin.accessToken ?? ''}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        const label = `${url} ${JSON.stringify(body)}: ${answer.body}`;
        expect(answer.statusCode, label).toBeGreaterThanOrEqual(400);
        expect(answer.statusCode, label).toBeLessThan(500);
        expect(answer.json(), label).toMatchObject({ statusCode: answer.statusCode, requestId: expect.any(String) });
      }
    }
    expect((await release(performance.id, { section: 'Box', onlyFree: true })).statusCode).toBe(400);
    // A fullwidth name folds to the section's (NFKC), as every lookup of a section does.
    expect((await block(performance.id, { section: 'ＢＯＸ' })).statusCode).toBe(200);
    expect(await seats(performance.id, 'status=AVAILABLE')).toEqual([]);
  });

  it('a section block (all or none, and onlyFree) racing 200 buyers on its seats: each seat ends held or blocked, never both', async () => {
    const store = api.app.get(SeatBlockStore);
    const original = store.block.bind(store);
    // Rounds 0-1 all or none, 2-3 onlyFree. Even rounds: the block among the buyers' requests;
    // odd rounds: the buyers sent the moment the block sends its script, so they meet in Redis.
    for (let round = 0; round < 4; round += 1) {
      const onlyFree = round >= 2;
      const performance = await newPerformance([
        { name: 'Box', rows: 2, seatsPerRow: 6 },
        { name: 'Floor', rows: 1, seatsPerRow: 6 },
      ]);
      const target = idsWhere(performance.seats, (seat) => seat.section === 'Box');
      const buyers = await Promise.all(Array.from({ length: 200 }, () => buyer()));
      const send = () =>
        buyers.map((headers, i) =>
          i % 4 === 3
            ? reserve(headers, { performanceId: performance.id, quantity: 1 + (i % 2) })
            : reserve(headers, { performanceId: performance.id, seatIds: [target[i % target.length]] }),
        );
      const body = { section: 'Box', reason: 'race', ...(onlyFree ? { onlyFree: true } : {}) };
      let blockAnswer: Awaited<ReturnType<typeof block>>;
      let holds: Awaited<ReturnType<typeof reserve>>[];
      if (round % 2 === 0) {
        const requests = send();
        const answers = await Promise.all([
          ...requests.slice(0, 100),
          block(performance.id, body),
          ...requests.slice(100),
        ]);
        blockAnswer = answers[100];
        holds = answers.filter((_, i) => i !== 100);
      } else {
        let sent: Promise<Awaited<ReturnType<typeof reserve>>[]> | undefined;
        const spy = vi.spyOn(store, 'block').mockImplementationOnce((performanceId, seatIds, options) => {
          sent = Promise.all(send());
          return original(performanceId, seatIds, options);
        });
        blockAnswer = await block(performance.id, body);
        spy.mockRestore();
        expect(sent).toBeDefined();
        holds = await sent!;
      }
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
      expect(heldSeats.filter((id) => blockedNow.includes(id))).toEqual([]);
      for (const id of heldSeats) expect(letters[id]).toBe('H');
      const persisted = (
        await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [performance.id])
      ).rows.map((row: { seat_id: number }) => row.seat_id);
      expect(persisted).toEqual(blockedNow);
      if (onlyFree) {
        expect(blockAnswer.statusCode, blockAnswer.body).toBe(200);
        const answer = blockAnswer.json();
        expect(answer.blocked).toEqual(blockedNow);
        expect(answer.skipped.sold).toEqual([]);
        // Every seat of the section: blocked by the block, or skipped as held by a buyer who got it.
        expect([...answer.blocked, ...answer.skipped.held].sort((a, b) => a - b)).toEqual(target);
        for (const id of answer.skipped.held) expect(heldSeats).toContain(id);
      } else if (blockAnswer.statusCode === 200) {
        expect(blockedNow).toEqual(target);
      } else {
        expect(blockAnswer.statusCode, blockAnswer.body).toBe(409);
        expect(blockedNow).toEqual([]);
        const named: number[] = blockAnswer.json().details.held;
        expect(named.length).toBeGreaterThan(0);
        for (const id of named) expect(heldSeats).toContain(id);
      }
      // The best-available index agrees with the letters.
      expect(idsWhere(await seats(performance.id, 'status=AVAILABLE'), () => true)).toEqual(
        Object.keys(letters)
          .filter((id) => letters[id] === 'A')
          .map(Number)
          .sort((a, b) => a - b),
      );
    }
  });
});
