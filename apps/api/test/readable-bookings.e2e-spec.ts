import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppProcess,
  createSession,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
} from '@app/testing';
import { timeZoneRefusal } from '@app/ticketing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/** A performance in New York: winter (EST, -05:00) and summer (EDT, -04:00) starts. */
const WINTER = { startsAt: '2030-01-15T00:30:00Z', local: '2030-01-14T19:30:00-05:00' };
const SUMMER = { startsAt: '2030-07-15T23:30:00Z', local: '2030-07-15T19:30:00-04:00' };

describe('time zones and readable holds and purchases (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    }));
  });
  afterAll(() => close?.());

  async function newEvent(body: object = {}) {
    const event = await call('POST', '/events', {
      body: { title: 'Hamilton', venue: 'Richard Rodgers Theatre', timeZone: 'America/New_York', ...body },
      session: admin,
    });
    expect(event.statusCode).toBe(201);
    return event.json() as { id: number; timeZone: string };
  }

  async function newPerformance(eventId: number, startsAt: string) {
    const performance = await call('POST', `/events/${eventId}/performances`, {
      body: {
        startsAt,
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [
          { name: 'Orchestra', grade: 'R', price: 15000, rows: 2, seatsPerRow: 5 },
          { name: 'Mezzanine', grade: 'S', price: 9000, rows: 1, seatsPerRow: 5 },
        ],
      },
      session: admin,
    });
    expect(performance.statusCode).toBe(201);
    const seats = await call('GET', `/performances/${performance.json().id}/seats?limit=100`);
    return {
      performance: performance.json(),
      seats: seats.json().items as {
        id: number;
        section: string;
        row: number;
        rowLabel: string;
        number: number;
        grade: string;
        price: number;
      }[],
    };
  }

  function expectErrorBody(res: { statusCode: number; json: () => Record<string, unknown> }, status: number) {
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual(
      expect.objectContaining({ statusCode: status, error: expect.any(String), message: expect.anything() }),
    );
    expect(res.json().requestId).toEqual(expect.any(String));
  }

  it('an event takes an IANA time zone on create and PATCH; an unknown zone or an offset is a 400 that changes nothing', async () => {
    const event = await newEvent({ timeZone: 'asia/seoul' });
    expect(event.timeZone).toBe('Asia/Seoul');
    expect((await newEvent({ timeZone: undefined })).timeZone).toBe('UTC');

    // One spelling per zone: links followed, the tz database's current name (ICU says Asia/Calcutta).
    expect((await newEvent({ timeZone: 'Asia/Calcutta' })).timeZone).toBe('Asia/Kolkata');
    expect((await newEvent({ timeZone: 'EST5EDT' })).timeZone).toBe('America/New_York');
    expect((await newEvent({ timeZone: 'Etc/UTC' })).timeZone).toBe('UTC');

    // Etc/GMT+5 is the fixed offset -05:00 (sign inverted), SystemV/EST5 and EST too (EST reads
    // -05:00 in July): an offset, not a venue's rules.
    for (const timeZone of [
      'Mars/Olympus',
      '+09:00',
      'Etc/GMT+5',
      'Etc/GMT-14',
      'SystemV/EST5',
      'SystemV/AST4',
      'EST',
      'MST',
      'HST',
      '',
      9,
      null,
    ]) {
      const created = await call('POST', '/events', {
        body: { title: 'Bad zone', venue: 'Nowhere', timeZone },
        session: admin,
      });
      expectErrorBody(created, 400);
      if (typeof timeZone === 'string' && timeZone !== '') expect(created.json().message).toContain(timeZoneRefusal());
      const patched = await call('PATCH', `/events/${event.id}`, { body: { timeZone }, session: admin });
      expectErrorBody(patched, 400);
    }
    expect((await call('GET', `/events/${event.id}`)).json().timeZone).toBe('Asia/Seoul');

    const patched = await call('PATCH', `/events/${event.id}`, { body: { timeZone: 'Europe/Berlin' }, session: admin });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().timeZone).toBe('Europe/Berlin');
    expect((await call('GET', `/events/${event.id}`)).json().timeZone).toBe('Europe/Berlin');
  });

  it('events and performances show local start times with the offset of the day (DST in New York)', async () => {
    const event = await newEvent();
    const winter = await newPerformance(event.id, WINTER.startsAt);
    const summer = await newPerformance(event.id, SUMMER.startsAt);
    expect(winter.performance).toMatchObject({ timeZone: 'America/New_York', startsAtLocal: WINTER.local });
    expect(summer.performance.startsAtLocal).toBe(SUMMER.local);

    const detail = await call('GET', `/performances/${summer.performance.id}`);
    expect(detail.json()).toMatchObject({
      startsAt: '2030-07-15T23:30:00.000Z',
      startsAtLocal: SUMMER.local,
      timeZone: 'America/New_York',
    });
    const list = await call('GET', `/events/${event.id}/performances`);
    expect(list.json().items.map((p: { startsAtLocal: string }) => p.startsAtLocal)).toEqual([
      WINTER.local,
      SUMMER.local,
    ]);
    const shown = await call('GET', `/events/${event.id}`);
    expect(shown.json()).toMatchObject({
      timeZone: 'America/New_York',
      firstStartsAtLocal: WINTER.local,
      lastStartsAtLocal: SUMMER.local,
    });

    // Another zone shows the same instants on another wall clock.
    await call('PATCH', `/events/${event.id}`, { body: { timeZone: 'Asia/Seoul' }, session: admin });
    expect((await call('GET', `/performances/${winter.performance.id}`)).json().startsAtLocal).toBe(
      '2030-01-15T09:30:00+09:00',
    );
  });

  it('GET /events/:id follows every change of its performances (create, PATCH, DELETE)', async () => {
    const event = await newEvent();
    const before = await call('GET', `/events/${event.id}`);
    expect(before.json()).toMatchObject({ performanceCount: 0, firstStartsAt: null, lastStartsAt: null });

    const { performance } = await newPerformance(event.id, WINTER.startsAt);
    expect((await call('GET', `/events/${event.id}`)).json()).toMatchObject({
      performanceCount: 1,
      firstStartsAt: '2030-01-15T00:30:00.000Z',
      firstStartsAtLocal: WINTER.local,
    });

    const moved = await call('PATCH', `/performances/${performance.id}`, {
      body: { startsAt: SUMMER.startsAt },
      session: admin,
    });
    expect(moved.statusCode).toBe(200);
    expect((await call('GET', `/events/${event.id}`)).json()).toMatchObject({
      performanceCount: 1,
      firstStartsAt: '2030-07-15T23:30:00.000Z',
      lastStartsAtLocal: SUMMER.local,
    });

    expect((await call('DELETE', `/performances/${performance.id}`, { session: admin })).statusCode).toBe(204);
    expect((await call('GET', `/events/${event.id}`)).json()).toMatchObject({
      performanceCount: 0,
      firstStartsAt: null,
      firstStartsAtLocal: null,
    });
  });

  it('holds show the event, venue, zone, local start and each seat; in POST, GET /reservations and GET /reservations/:id', async () => {
    const event = await newEvent();
    const { performance, seats } = await newPerformance(event.id, WINTER.startsAt);
    const buyer = await createSession(api.app);
    const chosen = [seats[11], seats[0]];
    const readable = {
      eventTitle: 'Hamilton',
      venue: 'Richard Rodgers Theatre',
      timeZone: 'America/New_York',
      startsAt: '2030-01-15T00:30:00.000Z',
      startsAtLocal: WINTER.local,
      seats: chosen.map((seat) => ({
        seatId: seat.id,
        section: seat.section,
        row: seat.row,
        rowLabel: seat.rowLabel,
        number: seat.number,
        grade: seat.grade,
        price: seat.price,
      })),
    };
    expect(readable.seats[0]).toMatchObject({
      section: 'Mezzanine',
      row: 1,
      rowLabel: 'A',
      number: 2,
      grade: 'S',
      price: 9000,
    });

    const created = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: chosen.map((seat) => seat.id) },
      session: buyer,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      ...readable,
      performanceId: performance.id,
      seatIds: chosen.map((seat) => seat.id),
      status: 'HELD',
      amount: 24000,
      currency: 'KRW',
    });
    const holdId = created.json().id;

    const one = await call('GET', `/reservations/${holdId}`, { session: buyer });
    expect(one.json()).toEqual(created.json());
    const mine = await call('GET', '/reservations', { session: buyer });
    expect(mine.json()).toEqual({ items: [created.json()], nextCursor: null });

    // A change of the event shows at once in the hold (the catalog version is read with it).
    await call('PATCH', `/events/${event.id}`, { body: { title: 'Hamilton (matinee)' }, session: admin });
    expect((await call('GET', `/reservations/${holdId}`, { session: buyer })).json().eventTitle).toBe(
      'Hamilton (matinee)',
    );
  });

  it('purchases show the same in POST, GET /purchases, GET /purchases/:id and the admin views (list, read, refund)', async () => {
    const event = await newEvent();
    const { performance, seats } = await newPerformance(event.id, SUMMER.startsAt);
    const buyer = await createSession(api.app);
    const chosen = [seats[3], seats[4]];
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: chosen.map((seat) => seat.id) },
      session: buyer,
    });
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode).toBe(201);
    const readable = {
      eventTitle: 'Hamilton',
      venue: 'Richard Rodgers Theatre',
      timeZone: 'America/New_York',
      startsAt: '2030-07-15T23:30:00.000Z',
      startsAtLocal: SUMMER.local,
      seats: chosen.map((seat) => ({
        seatId: seat.id,
        section: 'Orchestra',
        row: 1,
        rowLabel: 'A',
        number: seat.number,
        grade: 'R',
        price: 15000,
      })),
    };
    expect(bought.json()).toMatchObject({ ...readable, status: 'PAID', amount: 30000, seatIds: held.json().seatIds });
    const purchase = bought.json();

    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json()).toEqual(purchase);
    expect((await call('GET', '/purchases', { session: buyer })).json().items).toEqual([purchase]);
    expect((await call('GET', `/admin/purchases/${purchase.id}`, { session: admin })).json()).toEqual({
      ...purchase,
      userId: buyer.id,
      compNote: null,
      soldBy: null,
      deliveryEmail: null,
      deliveryName: null,
    });

    await flushPurchases(api.app);
    const flushed = await call('GET', '/purchases', { session: buyer });
    expect(flushed.json().items).toEqual([expect.objectContaining(readable)]);
    const listed = await call('GET', `/admin/purchases?performanceId=${performance.id}`, { session: admin });
    expect(listed.json().items).toEqual([expect.objectContaining({ ...readable, id: purchase.id, userId: buyer.id })]);

    const refunded = await call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin });
    expect(refunded.statusCode).toBe(200);
    expect(refunded.json()).toMatchObject({ ...readable, status: 'CANCELED', keptSeatIds: [] });
  });
});

