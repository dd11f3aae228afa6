import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedis } from '@app/redis';
import { HoldService, performanceKeys } from '@app/ticketing';
import { ApiHarness, deleteRedisKeys, REDIS_URL, TestSession } from '@app/testing';
import { caller } from './purchase-helpers';
import { startApiWithSessions } from './support/api';

const LAYOUT = [
  { name: 'Floor', grade: 'VIP', price: 200000, rows: 5, seatsPerRow: 20 },
  { name: 'Stand', grade: 'R', price: 120000, rows: 10, seatsPerRow: 15 },
];
const LAYOUT_SEATS = 5 * 20 + 10 * 15;

describe('catalog: events, performances, seats (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let user: TestSession;
  let raw: Redis;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    ({ api, admin, user } = await startApiWithSessions());
    call = caller(api.app);
    // The app's kind of client: also right on a TEST_REDIS_CLUSTER run.
    raw = createRedis(api.env, 'test-peek');
  });
  afterAll(async () => {
    raw?.disconnect();
    await api?.close();
  });

  async function createEvent(title = 'Concert'): Promise<number> {
    const res = await call('POST', '/events', { body: { title, venue: 'Hall' }, session: admin });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function createPerformance(eventId: number, extra: object = {}): Promise<{ id: number; totalSeats: number }> {
    const res = await call('POST', `/events/${eventId}/performances`, {
      body: { startsAt: '2027-03-01T19:00:00+09:00', sections: LAYOUT, ...extra },
      session: admin,
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  async function walkSeats(performanceId: number, query = '', limit = 30): Promise<{ id: number; status: string }[]> {
    const seen: { id: number; status: string }[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 1000; guard += 1) {
      const res = await call(
        'GET',
        `/performances/${performanceId}/seats?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error('pagination did not end');
  }

  describe('admin writes', () => {
    it.each([
      ['POST', '/events', { title: 'x', venue: 'y' }],
      ['PATCH', '/events/1', { title: 'x' }],
      ['DELETE', '/events/1', undefined],
      ['POST', '/events/1/performances', { startsAt: '2027-01-01T00:00:00Z', sections: LAYOUT }],
    ])('%s %s: 401 without a token, 403 for a user', async (method, url, body) => {
      expect((await call(method, url, { body })).statusCode).toBe(401);
      const forbidden = await call(method, url, { body, session: user });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    });

    it('creates, updates and deletes an event', async () => {
      const id = await createEvent('Before');
      const updated = await call('PATCH', `/events/${id}`, { body: { title: 'After' }, session: admin });
      expect(updated.statusCode).toBe(200);
      expect(updated.json()).toMatchObject({ id, title: 'After', venue: 'Hall', currency: 'KRW' });
      expect((await call('DELETE', `/events/${id}`, { session: admin })).statusCode).toBe(204);
      expect((await call('GET', `/events/${id}`)).statusCode).toBe(404);
      expect((await call('DELETE', `/events/${id}`, { session: admin })).statusCode).toBe(404);
    });

    it('refuses to delete an event with sold seats (409), and keeps it', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId);
      const seat = (await walkSeats(performance.id, '', 5))[0];
      // The purchase script marks sold seats `S` and moves the counters in one step; do the same.
      const keys = performanceKeys(performance.id);
      await raw.hset(keys.seats, String(seat.id), 'S');
      await raw.hincrby(keys.counts, 'available', -1);
      await raw.hincrby(keys.counts, 'sold', 1);
      const res = await call('DELETE', `/events/${eventId}`, { session: admin });
      expect(res.statusCode).toBe(409);
      expect((await call('GET', `/events/${eventId}`)).statusCode).toBe(200);
    });
  });

  describe('performances and seat generation', () => {
    it('generates every seat of the layout, in PostgreSQL and in Redis', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId, { salesOpenAt: '2027-01-01T10:00:00+09:00' });
      expect(performance).toMatchObject({
        eventId,
        totalSeats: LAYOUT_SEATS,
        startsAt: '2027-03-01T10:00:00.000Z',
        salesOpenAt: '2027-01-01T01:00:00.000Z',
        currency: 'KRW',
      });
      const detail = await call('GET', `/performances/${performance.id}`);
      expect(detail.json()).toMatchObject({ available: LAYOUT_SEATS, held: 0, sold: 0, currency: 'KRW' });

      const seats = await walkSeats(performance.id);
      expect(seats).toHaveLength(LAYOUT_SEATS);
      expect(new Set(seats.map((s) => s.id)).size).toBe(LAYOUT_SEATS);
      expect(seats[0]).toMatchObject({
        section: 'Floor',
        row: 1,
        rowLabel: 'A',
        number: 1,
        grade: 'VIP',
        price: 200000,
        currency: 'KRW',
        status: 'AVAILABLE',
      });
      expect(seats[LAYOUT_SEATS - 1]).toMatchObject({
        section: 'Stand',
        row: 10,
        rowLabel: 'J',
        number: 15,
        grade: 'R',
      });

      const db = new Client({ connectionString: api.env.DATABASE_URL });
      await db.connect();
      const { rows } = await db.query(
        'SELECT count(*)::int AS n, min(position) AS lo, max(position) AS hi FROM seats WHERE performance_id = $1',
        [performance.id],
      );
      await db.end();
      expect(rows[0]).toEqual({ n: LAYOUT_SEATS, lo: 1, hi: LAYOUT_SEATS });
    });

    it('creates a 50,000-seat stadium in one request', async () => {
      const eventId = await createEvent('Stadium');
      const started = Date.now();
      const res = await call('POST', `/events/${eventId}/performances`, {
        body: {
          startsAt: '2027-05-05T18:00:00Z',
          sections: [
            { name: 'Floor', grade: 'VIP', price: 250000, rows: 100, seatsPerRow: 100 },
            { name: 'Upper', grade: 'A', price: 90000, rows: 400, seatsPerRow: 100 },
          ],
        },
        session: admin,
      });
      expect(res.statusCode).toBe(201);
      console.log(`50,000-seat performance created in ${Date.now() - started} ms`);
      const performance = res.json();
      expect(performance.totalSeats).toBe(50_000);
      expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({ available: 50_000 });
      const deep = await call('GET', `/performances/${performance.id}/seats?limit=3`);
      expect(deep.json().items).toHaveLength(3);
    });

    it.each([
      ['no sections', { startsAt: '2027-01-01T00:00:00Z' }],
      ['empty sections', { startsAt: '2027-01-01T00:00:00Z', sections: [] }],
      ['no startsAt', { sections: LAYOUT }],
      ['startsAt not a date', { startsAt: 'tomorrow', sections: LAYOUT }],
      ['zero rows', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], rows: 0 }] }],
      ['fractional seats', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], seatsPerRow: 2.5 }] }],
      ['negative price', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], price: -1 }] }],
      [
        'a price with a fraction (not minor units)',
        { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], price: 10.5 }] },
      ],
      ['price as text', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], price: '100' }] }],
      ['empty name', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], name: '' }] }],
      ['unknown field', { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], vip: true }] }],
      ['duplicate section names', { startsAt: '2027-01-01T00:00:00Z', sections: [LAYOUT[0], LAYOUT[0]] }],
      [
        'sales open after the show',
        { startsAt: '2027-01-01T00:00:00Z', salesOpenAt: '2027-02-01T00:00:00Z', sections: LAYOUT },
      ],
      [
        'over 100,000 seats',
        { startsAt: '2027-01-01T00:00:00Z', sections: [{ ...LAYOUT[0], rows: 1000, seatsPerRow: 1000 }] },
      ],
    ])('refuses a layout with %s (400) and creates nothing', async (_name, body) => {
      const eventId = await createEvent();
      const res = await call('POST', `/events/${eventId}/performances`, { body, session: admin });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect((await call('GET', `/events/${eventId}/performances`)).json().items).toEqual([]);
    });

    it('answers 404 for a performance of an unknown event', async () => {
      const res = await call('POST', '/events/999999/performances', {
        body: { startsAt: '2027-01-01T00:00:00Z', sections: LAYOUT },
        session: admin,
      });
      expect(res.statusCode).toBe(404);
    });
  });

  describe('listing', () => {
    it('walks every event once, in order, while others are being added', async () => {
      // One start for all: the order (first performance start, then id) is then by id.
      const startsAt = '2031-05-05T00:00:00Z';
      const range = `from=${encodeURIComponent(startsAt)}&to=${encodeURIComponent(startsAt)}`;
      const createDated = async (title: string) => {
        const eventId = await createEvent(title);
        await createPerformance(eventId, { startsAt, sections: [{ ...LAYOUT[0], rows: 1, seatsPerRow: 1 }] });
      };
      for (let i = 0; i < 12; i += 1) await createDated(`walk-${i}`);
      const before = (await walkEvents(range)).map((e) => e.id);
      expect(before.length).toBe(12);
      const seen: number[] = [];
      let cursor: string | null = null;
      let added = 0;
      do {
        const res = await call('GET', `/events?limit=5&${range}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode).toBe(200);
        const page = res.json();
        seen.push(...page.items.map((e: { id: number }) => e.id));
        cursor = page.nextCursor;
        // Added while pages remain: each lands after the cursor, so the walk must reach it.
        if (cursor && added < 6) {
          await createDated(`added-${added}`);
          added += 1;
        }
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(seen).toEqual(expect.arrayContaining(before));
      expect(added).toBeGreaterThan(0);
      expect(seen.length).toBe(before.length + added);
    });

    async function walkEvents(query: string): Promise<{ id: number }[]> {
      const all: { id: number }[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { id: number }[]; nextCursor: string | null } = (
          await call('GET', `/events?limit=100&${query}${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return all;
    }

    it('lists performances of an event by start time with keyset pages', async () => {
      const eventId = await createEvent();
      const starts = ['2027-04-03T19:00:00.000Z', '2027-04-01T19:00:00.000Z', '2027-04-02T19:00:00.000Z'];
      for (const startsAt of starts) {
        await call('POST', `/events/${eventId}/performances`, {
          body: { startsAt, salesOpenAt: '2027-01-01T00:00:00Z', sections: [LAYOUT[0]] },
          session: admin,
        });
      }
      const first = (await call('GET', `/events/${eventId}/performances?limit=2`)).json();
      const second = (await call('GET', `/events/${eventId}/performances?limit=2&cursor=${first.nextCursor}`)).json();
      expect([...first.items, ...second.items].map((p: { startsAt: string }) => p.startsAt)).toEqual(
        [...starts].sort(),
      );
      expect(second.nextCursor).toBeNull();
    });

    it('serves a cached page without a database query, and is fresh after an admin update', async () => {
      const eventId = await createEvent('Cached');
      const performance = await createPerformance(eventId);
      const urls = [
        `/events/${eventId}`,
        '/events?limit=10',
        `/events/${eventId}/performances`,
        `/performances/${performance.id}`,
        `/performances/${performance.id}/seats?limit=50`,
      ];
      const queries = vi.spyOn(Client.prototype, 'query');
      try {
        for (const url of urls) expect((await call('GET', url)).statusCode).toBe(200);
        // The spy sees the queries of a cold cache, so its silence below means something.
        expect(queries).toHaveBeenCalled();
        queries.mockClear();
        for (const url of urls) expect((await call('GET', url)).statusCode).toBe(200);
        expect(queries).not.toHaveBeenCalled();
      } finally {
        queries.mockRestore();
      }

      await call('PATCH', `/events/${eventId}`, { body: { title: 'Renamed' }, session: admin });
      expect((await call('GET', `/events/${eventId}`)).json().title).toBe('Renamed');
    });

    it('lays the live status over a cached page: held and sold seats never show as available', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId, { salesOpenAt: '2020-01-01T00:00:00Z' });
      const seats = await walkSeats(performance.id, '', 10);
      await walkSeats(performance.id, '', 10);

      await api.app.get(HoldService).hold(user.id, performance.id, [seats[0].id, seats[1].id]);
      const keys = performanceKeys(performance.id);
      await raw.hset(keys.seats, String(seats[2].id), 'S');
      await raw.hincrby(keys.counts, 'available', -1);
      await raw.hincrby(keys.counts, 'sold', 1);

      const page = (await call('GET', `/performances/${performance.id}/seats?limit=5`)).json();
      expect(page.items.map((s: { status: string }) => s.status)).toEqual([
        'HELD',
        'HELD',
        'SOLD',
        'AVAILABLE',
        'AVAILABLE',
      ]);
      expect((await walkSeats(performance.id, '&status=HELD')).map((s) => s.id)).toEqual([seats[0].id, seats[1].id]);
      expect((await walkSeats(performance.id, '&status=AVAILABLE')).length).toBe(LAYOUT_SEATS - 3);
      expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({
        available: LAYOUT_SEATS - 3,
        held: 2,
        sold: 1,
      });
    });

    it('sees an admin change made on another replica at its next read, though it keeps copies in process', async () => {
      const eventId = await createEvent('Replicas');
      const performance = await createPerformance(eventId);
      const detail = async () => (await call('GET', `/performances/${performance.id}`)).json();
      const firstSeat = async () =>
        (await call('GET', `/performances/${performance.id}/seats?limit=5`)).json().items[0];
      expect((await detail()).startsAt).toBe('2027-03-01T10:00:00.000Z');
      expect((await firstSeat()).currency).toBe('KRW');
      // Served from this process's copies now: no query reaches PostgreSQL.
      const queries = vi.spyOn(Client.prototype, 'query');
      try {
        expect((await detail()).startsAt).toBe('2027-03-01T10:00:00.000Z');
        expect((await firstSeat()).currency).toBe('KRW');
        expect(queries).not.toHaveBeenCalled();
      } finally {
        queries.mockRestore();
      }

      // Another replica's admin write: its rows change in PostgreSQL, then it bumps the catalog version.
      const pg = new Client({ connectionString: api.env.DATABASE_URL });
      await pg.connect();
      try {
        await pg.query(`UPDATE performances SET starts_at = '2027-04-01T10:00:00Z' WHERE id = $1`, [performance.id]);
        await pg.query(`UPDATE events SET currency = 'EUR' WHERE id = $1`, [eventId]);
      } finally {
        await pg.end();
      }
      await raw.set('cache:catalog-version', `another-replica-${Date.now()}`);

      expect((await detail()).startsAt).toBe('2027-04-01T10:00:00.000Z');
      expect((await firstSeat()).currency).toBe('EUR');
    });

    it('ends a filtered page after looking at 2,000 seats, and the next page goes on from there', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId, {
        sections: [{ name: 'Arena', grade: 'R', price: 1000, rows: 30, seatsPerRow: 100 }],
      });
      const seats = await walkSeats(performance.id, '', 100);
      expect(seats).toHaveLength(3000);
      // Everything sold but the seat at position 2,500, marked held (letters written directly).
      const keys = performanceKeys(performance.id);
      const sold = seats.filter((_, index) => index !== 2499).flatMap((seat) => [String(seat.id), 'S']);
      await raw.hset(keys.seats, ...sold, String(seats[2499].id), 'H');

      const first = (await call('GET', `/performances/${performance.id}/seats?limit=100&status=HELD`)).json();
      expect(first.items).toEqual([]);
      expect(first.nextCursor).not.toBeNull();
      const second = (
        await call('GET', `/performances/${performance.id}/seats?limit=100&status=HELD&cursor=${first.nextCursor}`)
      ).json();
      expect(second.items.map((seat: { id: number }) => seat.id)).toEqual([seats[2499].id]);
      expect(second.nextCursor).toBeNull();
      expect((await walkSeats(performance.id, '&status=SOLD', 100)).length).toBe(2999);

      // ?status=AVAILABLE finds free seats through the free bitmap (still all 1 here: the letters
      // were written past the scripts), each checked against its letter: one page, only that seat.
      await raw.hset(keys.seats, String(seats[2499].id), 'A');
      const available = (await call('GET', `/performances/${performance.id}/seats?limit=100&status=AVAILABLE`)).json();
      expect(available.items.map((seat: { id: number }) => seat.id)).toEqual([seats[2499].id]);
      expect(available.nextCursor).toBeNull();
    });

    it('rebuilds the live seat state from PostgreSQL after Redis was emptied', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId);
      await deleteRedisKeys(REDIS_URL, api.env.REDIS_KEY_PREFIX);
      expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({
        available: LAYOUT_SEATS,
        held: 0,
        sold: 0,
      });
      expect(await walkSeats(performance.id)).toHaveLength(LAYOUT_SEATS);
    });

    it('answers 404 when a seat of the page is missing from the live state', async () => {
      const eventId = await createEvent();
      const performance = await createPerformance(eventId);
      const [first] = await walkSeats(performance.id, '', 100);
      await raw.hdel(performanceKeys(performance.id).seats, String(first.id));
      const res = await call('GET', `/performances/${performance.id}/seats?limit=5`);
      expect(res.statusCode).toBe(404);
    });
  });

  it('documents the seat page as a SeatPageDto, though the route returns it serialised', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const operation = doc.paths['/api/v1/performances/{id}/seats'].get;
    expect(operation.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SeatPageDto',
    });
  });

  describe('bad input', () => {
    it.each([
      '/events?limit=0',
      '/events?limit=101',
      '/events?limit=ten',
      '/events?limit=1.5',
      '/events?cursor=not-a-cursor!',
      `/events?cursor=${Buffer.from('{"i":-3}').toString('base64url')}`,
      '/events?page=2',
      '/events/abc',
      '/events/0',
      '/events/99999999999',
      '/performances/1.5',
      '/performances/1/seats?status=GONE',
      '/performances/1/seats?limit=500',
    ])('GET %s answers 400 with the uniform body', async (url) => {
      const res = await call('GET', url);
      expect(res.statusCode).toBe(400);
      expect(Object.keys(res.json()).sort()).toEqual([
        'error',
        'message',
        'path',
        'requestId',
        'statusCode',
        'timestamp',
      ]);
    });

    it.each(['/events/424242', '/events/424242/performances', '/performances/424242', '/performances/424242/seats'])(
      'GET %s answers 404',
      async (url) => {
        expect((await call('GET', url)).statusCode).toBe(404);
      },
    );
  });
});
