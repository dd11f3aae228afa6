import { NestFastifyApplication } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { AdminAuditRepository } from '@app/database';
import { createLogger } from '@app/logging';
import { ApiHarness, createSession, refuseCommitsOn, TestSession, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { ApiModule } from '../src/api.module';
import { createApiApp } from '../src/bootstrap';
import { caller } from './purchase-helpers';
import { ERROR_KEYS } from './support/http';
import { startTestApi } from './support/api';

interface Seat {
  id: number;
  section: string;
  grade: string;
  price: number;
  status: string;
}

/**
 * Sections and prices on real PostgreSQL and Redis, with two api replicas: a section's price
 * changes for the holds made after the PATCH (never a mix inside one hold), purchases charge the
 * hold's amount, every replica shows the new price once the PATCH answered, the change is audited;
 * sections list their live availability; seat pages filter by section, grade and price.
 */
describe('sections and prices (real PostgreSQL and Redis, two replicas)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let callReplica: ReturnType<typeof caller>;
  let replica: NestFastifyApplication;

  beforeAll(async () => {
    api = await startTestApi();
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    call = caller(api.app);
    const logger = createLogger({ app: 'api', level: api.env.LOG_LEVEL, dir: api.env.LOG_DIR, console: 'none' });
    replica = await createApiApp(ApiModule, { overrides: api.env, logger });
    await replica.init();
    await replica.getHttpAdapter().getInstance().ready();
    callReplica = caller(replica);
  });
  afterAll(async () => {
    await replica?.close();
    await api?.close();
  });

  /** An event with one performance of sections Floor (VIP, 1000), Balcony (R, 500), Box (VIP, 2000). */
  async function createLayout(
    options: { startsAt?: string; salesOpenAt?: string; cancelUntil?: string | null; floorRows?: number } = {},
  ): Promise<{ id: number; seats: Seat[] }> {
    const event = await call('POST', '/events', { body: { title: 'Gala', venue: 'Hall' }, session: admin });
    expect(event.statusCode, event.body).toBe(201);
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: options.startsAt ?? '2030-03-01T19:00:00Z',
        ...(options.salesOpenAt ? { salesOpenAt: options.salesOpenAt } : {}),
        ...(options.cancelUntil !== undefined ? { cancelUntil: options.cancelUntil } : {}),
        sections: [
          { name: 'Floor', grade: 'VIP', price: 1000, rows: options.floorRows ?? 2, seatsPerRow: 10 },
          { name: 'Balcony', grade: 'R', price: 500, rows: 1, seatsPerRow: 10 },
          { name: 'Box', grade: 'VIP', price: 2000, rows: 1, seatsPerRow: 4 },
        ],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    return { id, seats: await allSeats(call, id, '') };
  }

  async function allSeats(via: ReturnType<typeof caller>, id: number, query: string): Promise<Seat[]> {
    const seats: Seat[] = [];
    let cursor: string | null = null;
    do {
      const page = await via(
        'GET',
        `/performances/${id}/seats?limit=7${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.statusCode, page.body).toBe(200);
      seats.push(...page.json().items);
      cursor = page.json().nextCursor;
    } while (cursor);
    return seats;
  }

  async function holdAndBuy(session: TestSession, performanceId: number, seatIds: number[]) {
    const hold = await call('POST', '/reservations', { body: { performanceId, seatIds }, session });
    expect(hold.statusCode, hold.body).toBe(201);
    return hold.json() as { id: string; amount: number };
  }

  function expectError(res: { statusCode: number; body: string }, status: number) {
    expect(res.statusCode, res.body).toBe(status);
    expect(
      Object.keys(JSON.parse(res.body))
        .filter((key) => key !== 'details')
        .sort(),
    ).toEqual(ERROR_KEYS);
  }

  it('lists sections in layout order with grade, price, currency, totals and live availability', async () => {
    const performance = await createLayout();
    const sections = await callReplica('GET', `/performances/${performance.id}/sections`);
    expect(sections.statusCode, sections.body).toBe(200);
    expect(sections.json().items).toEqual([
      { name: 'Floor', grade: 'VIP', price: 1000, currency: 'KRW', seatsTotal: 20, available: 20 },
      { name: 'Balcony', grade: 'R', price: 500, currency: 'KRW', seatsTotal: 10, available: 10 },
      { name: 'Box', grade: 'VIP', price: 2000, currency: 'KRW', seatsTotal: 4, available: 4 },
    ]);
    const floor = performance.seats.filter((seat) => seat.section === 'Floor');
    const box = performance.seats.filter((seat) => seat.section === 'Box');
    await holdAndBuy(buyer, performance.id, [floor[0].id, floor[1].id]);
    const bought = await holdAndBuy(buyer, performance.id, [box[3].id]);
    expect((await call('POST', '/purchases', { body: { reservationId: bought.id }, session: buyer })).statusCode).toBe(
      201,
    );
    // Counted again within about a second of the change.
    await waitUntil(
      async () => {
        const items = (await call('GET', `/performances/${performance.id}/sections`)).json().items;
        return items[0].available === 18 && items[1].available === 10 && items[2].available === 3;
      },
      'sections counted the hold and the sale',
      10_000,
      100,
    );
    expectError(await call('GET', '/performances/999999/sections'), 404);
    expectError(await call('GET', '/performances/abc/sections'), 400);
  });

  it('reprices a section for new holds only: old holds charge the old price, every replica shows the new one, audited', async () => {
    const performance = await createLayout();
    const floor = performance.seats.filter((seat) => seat.section === 'Floor');
    // Both replicas hold the seat pages and sections in their in-process copies before the change.
    expect((await allSeats(callReplica, performance.id, '&section=Floor')).filter((s) => s.price !== 1000)).toEqual([]);
    expect((await callReplica('GET', `/performances/${performance.id}/sections`)).json().items[0].price).toBe(1000);
    const sold = await holdAndBuy(buyer, performance.id, [floor[0].id]);
    const soldPurchase = await call('POST', '/purchases', { body: { reservationId: sold.id }, session: buyer });
    expect(soldPurchase.statusCode).toBe(201);
    const before = await holdAndBuy(buyer, performance.id, [floor[1].id, floor[2].id]);
    expect(before.amount).toBe(2000);

    const patched = await call('PATCH', `/performances/${performance.id}/sections/Floor`, {
      body: { price: 1500 },
      session: admin,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toEqual({ name: 'Floor', grade: 'VIP', price: 1500, currency: 'KRW', seatsTotal: 20 });

    // The other replica sees it at once, on seat pages and sections; other sections are untouched.
    const seats = await allSeats(callReplica, performance.id, '');
    expect(seats.filter((s) => s.section === 'Floor' && s.price !== 1500)).toEqual([]);
    expect(seats.filter((s) => s.section === 'Balcony' && s.price !== 500)).toEqual([]);
    expect(
      (await callReplica('GET', `/performances/${performance.id}/sections`)).json().items.map((s: Seat) => s.price),
    ).toEqual([1500, 500, 2000]);

    const after = await holdAndBuy(buyer, performance.id, [floor[3].id, floor[4].id]);
    expect(after.amount).toBe(3000);
    const paidBefore = await call('POST', '/purchases', { body: { reservationId: before.id }, session: buyer });
    expect(paidBefore.statusCode, paidBefore.body).toBe(201);
    expect(paidBefore.json().amount).toBe(2000);
    const paidAfter = await call('POST', '/purchases', { body: { reservationId: after.id }, session: buyer });
    expect(paidAfter.json().amount).toBe(3000);
    // The sale made before keeps its amount.
    const old = await call('GET', `/purchases/${soldPurchase.json().id}`, { session: buyer });
    expect(old.json().amount).toBe(1000);

    const audit = await api.app.get(AdminAuditRepository).ofSubject(`performance:${performance.id}:section:Floor`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorId: admin.id,
      actorEmail: admin.email,
      action: 'section.price',
      details: { performanceId: performance.id, section: 'Floor', previousPrice: 1000, price: 1500, currency: 'KRW' },
    });
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      const prices = await db.query(
        'SELECT section, array_agg(DISTINCT price) AS prices FROM seats WHERE performance_id = $1 GROUP BY section ORDER BY section',
        [performance.id],
      );
      expect(prices.rows).toEqual([
        { section: 'Balcony', prices: [500] },
        { section: 'Box', prices: [2000] },
        { section: 'Floor', prices: [1500] },
      ]);
    } finally {
      await db.end();
    }
  });

  it('takes the price a section already has as no change: 200, no audit row, no new seats_version, live prices mended', async () => {
    const performance = await createLayout();
    const floorSeat = performance.seats.find((seat) => seat.section === 'Floor')!;
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      const version = async () =>
        (await db.query('SELECT seats_version FROM performances WHERE id = $1', [performance.id])).rows[0]
          .seats_version;
      const versionBefore = await version();
      // A failed write-back left Redis with another price than PostgreSQL's.
      await api.app.get(Redis).hset(performanceKeys(performance.id).prices, String(floorSeat.id), '999');
      const patched = await call('PATCH', `/performances/${performance.id}/sections/floor`, {
        body: { price: 1000 },
        session: admin,
      });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json()).toEqual({ name: 'Floor', grade: 'VIP', price: 1000, currency: 'KRW', seatsTotal: 20 });
      expect(await api.app.get(AdminAuditRepository).ofSubject(`performance:${performance.id}:section:Floor`)).toEqual(
        [],
      );
      expect(await version()).toBe(versionBefore);
      expect(await api.app.get(Redis).hget(performanceKeys(performance.id).prices, String(floorSeat.id))).toBe('1000');
      const hold = await holdAndBuy(buyer, performance.id, [floorSeat.id]);
      expect(hold.amount).toBe(1000);
    } finally {
      await db.end();
    }
  });

  it("leaves the old price in force when the change's commit fails after Redis took the new one", async () => {
    const performance = await createLayout();
    const floorSeat = performance.seats.find((seat) => seat.section === 'Floor')!;
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    const restore = await refuseCommitsOn(db, 'seats', ['UPDATE']);
    try {
      const patched = await call('PATCH', `/performances/${performance.id}/sections/floor`, {
        body: { price: 1500 },
        session: admin,
      });
      expect(patched.statusCode, patched.body).toBeGreaterThanOrEqual(500);
      await restore();
      // Written back from PostgreSQL under the row's share lock, for every seat of the section.
      const live = await api.app
        .get(Redis)
        .hmget(
          performanceKeys(performance.id).prices,
          ...performance.seats.filter((seat) => seat.section === 'Floor').map((seat) => String(seat.id)),
        );
      expect(new Set(live)).toEqual(new Set(['1000']));
      expect(await api.app.get(AdminAuditRepository).ofSubject(`performance:${performance.id}:section:Floor`)).toEqual(
        [],
      );
      const hold = await holdAndBuy(buyer, performance.id, [floorSeat.id]);
      expect(hold.amount).toBe(1000);
    } finally {
      await restore();
      await db.end();
    }
  });

  it('answers 404, not 500, for a performance whose seats a delete removed while Redis still has it registered', async () => {
    const performance = await createLayout();
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      // As a sections read sees a delete committing between its two queries: the row, no seats.
      await db.query('DELETE FROM seats WHERE performance_id = $1', [performance.id]);
    } finally {
      await db.end();
    }
    expectError(await call('GET', `/performances/${performance.id}/sections`), 404);
  });

  it('refuses bad requests with the uniform body and changes nothing', async () => {
    const performance = await createLayout();
    const url = `/performances/${performance.id}/sections/Floor`;
    const bodies: unknown[] = [
      {},
      { price: -1 },
      { price: 1.5 },
      { price: '100' },
      { price: 100_000_001 },
      { price: 1, x: 1 },
      [],
    ];
    for (const body of bodies) expectError(await call('PATCH', url, { body: body as object, session: admin }), 400);
    expectError(await call('PATCH', url, { body: { price: 1 }, session: buyer }), 403);
    expectError(await call('PATCH', url, { body: { price: 1 } }), 401);
    expectError(
      await call('PATCH', `/performances/${performance.id}/sections/Nowhere`, { body: { price: 1 }, session: admin }),
      404,
    );
    expectError(
      await call('PATCH', `/performances/${performance.id}/sections/${'F'.repeat(51)}`, {
        body: { price: 1 },
        session: admin,
      }),
      404,
    );
    // Control characters in the path are refused by the edge before any route (input guard).
    expectError(
      await call('PATCH', `/performances/${performance.id}/sections/%00`, { body: { price: 1 }, session: admin }),
      400,
    );
    expectError(
      await call('PATCH', '/performances/999999/sections/Floor', { body: { price: 1 }, session: admin }),
      404,
    );
    const items = (await call('GET', `/performances/${performance.id}/sections`)).json().items;
    expect(items.map((s: Seat) => s.price)).toEqual([1000, 500, 2000]);
    expect(await api.app.get(AdminAuditRepository).ofSubject(`performance:${performance.id}:section:Floor`)).toEqual(
      [],
    );
  });

  it('refuses a change once the performance is CLOSED or has started (409); a PAUSED one may be repriced', async () => {
    const performance = await createLayout();
    const url = `/performances/${performance.id}/sections/Balcony`;
    await call('PATCH', `/performances/${performance.id}`, { body: { status: 'PAUSED' }, session: admin });
    expect((await call('PATCH', url, { body: { price: 600 }, session: admin })).statusCode).toBe(200);
    await call('PATCH', `/performances/${performance.id}`, { body: { status: 'CLOSED' }, session: admin });
    const closed = await call('PATCH', url, { body: { price: 700 }, session: admin });
    expectError(closed, 409);
    expect(closed.json().message).toMatch(/closed/);

    const past = await createLayout({
      startsAt: '2020-03-01T19:00:00Z',
      salesOpenAt: '2020-02-01T00:00:00Z',
      cancelUntil: null,
    });
    const started = await call('PATCH', `/performances/${past.id}/sections/Floor`, {
      body: { price: 1 },
      session: admin,
    });
    expectError(started, 409);
    expect(started.json().message).toMatch(/started/);
    expect((await call('GET', `/performances/${past.id}/sections`)).json().items[0].price).toBe(1000);
  });

  it('prices every hold racing a PATCH wholly old or wholly new, and charges exactly the hold', async () => {
    const performance = await createLayout({ floorRows: 20 });
    const floor = performance.seats.filter((seat) => seat.section === 'Floor');
    expect(floor).toHaveLength(200);
    const buyers = await Promise.all(Array.from({ length: 10 }, () => createSession(api.app)));
    let answered = false;
    let next = 0;
    const holds: { amount: number; seats: number; afterAnswer: boolean; purchase?: number }[] = [];

    const shop = async (session: TestSession, index: number) => {
      const via = index % 2 === 0 ? callReplica : call;
      while (next + 1 < floor.length) {
        const afterAnswer = answered;
        const seatIds = [floor[next++].id, floor[next++].id];
        const hold = await via('POST', '/reservations', { body: { performanceId: performance.id, seatIds }, session });
        expect(hold.statusCode, hold.body).toBe(201);
        const record: (typeof holds)[number] = { amount: hold.json().amount, seats: 2, afterAnswer };
        holds.push(record);
        const purchase = await via('POST', '/purchases', { body: { reservationId: hold.json().id }, session });
        expect(purchase.statusCode, purchase.body).toBe(201);
        record.purchase = purchase.json().amount;
      }
    };
    const reprice = async () => {
      await waitUntil(() => holds.length >= 10, 'some holds before the change', 30_000, 5);
      const res = await call('PATCH', `/performances/${performance.id}/sections/Floor`, {
        body: { price: 1300 },
        session: admin,
      });
      expect(res.statusCode, res.body).toBe(200);
      answered = true;
    };
    await Promise.all([reprice(), ...buyers.map((session, index) => shop(session, index))]);

    expect(holds).toHaveLength(100);
    for (const hold of holds) {
      // Never a mix (2300) inside one hold, and the purchase charges exactly the hold.
      expect([2000, 2600]).toContain(hold.amount);
      expect(hold.purchase).toBe(hold.amount);
      if (hold.afterAnswer) expect(hold.amount).toBe(2600);
    }
    expect(holds.filter((hold) => hold.amount === 2000).length).toBeGreaterThanOrEqual(10);
    expect(holds).toContainEqual(expect.objectContaining({ afterAnswer: true }));
  }, 120_000);

  it('documents the routes and the filters in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const patch = doc.paths['/api/v1/performances/{id}/sections/{name}'].patch;
    expect(patch.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SectionPriceUpdateDto',
    });
    expect(Object.keys(patch.responses).sort()).toEqual(expect.arrayContaining(['200', '404', '409']));
    expect(doc.components.schemas.SectionPriceUpdateDto.properties.price).toMatchObject({
      type: 'integer',
      minimum: 0,
      maximum: 100_000_000,
    });
    expect(doc.paths['/api/v1/performances/{id}/sections'].get.responses['200']).toBeDefined();
    const seatParameters = doc.paths['/api/v1/performances/{id}/seats'].get.parameters.map(
      (parameter: { name: string }) => parameter.name,
    );
    // Without the Swagger compiler plugin (Vitest) only decorated properties show; the build documents all.
    expect(seatParameters).toEqual(expect.arrayContaining(['minPrice', 'maxPrice']));
  });

  it('finds a section by its name in any casing (price change, best available, seat filter); the name stays as written', async () => {
    const performance = await createLayout();
    const stored = ['Floor', 'Balcony', 'Box'];
    // A stored name with each letter's case drawn.
    const casing = fc.constantFrom(...stored).chain((name) =>
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) => ({
        name,
        asked: [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
      })),
    );
    const sectionOf = new Map(performance.seats.map((seat) => [seat.id, seat.section]));
    let price = 3000;
    await fc.assert(
      fc.asyncProperty(casing, async ({ name, asked }) => {
        const repriced = await call('PATCH', `/performances/${performance.id}/sections/${asked}`, {
          body: { price: ++price },
          session: admin,
        });
        expect(repriced.statusCode, `PATCH ${asked}: ${repriced.body}`).toBe(200);
        expect(repriced.json()).toMatchObject({ name, price });

        const held = await call('POST', '/reservations', {
          body: { performanceId: performance.id, quantity: 1, section: asked },
          session: buyer,
        });
        expect(held.statusCode, `best available in ${asked}: ${held.body}`).toBe(201);
        expect(held.json().seatIds.map((id: number) => sectionOf.get(id))).toEqual([name]);
        expect((await call('DELETE', `/reservations/${held.json().id}`, { session: buyer })).statusCode).toBe(204);

        const filtered = await allSeats(call, performance.id, `&section=${asked}`);
        expect(filtered.map((seat) => seat.id)).toEqual(
          performance.seats.filter((seat) => seat.section === name).map((seat) => seat.id),
        );
      }),
      { numRuns: 12 },
    );
    // Written as the admin wrote them, whatever the requests' casing.
    const listed = (await call('GET', `/performances/${performance.id}/sections`)).json().items;
    expect(listed.map((section: { name: string }) => section.name)).toEqual(stored);
    // A name that is no section's in any casing is still 404.
    const unknown = await call('PATCH', `/performances/${performance.id}/sections/flooor`, {
      body: { price: 1 },
      session: admin,
    });
    expectError(unknown, 404);
  });

  it('filters seat pages by section, grade and price range, with status and a cursor that keeps its filters', async () => {
    const performance = await createLayout();
    const box = performance.seats.filter((seat) => seat.section === 'Box');
    await holdAndBuy(buyer, performance.id, [box[0].id]);
    const ids = (seats: Seat[]) => seats.map((seat) => seat.id);
    const expectFiltered = async (query: string, keep: (seat: Seat, index: number) => boolean) => {
      expect(ids(await allSeats(callReplica, performance.id, query)), query).toEqual(
        ids(performance.seats.filter(keep)),
      );
    };
    await expectFiltered('&section=Balcony', (s) => s.section === 'Balcony');
    await expectFiltered('&grade=VIP', (s) => s.grade === 'VIP');
    await expectFiltered('&minPrice=600', (s) => s.price >= 600);
    await expectFiltered('&minPrice=500&maxPrice=1000', (s) => s.price >= 500 && s.price <= 1000);
    await expectFiltered('&grade=VIP&maxPrice=1999', (s) => s.section === 'Floor');
    await expectFiltered('&grade=VIP&status=HELD', (s) => s.id === box[0].id);
    await expectFiltered('&grade=VIP&minPrice=2000&status=AVAILABLE', (s) => s.section === 'Box' && s.id !== box[0].id);
    // A section or grade the performance lacks is a 404, as for a hold: not an empty list that reads as sold out.
    for (const query of ['section=Nowhere', 'grade=Nowhere', 'section=Balcony&grade=Nowhere']) {
      expectError(await callReplica('GET', `/performances/${performance.id}/seats?${query}`), 404);
    }

    const first = await call('GET', `/performances/${performance.id}/seats?limit=3&grade=VIP`);
    const cursor = encodeURIComponent(first.json().nextCursor);
    expect(
      (await call('GET', `/performances/${performance.id}/seats?limit=3&grade=VIP&cursor=${cursor}`)).statusCode,
    ).toBe(200);
    for (const query of [
      `cursor=${cursor}`,
      `grade=R&cursor=${cursor}`,
      `grade=VIP&status=SOLD&cursor=${cursor}`,
      'minPrice=abc',
      'minPrice=1.5',
      'minPrice=-1',
      'minPrice=1e3',
      'maxPrice=',
      'maxPrice=100000001',
      'minPrice=10&maxPrice=9',
      'grade=%3Cb%3E',
      `section=${'x'.repeat(51)}`,
      'section=A&section=B',
    ]) {
      expectError(await call('GET', `/performances/${performance.id}/seats?${query}`), 400);
    }
  });
});