describe('the OpenAPI document of readable holds and purchases', () => {
  // The built api: properties and descriptions come from the Swagger CLI plugin of the Nest build.
  it(
    'shows the time zone on events and performances, and the readable fields on holds and purchases',
    async () => {
      const env = await createTestEnv({ PORT: String(await freePort()) });
      const api = new AppProcess('api', env);
      try {
        await api.waitForLine('api listening');
        type Schema = {
          properties: Record<string, { type?: string; description?: string; items?: { $ref?: string } }>;
          required?: string[];
          allOf?: { $ref?: string }[];
        };
        const doc = (await (await fetch(`http://127.0.0.1:${env.PORT}/docs-json`)).json()) as {
          components: { schemas: Record<string, Schema> };
        };
        const schemas = doc.components.schemas;
        expect(schemas.EventCreateDto.properties.timeZone.description).toMatch(/IANA/);
        expect(schemas.EventCreateDto.required).not.toContain('timeZone');
        expect(schemas.EventUpdateDto.properties.timeZone).toBeDefined();
        expect(schemas.EventResponseDto.required).toContain('timeZone');
        expect(schemas.PerformanceResponseDto.required).toEqual(expect.arrayContaining(['startsAtLocal', 'timeZone']));
        // The derived sales state beside the operator's status, on every performance answer.
        expect(schemas.PerformanceResponseDto.required).toContain('salesState');
        expect(schemas.PerformanceResponseDto.properties.salesState).toMatchObject({
          enum: ['CANCELED', 'CLOSED', 'PAUSED', 'ENDED', 'NOT_OPEN', 'ON_SALE'],
          readOnly: true,
        });
        expect(schemas.PerformanceResponseDto.properties.status).toMatchObject({
          enum: ['ON_SALE', 'PAUSED', 'CLOSED', 'CANCELED'],
        });
        expect(schemas.EventDetailDto.properties.firstStartsAtLocal).toBeDefined();
        for (const schema of ['ReservationResponseDto', 'PurchaseResponseDto', 'AdminPurchaseResponseDto']) {
          const properties = schemas[schema].properties;
          for (const field of ['eventTitle', 'venue', 'timeZone', 'startsAt', 'startsAtLocal', 'seats', 'seatIds']) {
            expect(properties[field], `${schema}.${field}`).toBeDefined();
          }
          expect(properties.seats.items?.$ref).toBe('#/components/schemas/BookedSeatDto');
        }
        expect([...(schemas.BookedSeatDto.required ?? [])].sort()).toEqual([
          'grade',
          'number',
          'price',
          'row',
          'rowLabel',
          'seatId',
          'section',
        ]);
        expect(schemas.BookedSeatDto.properties.price.type).toBe('integer');
      } finally {
        api.kill('SIGTERM');
        await api.exited;
        await destroyTestEnv(env);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
