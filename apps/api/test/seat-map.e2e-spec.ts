import fc from 'fast-check';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { createRedis } from '@app/redis';
import { ApiHarness, createSession, deleteRedisKeys, REDIS_URL, TestSession } from '@app/testing';
import { generateLayout, MAX_QUALITY, SectionInput } from '@app/ticketing';
import { caller } from './purchase-helpers';
import { startTestApi } from './support/api';

interface MapSeat {
  id: number;
  row: number;
  number: number;
  x: number;
  y: number;
  quality: number;
  accessible: boolean;
  companion: boolean;
  status: string;
}
interface MapSection {
  name: string;
  grade: string;
  price: number;
  currency: string;
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
  rows: { row: number; seats: MapSeat[] }[];
}
interface SeatMapBody {
  performanceId: number;
  currency: string;
  focalPoint: { x: number; y: number };
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
  sections: MapSection[];
}

const STARTS_AT = '2030-03-01T19:00:00Z';

/** A small fan: two angled side sections around a ranked centre, with wheelchair spaces. */
const HALL: SectionInput[] = [
  {
    name: 'Left',
    grade: 'R',
    price: 90_000,
    rows: 3,
    seatsPerRow: 4,
    origin: { x: -10, y: 2 },
    angle: -10,
    accessible: [{ row: 1, number: 1 }],
    companions: [{ row: 1, number: 2 }],
  },
  {
    name: 'Centre',
    grade: 'VIP',
    price: 150_000,
    rows: 4,
    seatsPerRow: 6,
    origin: { x: -2.5, y: 1 },
    rank: 1,
    rowSpacing: 1.5,
  },
  { name: 'Right', grade: 'R', price: 90_000, rows: 3, seatsPerRow: 4, origin: { x: 7, y: 1.5 }, angle: 10 },
];
const FOCAL = { x: 0, y: -2 };

const seatsOf = (map: SeatMapBody) => map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats));

