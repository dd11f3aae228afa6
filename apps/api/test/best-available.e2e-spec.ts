import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performanceKeys, SEATING_FORMAT } from '@app/ticketing';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import { ERROR_KEYS } from './support/http';
import { createShowOfSections, ON_SALE, SectionInput } from './support/shows';

type Headers = { authorization: string };

/**
 * `POST /reservations` in its best-available form over HTTP: the answer and its `arrangement`,
 * the uniform 400s of a body mixing the two forms, 409 and 404, the `noOrphanSeats` rule of the
 * seat-id form, seating data rebuilt when Redis lost it, and the OpenAPI document.
 */
describe('best-available reservations over HTTP', () => {
  let { api, admin, redis, call, close } = {} as AdminApi; // set before the first test
  beforeAll(async () => ({ api, admin, redis, call, close } = await startAdminApi({ MAX_SEATS_PER_RESERVATION: '4' })));
  afterAll(() => close?.());

  /** A fresh buyer's headers (an account row, a token signed directly). */
  const buyer = async () => (await signedBuyer(api)).headers;

  /** The hall of most tests: Floor (VIP, 3 rows of 8) and Balcony (R, 2 rows of 6). */
  const HALL: SectionInput[] = [
    { name: 'Floor', grade: 'VIP', price: 3000, rows: 3, seatsPerRow: 8 },
    { name: 'Balcony', grade: 'R', price: 1000, rows: 2, seatsPerRow: 6 },
  ];

  /** A performance on sale of `sections` (HALL without), with the other performance fields in `extra`. */
  async function newPerformance({
    sections = HALL,
    ...extra
  }: { sections?: SectionInput[] } & Record<string, unknown> = {}): Promise<{ id: number; noOrphanSeats: boolean }> {
    const { id, created } = await createShowOfSections(call, admin, {
      title: 'Best seats',
      performance: { ...ON_SALE, ...extra },
      sections,
    });
    return { id, noOrphanSeats: created.noOrphanSeats as boolean };
  }

  const reserve = (headers: Headers, payload: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });

  it('holds the best seats together and says how: 201 with arrangement, seat ids and amount', async () => {
    const performance = await newPerformance();
    const headers = await buyer();
    const answer = await reserve(headers, { performanceId: performance.id, quantity: 3 });
    expect(answer.statusCode).toBe(201);
    const hold = answer.json();
    expect(hold).toMatchObject({
      performanceId: performance.id,
      status: 'HELD',
      arrangement: 'TOGETHER',
      amount: 9000,
    });
    expect(hold.seatIds).toHaveLength(3);
    const again = await api.app.inject({ method: 'GET', url: `/api/v1/reservations/${hold.id}`, headers });
    expect(again.json()).toMatchObject({ arrangement: 'TOGETHER', seatIds: hold.seatIds });
    const map = (await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/map` })).json();
    const seats = map.sections.flatMap((section: { rows: { seats: { id: number; status: string }[] }[] }) =>
      section.rows.flatMap((row) => row.seats),
    );
    for (const id of hold.seatIds) expect(seats.find((seat: { id: number }) => seat.id === id).status).toBe('HELD');
    // A grade narrows the seats to its sections.
    const balcony = await reserve(await buyer(), { performanceId: performance.id, quantity: 2, grade: 'R' });
    expect(balcony.json()).toMatchObject({ amount: 2000, arrangement: 'TOGETHER' });
  });

  it('finds a grade in any casing, sections written "VIP" and "vip" as one grade (seat filter ?grade= too)', async () => {
    const performance = await newPerformance({
      sections: [
        { name: 'Floor', grade: 'VIP', price: 3000, rows: 1, seatsPerRow: 4 },
        { name: 'Box', grade: 'vip', price: 5000, rows: 1, seatsPerRow: 4 },
        { name: 'Balcony', grade: 'R', price: 1000, rows: 2, seatsPerRow: 6 },
      ],
    });
    // Floor's 4 and Box's 4 are the grade's 8 seats, whichever spelling asks.
    for (const grade of ['vip', 'VIP']) {
      const answer = await reserve(await buyer(), { performanceId: performance.id, quantity: 4, grade });
      expect(answer.statusCode, grade).toBe(201);
      expect([3000 * 4, 5000 * 4]).toContain(answer.json().amount);
    }
    const none = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, grade: 'Vip' });
    expect(none.statusCode).toBe(409);
    const unknown = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, grade: 'S' });
    expect(unknown.statusCode).toBe(404);
    const page = await api.app.inject({
      method: 'GET',
      url: `/api/v1/performances/${performance.id}/seats?grade=Vip&limit=100`,
    });
    expect(page.statusCode).toBe(200);
    expect(
      page
        .json()
        .items.map((seat: { section: string }) => seat.section)
        .sort(),
    ).toEqual([...Array(4).fill('Box'), ...Array(4).fill('Floor')]);
  });

  it('takes section names in scripts that write marks (Thai, Devanagari) and finds them case-folded (Ön Sıra, Straße)', async () => {
    const performance = await newPerformance({
      sections: [
        { name: 'ที่นั่ง', grade: 'บาลโคนี', price: 1000, rows: 1, seatsPerRow: 4 },
        { name: 'बालकनी', grade: 'R', price: 2000, rows: 1, seatsPerRow: 4, rowLabels: ['कि'] },
        { name: 'Ön Sıra', grade: 'VIP', price: 3000, rows: 1, seatsPerRow: 4 },
        { name: 'Straße', grade: 'S', price: 4000, rows: 1, seatsPerRow: 4 },
      ],
    });
    const cases: [Record<string, string>, number][] = [
      [{ section: 'ที่นั่ง' }, 1000],
      [{ grade: 'บาลโคนี' }, 1000],
      [{ section: 'बालकनी' }, 2000],
      [{ section: 'ÖN SIRA' }, 3000],
      [{ section: 'STRASSE' }, 4000],
    ];
    for (const [scope, price] of cases) {
      const answer = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, ...scope });
      expect(answer.statusCode, JSON.stringify(scope)).toBe(201);
      expect(answer.json().amount).toBe(price);
    }
    const page = await api.app.inject({
      method: 'GET',
      url: `/api/v1/performances/${performance.id}/seats?section=${encodeURIComponent('strasse')}&limit=10`,
    });
    expect(page.json().items.map((seat: { section: string }) => seat.section)).toEqual(Array(4).fill('Straße'));
    // Two sections a reader cannot tell apart are one name: refused at creation.
    const event = await api.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: admin.headers,
      payload: { title: 'Twins', venue: 'Hall' },
    });
    const twins = await api.app.inject({
      method: 'POST',
      url: `/api/v1/events/${event.json().id}/performances`,
      headers: admin.headers,
      payload: {
        startsAt: '2030-01-01T19:00:00Z',
        sections: [
          { name: 'Straße', grade: 'S', price: 1, rows: 1, seatsPerRow: 1 },
          { name: 'STRASSE', grade: 'S', price: 1, rows: 1, seatsPerRow: 1 },
        ],
      },
    });
    expect(twins.statusCode).toBe(400);
    // Marks that draw nothing (a variation selector) would make two names no reader tells apart.
    for (const name of ['Floor\uFE0F', 'Floor\u{E0100}', '\u3164']) {
      const invisible = await api.app.inject({
        method: 'POST',
        url: `/api/v1/events/${event.json().id}/performances`,
        headers: admin.headers,
        payload: {
          startsAt: '2030-01-01T19:00:00Z',
          sections: [{ name, grade: 'S', price: 1, rows: 1, seatsPerRow: 1 }],
        },
      });
      expect(invisible.statusCode, JSON.stringify(name)).toBe(400);
    }
  });

  it('answers 400 with the uniform body for a body mixing the forms, and changes nothing', async () => {
    const performance = await newPerformance();
    const headers = await buyer();
    const bad = [
      { performanceId: performance.id },
      { performanceId: performance.id, quantity: 2, seatIds: [1] },
      { performanceId: performance.id, quantity: 2, grade: 'VIP', section: 'Floor' },
      { performanceId: performance.id, seatIds: [1], together: false },
      { performanceId: performance.id, quantity: 0 },
      { performanceId: performance.id, quantity: 101 },
      { performanceId: performance.id, quantity: 2, together: 'yes' },
      { performanceId: performance.id, quantity: 2, accessible: 1 },
      { performanceId: performance.id, quantity: 2, section: '' },
      { performanceId: performance.id, quantity: 2, extra: true },
    ];
    for (const payload of bad) {
      const answer = await reserve(headers, payload);
      expect(answer.statusCode, JSON.stringify(payload)).toBe(400);
      expect(Object.keys(answer.json())).toEqual(
        expect.arrayContaining(['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp']),
      );
    }
    expect(await redis.hget(performanceKeys(performance.id).counts, 'held')).toBe('0');
    // The message says what is wrong: neither form, or both.
    expect((await reserve(headers, { performanceId: performance.id })).json().message).toBe(
      'give seatIds (chosen seats) or quantity (best available)',
    );
    expect((await reserve(headers, { performanceId: performance.id, quantity: 2, seatIds: [1] })).json().message).toBe(
      'give either seatIds (chosen seats) or quantity (best available), not both',
    );
  });

  it('answers 409 NoSeatsFit when nothing fits (nothing held), 404 for an unknown section', async () => {
    const performance = await newPerformance();
    const balcony = (headers: Headers, together = true) =>
      reserve(headers, { performanceId: performance.id, quantity: 4, section: 'Balcony', together });
    // Balcony: 2 rows of 6. Each row takes a party of 4 (leaving 2, no single), then the two
    // pairs left sit in adjacent rows, then nothing is left.
    expect((await balcony(await buyer())).json()).toMatchObject({ arrangement: 'TOGETHER' });
    expect((await balcony(await buyer())).json()).toMatchObject({ arrangement: 'TOGETHER' });
    expect((await balcony(await buyer())).json()).toMatchObject({ arrangement: 'ADJACENT_ROWS' });
    const conflict = await balcony(await buyer());
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({
      message:
        'no seats are free: every seat of this performance in section Balcony is sold, held or blocked (off sale) (held seats come back when their holds end)',
      details: { quantity: 4, together: true, accessible: false, soldOut: true },
    });
    expect((await balcony(await buyer(), false)).statusCode).toBe(409);
    expect(await redis.hget(performanceKeys(performance.id).counts, 'held')).toBe('12');
    const unknown = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, section: 'Pit' });
    expect(unknown.statusCode).toBe(404);
  });

  it('answers a seat list filtered by a section or grade the performance lacks as the hold does (404, same body), not as sold out', async () => {
    const performance = await newPerformance();
    const headers = await buyer();
    const seats = (query: string) =>
      api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/seats?${query}` });
    const comparable = (body: Record<string, unknown>) => {
      const { statusCode, error, message, details } = body;
      return { statusCode, error, message, details };
    };
    for (const [query, scope] of [
      ['section=nope', { section: 'nope' }],
      ['grade=Z', { grade: 'Z' }],
      ['section=nope&status=AVAILABLE', { section: 'nope' }],
    ] as const) {
      const listed = await seats(query);
      const held = await reserve(headers, { performanceId: performance.id, quantity: 1, ...scope });
      expect(listed.statusCode, `${query} -> ${listed.body}`).toBe(404);
      expect(held.statusCode, held.body).toBe(404);
      expect(comparable(listed.json()), query).toEqual(comparable(held.json()));
      expect(Object.keys(listed.json()).sort()).toEqual([...ERROR_KEYS, 'details'].sort());
    }
    // A known section in another casing lists its seats; one sold out would list none, with 200.
    const known = await seats('section=balcony&limit=100');
    expect(known.statusCode, known.body).toBe(200);
    expect(known.json().items.length).toBeGreaterThan(0);
  });

  it('a sold-out performance without accessible seats answers 409 NoSeatsFit saying so, no wheelchair note', async () => {
    const performance = await newPerformance({
      sections: [{ name: 'Balcony', grade: 'R', price: 1000, rows: 1, seatsPerRow: 4 }],
    });
    const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/seats?limit=4` });
    const seatIds: number[] = page.json().items.map((seat: { id: number }) => seat.id);
    // Seats 1 and 3 taken: two seats free, none side by side.
    const taken = await reserve(await buyer(), { performanceId: performance.id, seatIds: [seatIds[0], seatIds[2]] });
    expect(taken.statusCode).toBe(201);
    const pair = await reserve(await buyer(), { performanceId: performance.id, quantity: 2 });
    expect(pair.statusCode).toBe(409);
    expect(pair.json().message).toBe(
      'no 2 seats together (one row, or adjacent rows of one section) are available for this request',
    );
    expect(pair.json().details).toEqual({ quantity: 2, together: true, accessible: false });
    const rest = await reserve(await buyer(), { performanceId: performance.id, seatIds: [seatIds[1], seatIds[3]] });
    expect(rest.statusCode).toBe(201);
    const one = await reserve(await buyer(), { performanceId: performance.id, quantity: 1 });
    expect(one.statusCode).toBe(409);
    expect(one.json()).toMatchObject({
      message:
        'no seats are free: every seat of this performance is sold, held or blocked (off sale) (held seats come back when their holds end)',
      details: { quantity: 1, together: true, accessible: false, soldOut: true },
    });
    const grade = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, grade: 'R' });
    expect(grade.json()).toMatchObject({
      statusCode: 409,
      message:
        'no seats are free: every seat of this performance in grade R is sold, held or blocked (off sale) (held seats come back when their holds end)',
    });
  });

  it('noOrphanSeats: set at creation or by PATCH; a seat-id hold leaving a single seat gets 409 SingleSeatLeft', async () => {
    const performance = await newPerformance({ noOrphanSeats: true });
    expect(performance.noOrphanSeats).toBe(true);
    const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/seats?limit=3` });
    const [first, second] = page.json().items.map((seat: { id: number }) => seat.id);
    const refused = await reserve(await buyer(), { performanceId: performance.id, seatIds: [second] });
    expect(refused.statusCode).toBe(409);
    // Taking seat 2 would leave seat 1 alone at the row's end: the answer names seat 1.
    expect(refused.json()).toMatchObject({
      message: expect.stringContaining(`would leave seat ${first} empty on its own`),
      details: { singleSeatId: first, besideSeatId: second },
    });
    const off = await api.app.inject({
      method: 'PATCH',
      url: `/api/v1/performances/${performance.id}`,
      headers: admin.headers,
      payload: { noOrphanSeats: false },
    });
    expect(off.json()).toMatchObject({ noOrphanSeats: false });
    expect((await reserve(await buyer(), { performanceId: performance.id, seatIds: [second] })).statusCode).toBe(201);
    expect((await reserve(await buyer(), { performanceId: performance.id, seatIds: [first] })).statusCode).toBe(201);
  });

  it('noOrphanSeats applies to best available: no TOGETHER_WITH_GAP, no placement leaving a single seat (409 NoSeatsFit)', async () => {
    /** A performance of `rows` rows of 6 whose seats 5 and 6 of every row are held: 1–4 free. */
    const hall = async (rows: number, noOrphanSeats: boolean) => {
      const performance = await newPerformance({
        noOrphanSeats,
        sections: [{ name: 'Balcony', grade: 'R', price: 1000, rows, seatsPerRow: 6 }],
      });
      const page = await api.app.inject({
        method: 'GET',
        url: `/api/v1/performances/${performance.id}/seats?limit=100`,
      });
      const seats: { id: number; row: number; number: number }[] = page.json().items;
      const ends = seats.filter((seat) => seat.number >= 5).map((seat) => seat.id);
      expect((await reserve(await buyer(), { performanceId: performance.id, seatIds: ends })).statusCode).toBe(201);
      return performance;
    };
    const three = async (performanceId: number, extra: Record<string, unknown> = {}) =>
      reserve(await buyer(), { performanceId, quantity: 3, ...extra });

    // One row, seats 1–4 free: any 3 of them leave a single seat.
    const without = await hall(1, false);
    expect((await three(without.id)).json()).toMatchObject({ arrangement: 'TOGETHER_WITH_GAP' });
    const oneRow = await hall(1, true);
    for (const together of [true, false]) {
      const refused = await three(oneRow.id, { together });
      expect(refused.statusCode, `together: ${together}`).toBe(409);
      expect(refused.json()).toMatchObject({
        message: expect.stringMatching(
          /^best available found no placement of 3 seats that leaves no single empty seat/,
        ),
        details: { quantity: 3, together, singleLeft: true },
      });
    }
    expect(await redis.hget(performanceKeys(oneRow.id).counts, 'held')).toBe('2');
    const four = await reserve(await buyer(), { performanceId: oneRow.id, quantity: 4 });
    expect(four.json()).toMatchObject({ arrangement: 'TOGETHER' });

    // Two such rows: the party sits in both rows (2 + 1), leaving no single, rather than with a gap.
    const twoRows = await hall(2, true);
    const adjacent = await three(twoRows.id);
    expect(adjacent.statusCode, adjacent.body).toBe(201);
    expect(adjacent.json()).toMatchObject({ arrangement: 'ADJACENT_ROWS' });
  });

  it('adjacent rows of three seats: a party of 4 gets 3 + 1, leaving no single, even with noOrphanSeats', async () => {
    // The seating trial's M3 (docs/trials/seating-2026-12-06.md): equal shares (2 + 2) left a
    // single in each row, and with noOrphanSeats the request was refused.
    const performance = await newPerformance({
      noOrphanSeats: true,
      sections: [{ name: 'Box', grade: 'B', price: 500, rows: 4, seatsPerRow: 3 }],
    });
    const four = await reserve(await buyer(), { performanceId: performance.id, quantity: 4, section: 'Box' });
    expect(four.statusCode, four.body).toBe(201);
    expect(four.json().arrangement).toBe('ADJACENT_ROWS');
    const places = four
      .json()
      .seats.map((seat: { rowLabel: string; number: number }) => `${seat.rowLabel}${seat.number}`)
      .sort();
    expect(places).toEqual(['A1', 'A2', 'A3', 'B1']);
  });

  it('an accessible request in a section without wheelchair spaces: 409 saying so, apart from spaces all taken', async () => {
    // The seating trial's L2: both read "no accessible seat … is available".
    const performance = await newPerformance({
      sections: [
        { name: 'Stalls', grade: 'A', price: 1000, rows: 2, seatsPerRow: 5, accessible: [{ row: 2, number: 1 }] },
        { name: 'Gallery', grade: 'B', price: 500, rows: 2, seatsPerRow: 4 },
      ],
    });
    const gallery = await reserve(await buyer(), {
      performanceId: performance.id,
      quantity: 1,
      accessible: true,
      section: 'Gallery',
    });
    expect(gallery.statusCode).toBe(409);
    expect(gallery.json()).toMatchObject({
      message:
        'no accessible seat (a wheelchair space) exists in this performance in section Gallery: it has none at all, sold or free (another section or grade may have some)',
      details: { quantity: 1, together: true, accessible: true, noAccessibleSeats: true },
    });
    const space = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, accessible: true });
    expect(space.statusCode, space.body).toBe(201);
    const taken = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, accessible: true });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().message).toBe('no accessible seat (a wheelchair space) is available for this request');
    expect(taken.json().details).toEqual({ quantity: 1, together: true, accessible: true });
  });

  it('noOrphanSeats: a wheelchair user alone books the space between companion seats at a row end, both forms', async () => {
    // The seating trial's M1 (docs/trials/seating-2026-12-06.md): the companion seat left alone
    // at the row's start counted as a single, and the space could not be sold to them at all.
    const performance = await newPerformance({
      noOrphanSeats: true,
      sections: [
        {
          name: 'Stalls',
          grade: 'R',
          price: 1000,
          rows: 2,
          seatsPerRow: 6,
          accessible: [
            { row: 2, number: 2 },
            { row: 1, number: 2 },
          ],
          companions: [
            { row: 2, number: 1 },
            { row: 2, number: 3 },
            { row: 1, number: 1 },
            { row: 1, number: 3 },
          ],
        },
      ],
    });
    const best = await reserve(await buyer(), { performanceId: performance.id, quantity: 1, accessible: true });
    expect(best.statusCode, best.body).toBe(201);
    expect(best.json()).toMatchObject({ arrangement: 'TOGETHER_WITH_GAP', seats: [{ number: 2 }] });
    const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/seats?limit=100` });
    const seats: { id: number; row: number; number: number }[] = page.json().items;
    const other = seats.filter((seat) => seat.number === 2 && !best.json().seatIds.includes(seat.id));
    expect(other).toHaveLength(1);
    const byId = await reserve(await buyer(), { performanceId: performance.id, seatIds: [other[0].id] });
    expect(byId.statusCode, byId.body).toBe(201);
  });

  it('builds the seating data again when Redis lost it', async () => {
    const performance = await newPerformance();
    const keys = performanceKeys(performance.id);
    await redis.unlink(keys.seating, keys.free, keys.runs, keys.seatInfo);
    const answer = await reserve(await buyer(), { performanceId: performance.id, quantity: 2 });
    expect(answer.statusCode).toBe(201);
    // 'ready' holds the data's format (SEATING_FORMAT, 7 since the sections' records are bytes).
    expect(await redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
    // Data of the format before (ready = 6: an `s<index>` text field a section, no `sections`) is
    // built again too.
    await redis.hdel(keys.seating, 'sections');
    await redis.hset(keys.seating, 'ready', 6, 's0', '0,2,800,3,2');
    expect((await reserve(await buyer(), { performanceId: performance.id, quantity: 2 })).statusCode).toBe(201);
    expect(await redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
    expect(await redis.hexists(keys.seating, 'sections')).toBe(1);
  });

  it('documents both request forms and the arrangement in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const body = doc.components.schemas.ReservationCreateDto.properties;
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['seatIds', 'quantity', 'grade', 'section', 'together', 'accessible']),
    );
    expect(doc.components.schemas.ReservationResponseDto.properties.arrangement.enum).toEqual([
      'TOGETHER',
      'TOGETHER_WITH_GAP',
      'ADJACENT_ROWS',
      'SPLIT',
    ]);
  });
});
