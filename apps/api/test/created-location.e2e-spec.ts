import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtApiContract, createSession, OpenApiContract, TEST_PASSWORD, TestSession } from '@app/testing';
import { AdminApi, openWaitingRoom, startAdminApi } from './support/api';
import { createPerformance } from './purchase-helpers';

type Answer = Awaited<ReturnType<AdminApi['call']>>;

/** How a test makes one operation create: its 201 answer and who asked (who reads it back). */
interface Creation {
  create(): Promise<{ res: Answer; creator: TestSession | undefined }>;
  /**
   * The created resource's GET path under `/api/v1`, from the 201 answer's body: what `Location`
   * must say. Absent: no route reads the resource, so the answer carries no `Location`; `why` says so.
   */
  readBy?: (body: Record<string, unknown>) => string;
  why?: string;
}

/**
 * Every operation of the built api's OpenAPI document that answers 201 creates something, and its
 * answer names it in `Location` (RFC 9110 §10.2.2), a path that GETs the resource as its creator
 * (200, the same id); where no route reads it, the table below says why and the answer has none.
 * The table is checked against the document: an operation answering 201 that is not in it (a new
 * creating route) fails the first test until it is added, with its Location or its reason.
 */
describe('201 Created answers carry Location (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let contract: OpenApiContract;
  let buyer: TestSession;
  let performance: { id: number; seatIds: number[] };
  let free: number[];

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    contract = await builtApiContract();
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 20);
    free = [...performance.seatIds];
  });
  afterAll(() => close?.());

  const seat = () => free.shift()!;

  /** A hold of one seat by `buyer`, with `headers` (an Idempotency-Key). */
  const holdOne = (seatId = seat(), headers: object = {}) =>
    call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [seatId] },
      session: buyer,
      headers,
    });

  async function heldId(): Promise<string> {
    const held = await holdOne();
    expect(held.statusCode, held.body).toBe(201);
    return held.json().id as string;
  }

  const CREATING: Record<string, Creation> = {
    'POST /api/v1/auth/signup': {
      create: async () => ({
        res: await call('POST', '/auth/signup', {
          body: { email: 'new.account@example.test', password: TEST_PASSWORD, name: 'New Account' },
        }),
        creator: undefined,
      }),
      why: 'no route reads an account by id (GET /users/me is the signed-in caller, not this path)',
    },
    'POST /api/v1/events': {
      create: async () => ({
        res: await call('POST', '/events', { body: { title: 'Located', venue: 'Hall' }, session: admin }),
        creator: admin,
      }),
      readBy: (body) => `/events/${body.id}`,
    },
    'POST /api/v1/events/{id}/performances': {
      create: async () => {
        const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
        const body = {
          startsAt: '2031-03-01T19:00:00Z',
          sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 2 }],
        };
        return { res: await call('POST', `/events/${eventId}/performances`, { body, session: admin }), creator: admin };
      },
      readBy: (body) => `/performances/${body.id}`,
    },
    'POST /api/v1/reservations': {
      create: async () => ({ res: await holdOne(), creator: buyer }),
      readBy: (body) => `/reservations/${body.id}`,
    },
    'POST /api/v1/purchases': {
      create: async () => ({
        res: await call('POST', '/purchases', { body: { reservationId: await heldId() }, session: buyer }),
        creator: buyer,
      }),
      readBy: (body) => `/purchases/${body.id}`,
    },
    'POST /api/v1/box-office/performances/{id}/sales': {
      create: async () => ({
        res: await call('POST', `/box-office/performances/${performance.id}/sales`, {
          body: { seatIds: [seat()], paymentMethod: 'CASH' },
          session: admin,
        }),
        creator: admin,
      }),
      readBy: (body) => `/admin/purchases/${body.id}`,
    },
    'POST /api/v1/admin/performances/{id}/comps': {
      create: async () => ({
        res: await call('POST', `/admin/performances/${performance.id}/comps`, {
          body: { guest: { email: 'guest@example.test', name: 'Guest' }, seatIds: [seat()], note: 'press' },
          session: admin,
        }),
        creator: admin,
      }),
      readBy: (body) => `/admin/purchases/${body.id}`,
    },
    'POST /api/v1/admin/staff': {
      create: async () => ({
        res: await call('POST', '/admin/staff', {
          body: { email: 'door.staff@example.test', password: TEST_PASSWORD, name: 'Door' },
          session: admin,
        }),
        creator: admin,
      }),
      why: 'no route reads one staff account (GET /admin/staff lists them)',
    },
    'POST /api/v1/admin/performances/{id}/presales': {
      create: async () => {
        const later = await createPerformance(api.app, admin, 2);
        const salesOpenAt = new Date(Date.now() + 3_600_000).toISOString();
        const moved = await call('PATCH', `/performances/${later.id}`, { body: { salesOpenAt }, session: admin });
        expect(moved.statusCode, moved.body).toBe(200);
        const body = {
          name: 'Fan club',
          opensAt: new Date(Date.now() + 60_000).toISOString(),
          closesAt: salesOpenAt,
          code: 'FanClub-2031',
        };
        return {
          res: await call('POST', `/admin/performances/${later.id}/presales`, { body, session: admin }),
          creator: admin,
        };
      },
      why: 'no route reads one presale (GET /admin/performances/:id/presales lists them)',
    },
    'POST /api/v1/performances/{id}/queue': {
      create: async () => {
        const queued = await createPerformance(api.app, admin, 2);
        await openWaitingRoom(call, admin, queued.id);
        return { res: await call('POST', `/performances/${queued.id}/queue`, { session: buyer }), creator: buyer };
      },
      readBy: (body) => `/queue/${body.ticketId}`,
    },
  };

  it('knows every operation the document answers 201 for, and documents Location on exactly those with one', () => {
    const created = contract.operations().filter((operation) => contract.response(operation, 201));
    expect(created.sort()).toEqual(Object.keys(CREATING).sort());
    for (const [operation, creation] of Object.entries(CREATING)) {
      const headers = Object.keys(contract.response(operation, 201)?.headers ?? {});
      expect({ operation, headers }).toEqual({ operation, headers: creation.readBy ? ['Location'] : [] });
      expect({ operation, why: Boolean(creation.readBy) !== Boolean(creation.why) }).toEqual({ operation, why: true });
    }
  });

  it.each(Object.keys(CREATING))(
    '%s: the 201 names what it created, which its creator GETs (200)',
    async (operation) => {
      const creation = CREATING[operation]!;
      const { res, creator } = await creation.create();
      expect(res.statusCode, res.body).toBe(201);
      if (!creation.readBy) {
        expect(res.headers.location).toBeUndefined();
        return;
      }
      const body = res.json() as Record<string, unknown>;
      const path = creation.readBy(body);
      expect(res.headers.location).toBe(`/api/v1${path}`);
      const read = await api.app.inject({
        method: 'GET',
        url: res.headers.location as string,
        headers: creator?.headers,
      });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json()).toMatchObject(path.startsWith('/queue/') ? { ticketId: body.ticketId } : { id: body.id });
    },
  );

  it('names the first answer again on an Idempotency-Key replay of a hold and of a purchase (201)', async () => {
    const seatId = seat();
    const key = { 'idempotency-key': 'located-hold-1' };
    const first = await holdOne(seatId, key);
    const replay = await holdOne(seatId, key);
    expect([first.statusCode, replay.statusCode], replay.body).toEqual([201, 201]);
    expect(replay.headers.location).toBe(`/api/v1/reservations/${first.json().id}`);
    expect(first.headers.location).toBe(replay.headers.location);

    const buy = () =>
      call('POST', '/purchases', {
        body: { reservationId: first.json().id },
        session: buyer,
        headers: { 'idempotency-key': 'located-purchase-1' },
      });
    const bought = await buy();
    const again = await buy();
    expect([bought.statusCode, again.statusCode], again.body).toEqual([201, 201]);
    expect(again.json().id).toBe(bought.json().id);
    expect(again.headers.location).toBe(`/api/v1/purchases/${bought.json().id}`);
    expect(bought.headers.location).toBe(again.headers.location);
  });

  it('sends no Location on a refusal (409: a seat taken)', async () => {
    const seatId = seat();
    expect((await holdOne(seatId)).statusCode).toBe(201);
    const other = await createSession(api.app);
    const refused = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [seatId] },
      session: other,
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.headers.location).toBeUndefined();
  });
});