describe('seat map (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyers: TestSession[];
  let call: ReturnType<typeof caller>;
  let raw: Redis;

  beforeAll(async () => {
    api = await startTestApi();
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyers = await Promise.all([1, 2, 3].map(() => createSession(api.app)));
    raw = createRedis(api.env, 'test-peek');
  });
  afterAll(async () => {
    raw?.disconnect();
    await api?.close();
  });

  async function createEvent(): Promise<number> {
    const res = await call('POST', '/events', { body: { title: 'Concert', venue: 'Hall' }, session: admin });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function createPerformance(body: object): Promise<number> {
    const res = await call('POST', `/events/${await createEvent()}/performances`, {
      body: { startsAt: STARTS_AT, ...body },
      session: admin,
    });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function getMap(id: number, headers: object = {}) {
    return call('GET', `/performances/${id}/map`, { headers });
  }

  async function holdSeats(buyer: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const res = await call('POST', '/reservations', { body: { performanceId, seatIds }, session: buyer });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function seatPages(performanceId: number): Promise<Map<number, string>> {
    const statuses = new Map<number, string>();
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `/performances/${performanceId}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.statusCode).toBe(200);
      for (const seat of res.json().items) statuses.set(seat.id, seat.status);
      cursor = res.json().nextCursor;
    } while (cursor);
    return statuses;
  }

  it('draws the hall: sections in layout order with bounds, rows and seats placed and scored as the layout says', async () => {
    const id = await createPerformance({ sections: HALL, focalPoint: FOCAL });
    const res = await getMap(id);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const map = res.json() as SeatMapBody;
    expect(map).toMatchObject({ performanceId: id, currency: 'KRW', focalPoint: FOCAL });
    expect(map.sections.map((s) => [s.name, s.grade, s.price, s.currency])).toEqual([
      ['Left', 'R', 90_000, 'KRW'],
      ['Centre', 'VIP', 150_000, 'KRW'],
      ['Right', 'R', 90_000, 'KRW'],
    ]);
    const expected = generateLayout(HALL, FOCAL);
    map.sections.forEach((section, s) => {
      const layout = HALL[s];
      expect(section.rows.map((r) => r.row)).toEqual(Array.from({ length: layout.rows }, (_, i) => i + 1));
      const seats = section.rows.flatMap((r) => r.seats);
      expect(seats.map((seat) => [seat.row, seat.number])).toEqual(
        seats.map((_, k) => [Math.floor(k / layout.seatsPerRow) + 1, (k % layout.seatsPerRow) + 1]),
      );
      expect(seats.map((seat) => seat.x)).toEqual(expected[s].x);
      expect(seats.map((seat) => seat.y)).toEqual(expected[s].y);
      expect(seats.map((seat) => seat.quality)).toEqual(expected[s].quality);
      expect(seats.map((seat) => seat.accessible)).toEqual(expected[s].accessible);
      expect(seats.map((seat) => seat.companion)).toEqual(expected[s].companion);
      const xs = seats.map((seat) => seat.x);
      const ys = seats.map((seat) => seat.y);
      expect(section.bounds).toEqual({
        minX: Math.min(...xs),
        minY: Math.min(...ys),
        maxX: Math.max(...xs),
        maxY: Math.max(...ys),
      });
    });
    const all = seatsOf(map);
    expect(all.filter((seat) => seat.status !== 'AVAILABLE')).toEqual([]);
    expect(all.filter((seat) => seat.accessible).map((seat) => [seat.row, seat.number])).toEqual([[1, 1]]);
    // The ranked centre beats every other seat; the best seat of all is its front middle.
    const centre = map.sections[1].rows.flatMap((r) => r.seats);
    const sides = [...map.sections[0].rows, ...map.sections[2].rows].flatMap((r) => r.seats);
    expect(Math.min(...centre.map((seat) => seat.quality))).toBeGreaterThan(
      Math.max(...sides.map((seat) => seat.quality)),
    );
    expect(Math.max(...centre.map((seat) => seat.quality))).toBe(MAX_QUALITY);
    // Seat ids are the ones the seat pages give, in the same order.
    expect(all.map((seat) => seat.id)).toEqual([...(await seatPages(id)).keys()]);
  });

  it('a request without a layout placement gets the default side-by-side hall in front of (0, 0)', async () => {
    const id = await createPerformance({
      sections: [
        { name: 'A', grade: 'R', price: 1000, rows: 2, seatsPerRow: 3 },
        { name: 'B', grade: 'S', price: 500, rows: 1, seatsPerRow: 2 },
      ],
    });
    const map = (await getMap(id)).json() as SeatMapBody;
    expect(map.focalPoint).toEqual({ x: 0, y: 0 });
    expect(map.bounds).toEqual({ minX: -2.5, minY: 1, maxX: 2.5, maxY: 2 });
    expect(seatsOf(map).map((seat) => [seat.x, seat.y])).toEqual([
      [-2.5, 1],
      [-1.5, 1],
      [-0.5, 1],
      [-2.5, 2],
      [-1.5, 2],
      [-0.5, 2],
      [1.5, 1],
      [2.5, 1],
    ]);
  });

  it('lays the live statuses over it: holds, purchases and releases, with a strong ETag and 304 while nothing changed', async () => {
    const id = await createPerformance({ sections: HALL, focalPoint: FOCAL });
    const first = await getMap(id);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    const unchanged = await getMap(id, { 'if-none-match': etag });
    expect(unchanged.statusCode).toBe(304);
    expect(unchanged.body).toBe('');
    expect(unchanged.headers.etag).toBe(etag);
    expect((await getMap(id, { 'if-none-match': `"other", W/${etag}` })).statusCode).toBe(304);
    expect((await getMap(id, { 'if-none-match': '"other"' })).statusCode).toBe(200);

    const ids = seatsOf(first.json() as SeatMapBody).map((seat) => seat.id);
    const kept = await holdSeats(buyers[0], id, ids.slice(0, 2));
    const bought = await holdSeats(buyers[1], id, ids.slice(2, 5));
    const released = await holdSeats(buyers[2], id, [ids[5]]);
    expect((await call('POST', '/purchases', { body: { reservationId: bought }, session: buyers[1] })).statusCode).toBe(
      201,
    );
    expect((await call('DELETE', `/reservations/${released}`, { session: buyers[2] })).statusCode).toBe(204);

    const after = await getMap(id, { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    const statuses = new Map(seatsOf(after.json() as SeatMapBody).map((seat) => [seat.id, seat.status]));
    expect(ids.slice(0, 6).map((seatId) => statuses.get(seatId))).toEqual([
      'HELD',
      'HELD',
      'SOLD',
      'SOLD',
      'SOLD',
      'AVAILABLE',
    ]);
    expect([...statuses.values()].filter((status) => status !== 'AVAILABLE')).toHaveLength(5);
    expect(statuses).toEqual(await seatPages(id));
    expect((await getMap(id, { 'if-none-match': after.headers.etag as string })).statusCode).toBe(304);

    expect((await call('DELETE', `/reservations/${kept}`, { session: buyers[0] })).statusCode).toBe(204);
    const freed = await getMap(id, { 'if-none-match': after.headers.etag as string });
    expect(freed.statusCode).toBe(200);
    const freedStatuses = seatsOf(freed.json() as SeatMapBody).map((seat) => seat.status);
    expect(freedStatuses.filter((status) => status === 'HELD')).toHaveLength(0);
  });

  it('follows an admin write made on another replica (the catalog version): new prices, a new ETag', async () => {
    const id = await createPerformance({ sections: HALL, focalPoint: FOCAL });
    const before = await getMap(id);
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query(`UPDATE seats SET price = 80000 WHERE performance_id = $1 AND section = 'Left'`, [id]);
    } finally {
      await db.end();
    }
    await raw.set('cache:catalog-version', `another-replica-${Date.now()}`);
    const after = await getMap(id, { 'if-none-match': before.headers.etag as string });
    expect(after.statusCode).toBe(200);
    expect((after.json() as SeatMapBody).sections[0].price).toBe(80_000);
  });

  it('an 8,000-seat venue: one answer within the test timeout whose statuses match the seat pages', async () => {
    const sections = [1, 2, 3, 4].map((n) => ({ name: `S${n}`, grade: 'R', price: 1000, rows: 40, seatsPerRow: 50 }));
    const id = await createPerformance({ sections });
    const first = await getMap(id);
    expect(first.statusCode).toBe(200);
    const ids = seatsOf(first.json() as SeatMapBody).map((seat) => seat.id);
    expect(ids).toHaveLength(8_000);
    await holdSeats(buyers[0], id, [ids[0], ids[7_999]]);
    const bought = await holdSeats(buyers[1], id, [ids[4_000], ids[4_001], ids[4_100]]);
    expect((await call('POST', '/purchases', { body: { reservationId: bought }, session: buyers[1] })).statusCode).toBe(
      201,
    );
    const map = (await getMap(id)).json() as SeatMapBody;
    const statuses = new Map(seatsOf(map).map((seat) => [seat.id, seat.status]));
    expect(statuses.get(ids[0])).toBe('HELD');
    expect(statuses.get(ids[4_100])).toBe('SOLD');
    expect(statuses).toEqual(await seatPages(id));
  }, 240_000);

  it('rebuilds a lost seat state before answering, and answers 404 once the performance is deleted', async () => {
    const id = await createPerformance({ sections: HALL, focalPoint: FOCAL });
    const before = await getMap(id);
    await deleteRedisKeys(REDIS_URL, api.env.REDIS_KEY_PREFIX);
    const rebuilt = await getMap(id);
    expect(rebuilt.statusCode).toBe(200);
    expect(seatsOf(rebuilt.json() as SeatMapBody)).toEqual(seatsOf(before.json() as SeatMapBody));
    expect((await call('DELETE', `/performances/${id}`, { session: admin })).statusCode).toBe(204);
    // The static map kept in this process goes with the catalog version the delete moved.
    expect((await getMap(id)).statusCode).toBe(404);
  }, 120_000);

  it('404 for an unknown performance, 400 for an id that is not one, with the uniform error body', async () => {
    const missing = await getMap(987_654);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      statusCode: 404,
      error: 'Not Found',
      path: '/api/v1/performances/987654/map',
    });
    for (const bad of ['abc', '0', '-1', '1.5']) {
      const res = await call('GET', `/performances/${bad}/map`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });

  describe('layout input', () => {
    const valid = (): Record<string, unknown>[] => HALL.map((section) => JSON.parse(JSON.stringify(section)));

    async function refused(body: object): Promise<void> {
      const eventId = await createEvent();
      const res = await call('POST', `/events/${eventId}/performances`, {
        body: { startsAt: STARTS_AT, ...body },
        session: admin,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        path: `/api/v1/events/${eventId}/performances`,
      });
      const listed = await call('GET', `/events/${eventId}/performances`);
      expect(listed.json().items).toEqual([]);
    }

    it.each<[string, (sections: Record<string, unknown>[]) => object]>([
      ['overlapping sections', (s) => ({ sections: [s[0], { ...s[1], origin: { x: -9, y: 2.5 } }, s[2]] })],
      [
        'an origin on one section only',
        (s) => ({ sections: [s[0], { ...s[1], origin: undefined, angle: undefined }] }),
      ],
      [
        'a companion away from every wheelchair space',
        (s) => ({ sections: [{ ...s[0], companions: [{ row: 3, number: 4 }] }] }),
      ],
      [
        'an accessible seat outside the section',
        (s) => ({ sections: [{ ...s[0], accessible: [{ row: 4, number: 1 }] }] }),
      ],
      ['a null origin', (s) => ({ sections: [{ ...s[0], origin: null }] })],
      ['a zero seat pitch', (s) => ({ sections: [{ ...s[0], seatPitch: 0 }] })],
      ['a focal point that is not a point', () => ({ sections: valid(), focalPoint: { x: 'near' } })],
    ])('refuses %s (400, nothing created)', async (_, build) => {
      await refused(build(valid()));
    });

    it('refuses generated bad layouts with 400 and creates nothing', async () => {
      const number = fc.oneof(
        fc.constant(null),
        fc.constant('1'),
        fc.constant(Number.MAX_SAFE_INTEGER),
        fc.constant(-1e9),
        fc.constant(true),
        fc.constant([1]),
        fc.constant({}),
      );
      const mutation = fc.oneof(
        fc.record({ field: fc.constantFrom('seatPitch', 'rowSpacing', 'angle', 'rank'), value: number }),
        fc.record({ field: fc.constant('seatPitch'), value: fc.double({ min: -10, max: 0.099, noNaN: true }) }),
        fc.record({ field: fc.constant('rank'), value: fc.constantFrom(0, 101, 1.5) }),
        fc.record({
          field: fc.constant('origin'),
          value: fc.oneof(number, fc.record({ x: number, y: fc.constant(0) })),
        }),
        fc.record({
          field: fc.constantFrom('accessible', 'companions'),
          value: fc.oneof(
            number,
            fc.constant([{ row: 0, number: 1 }]),
            fc.constant([{ row: 1, number: 7 }]),
            fc.constant([{ row: 1 }]),
            fc.constant([{ row: 2, number: 3 }]),
          ),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 }), mutation, async (index, { field, value }) => {
          const sections = valid();
          sections[index] = { ...sections[index], [field]: value };
          // An accessible seat at row 2 number 3 is a fine layout: make it clash with a companion.
          if (field === 'accessible' && JSON.stringify(value) === '[{"row":2,"number":3}]') {
            sections[index].companions = [{ row: 2, number: 3 }];
          }
          await refused({ sections });
        }),
        { numRuns: 40 },
      );
    });
  });
});
