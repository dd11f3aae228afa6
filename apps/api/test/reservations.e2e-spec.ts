import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createRedis } from '@app/redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role, TokenService } from '@app/auth';
import { UsersRepository } from '@app/database';
import { performanceKeys } from '@app/ticketing';
import { ApiHarness, AppProcess, createSession, PROCESS_TEST_TIMEOUT_MS, TestSession, waitUntil } from '@app/testing';
import { startTestApi } from './support/api';

type Headers = { authorization: string };

/** Account rows {@link buyers} inserts at once: the api's pool size (DATABASE_POOL_SIZE's default). */
const BUYER_INSERTS_AT_ONCE = 20;

/**
 * Buyers with an account row (a hold checks that the token's account exists) and an access token
 * signed directly: no password hashing or login per buyer. The rows are written a pool's worth at
 * a time: hundreds of inserts at once would wait on the harness's few connections for longer than
 * DATABASE_ACQUIRE_TIMEOUT_MS on a loaded machine.
 */
async function buyers(api: ApiHarness, count: number): Promise<{ id: string; headers: Headers }[]> {
  const tokens = api.app.get(TokenService);
  const users = api.app.get(UsersRepository);
  const made: { id: string; headers: Headers }[] = [];
  while (made.length < count) {
    const chunk = Math.min(BUYER_INSERTS_AT_ONCE, count - made.length);
    made.push(
      ...(await Promise.all(
        Array.from({ length: chunk }, async () => {
          const email = `${randomUUID()}@example.test`;
          const user = await users.insertIfEmailFree({ email, name: 'Buyer', role: Role.User, passwordHash: 'unused' });
          const token = await tokens.signAccess({ id: user!.id, email, role: Role.User });
          return { id: user!.id, headers: { authorization: `Bearer ${token}` } };
        }),
      )),
    );
  }
  return made;
}

async function startWithCatalog(overrides: Record<string, string> = {}) {
  const api = await startTestApi(overrides);
  const admin = await createSession(api.app, { role: Role.Admin });
  return { api, admin };
}

async function newPerformance(
  api: ApiHarness,
  admin: TestSession,
  options: { seats?: number; salesOpenAt?: string } = {},
): Promise<{ id: number; seatIds: number[] }> {
  const event = await api.app.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: admin.headers,
    payload: { title: 'On sale', venue: 'Arena' },
  });
  const seats = options.seats ?? 40;
  const performance = await api.app.inject({
    method: 'POST',
    url: `/api/v1/events/${event.json().id}/performances`,
    headers: admin.headers,
    payload: {
      startsAt: '2030-01-01T19:00:00Z',
      salesOpenAt: options.salesOpenAt ?? '2020-01-01T00:00:00Z',
      sections: [{ name: 'Main', grade: 'R', price: 1000, rows: 1, seatsPerRow: seats }],
    },
  });
  expect(performance.statusCode).toBe(201);
  const id = performance.json().id;
  const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${id}/seats?limit=100` });
  return { id, seatIds: page.json().items.map((s: { id: number }) => s.id) };
}

describe('reservations over HTTP (real Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let raw: Redis;

  beforeAll(async () => {
    ({ api, admin } = await startWithCatalog());
    raw = createRedis(api.env, 'test-peek');
  });
  afterAll(async () => {
    raw?.disconnect();
    await api?.close();
  });

  const reserve = (headers: Headers, performanceId: number, seatIds: unknown) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload: { performanceId, seatIds } });

  async function seatStatuses(performanceId: number): Promise<Map<number, string>> {
    const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performanceId}/seats?limit=100` });
    return new Map(page.json().items.map((s: { id: number; status: string }) => [s.id, s.status]));
  }

  it('500 users at once on one seat: exactly one 201, all others 409, the seat HELD once', async () => {
    const performance = await newPerformance(api, admin, { seats: 10 });
    const seat = performance.seatIds[3];
    const people = await buyers(api, 500);
    // None of them is known to this api yet: their accounts are looked up together, not one query
    // each (500 queries would queue on the pool as an on-sale's first minute does).
    const accountLookups = vi.spyOn(api.app.get(UsersRepository), 'existingAccounts');
    const answers = await Promise.all(people.map((p) => reserve(p.headers, performance.id, [seat])));
    const lookupQueries = accountLookups.mock.calls.map(([ids]) => ids);
    accountLookups.mockRestore();
    expect(new Set(lookupQueries.flat()).size).toBe(500);
    expect(lookupQueries.length).toBeLessThan(50);
    const created = answers.filter((a) => a.statusCode === 201);
    const conflicts = answers.filter((a) => a.statusCode === 409);
    expect(created).toHaveLength(1);
    expect(conflicts).toHaveLength(499);
    expect(conflicts[0].json()).toMatchObject({ statusCode: 409, details: { seatIds: [seat] } });
    // Someone else's hold is not named: no hint, as before.
    expect(conflicts[0].json().message).toBe(`seats not available: ${seat}`);
    expect(conflicts[0].json().details).toEqual({ seatIds: [seat] });
    expect(created[0].json()).toMatchObject({
      performanceId: performance.id,
      seatIds: [seat],
      status: 'HELD',
      amount: 1000,
      currency: 'KRW',
    });

    const statuses = await seatStatuses(performance.id);
    expect([...statuses.values()].filter((s) => s === 'HELD')).toHaveLength(1);
    expect(statuses.get(seat)).toBe('HELD');
    const detail = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}` });
    expect(detail.json()).toMatchObject({ available: 9, held: 1, sold: 0 });
  });

  it('overlapping multi-seat holds: no seat in two holds, no partial hold', async () => {
    const performance = await newPerformance(api, admin, { seats: 30 });
    const people = await buyers(api, 250);
    const wanted = people.map(() => {
      const count = 1 + Math.floor(Math.random() * 4);
      const picked = new Set<number>();
      while (picked.size < count) picked.add(performance.seatIds[Math.floor(Math.random() * 30)]);
      return [...picked];
    });
    const answers = await Promise.all(people.map((p, i) => reserve(p.headers, performance.id, wanted[i])));
    const owner = new Map<number, string>();
    for (const [i, answer] of answers.entries()) {
      if (answer.statusCode === 201) {
        const hold = answer.json();
        expect(hold.seatIds).toEqual(wanted[i]);
        for (const seat of hold.seatIds) {
          expect(owner.has(seat), `seat ${seat} held twice`).toBe(false);
          owner.set(seat, hold.id);
        }
      } else {
        expect(answer.statusCode).toBe(409);
        // Every refused seat really was taken by a successful hold.
        for (const seat of answer.json().details.seatIds) expect(wanted[i]).toContain(seat);
      }
    }
    expect(owner.size).toBeGreaterThan(0);
    const statuses = await seatStatuses(performance.id);
    for (const [seat, status] of statuses) expect(status).toBe(owner.has(seat) ? 'HELD' : 'AVAILABLE');
    const detail = (await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}` })).json();
    expect(detail).toMatchObject({ held: owner.size, available: 30 - owner.size, sold: 0 });
  });

  it('shows, releases and protects a reservation', async () => {
    const performance = await newPerformance(api, admin);
    const [alice, bob] = await buyers(api, 2);
    const created = await reserve(alice.headers, performance.id, performance.seatIds.slice(0, 2));
    expect(created.statusCode).toBe(201);
    const hold = created.json();
    expect(new Date(hold.expiresAt).getTime()).toBeGreaterThan(Date.now() + 290_000);

    const url = `/api/v1/reservations/${hold.id}`;
    expect((await api.app.inject({ method: 'GET', url, headers: alice.headers })).json()).toMatchObject({
      status: 'HELD',
    });
    expect((await api.app.inject({ method: 'GET', url, headers: bob.headers })).statusCode).toBe(404);
    expect((await api.app.inject({ method: 'DELETE', url, headers: bob.headers })).statusCode).toBe(404);
    expect((await api.app.inject({ method: 'GET', url })).statusCode).toBe(401);

    // Asking again for seats one holds (a second tab, a retry) says they are in one's own hold;
    // anyone else is told only that they are not available.
    const [first, second, third] = performance.seatIds;
    const mine = await reserve(alice.headers, performance.id, [second, third]);
    expect(mine.statusCode).toBe(409);
    expect(mine.json()).toMatchObject({
      statusCode: 409,
      message: `seats not available: ${second} (already in your hold ${hold.id})`,
      details: { seatIds: [second], heldByYou: [{ reservationId: hold.id, seatIds: [second] }] },
    });
    const theirs = await reserve(bob.headers, performance.id, [first]);
    expect(theirs.statusCode).toBe(409);
    expect(theirs.json().message).toBe(`seats not available: ${first}`);
    expect(theirs.json().details).toEqual({ seatIds: [first] });

    // Clients often label a bodiless DELETE as JSON; that is not a malformed body.
    const release = await api.app.inject({
      method: 'DELETE',
      url,
      headers: { ...alice.headers, 'content-type': 'application/json' },
    });
    expect(release.statusCode).toBe(204);
    expect((await api.app.inject({ method: 'GET', url, headers: alice.headers })).json()).toMatchObject({
      status: 'RELEASED',
    });
    // The buying guide's contract (docs/guide/buying.md): a hold that has ended cannot be released again.
    const again = await api.app.inject({ method: 'DELETE', url, headers: alice.headers });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ statusCode: 409, message: 'reservation has been released' });
    const statuses = await seatStatuses(performance.id);
    expect(statuses.get(performance.seatIds[0])).toBe('AVAILABLE');
    expect((await reserve(bob.headers, performance.id, performance.seatIds.slice(0, 2))).statusCode).toBe(201);
  });

  it("documents the caller's own hold in the 409 of POST /reservations (OpenAPI)", async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    expect(doc.paths['/api/v1/reservations'].post.responses['409'].description).toContain('details.heldByYou');
  });

  it("lists the caller's live holds across performances (GET /reservations)", async () => {
    const [first, second] = [await newPerformance(api, admin), await newPerformance(api, admin)];
    const [alice, bob] = await buyers(api, 2);
    const list = async (headers?: Headers) => api.app.inject({ method: 'GET', url: '/api/v1/reservations', headers });
    expect((await list(alice.headers)).json()).toEqual({ items: [], nextCursor: null });

    const kept = (await reserve(alice.headers, first.id, first.seatIds.slice(0, 2))).json();
    const released = (await reserve(alice.headers, first.id, [first.seatIds[2]])).json();
    const expired = (await reserve(alice.headers, second.id, [second.seatIds[0]])).json();
    const other = (await reserve(alice.headers, second.id, second.seatIds.slice(1, 3))).json();
    await reserve(bob.headers, second.id, [second.seatIds[5]]);
    const release = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/reservations/${released.id}`,
      headers: alice.headers,
    });
    expect(release.statusCode).toBe(204);
    // Expiry is read on Redis time from the record: a record whose time has passed reads EXPIRED.
    await raw.hset(performanceKeys(second.id).hold(expired.id), 'expiresAt', Date.now() - 1000);

    const mine = await list(alice.headers);
    expect(mine.statusCode).toBe(200);
    expect(mine.json().nextCursor).toBeNull();
    expect(
      mine
        .json()
        .items.map((h: { id: string }) => h.id)
        .sort(),
    ).toEqual([kept.id, other.id].sort());
    expect(mine.json().items.find((h: { id: string }) => h.id === kept.id)).toEqual(kept);
    expect((await list(bob.headers)).json().items).toHaveLength(1);
    expect((await list()).statusCode).toBe(401);
  });

  it('answers 403 before sales open, holding nothing', async () => {
    const performance = await newPerformance(api, admin, { salesOpenAt: '2029-12-01T00:00:00Z' });
    const [alice] = await buyers(api, 1);
    const res = await reserve(alice.headers, performance.id, [performance.seatIds[0]]);
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain('sales');
    expect((await seatStatuses(performance.id)).get(performance.seatIds[0])).toBe('AVAILABLE');
  });

  it('limits seats per user and performance across holds (409), and per hold', async () => {
    const performance = await newPerformance(api, admin);
    const [alice] = await buyers(api, 1);
    expect((await reserve(alice.headers, performance.id, performance.seatIds.slice(0, 3))).statusCode).toBe(201);
    const over = await reserve(alice.headers, performance.id, performance.seatIds.slice(3, 5));
    expect(over.statusCode).toBe(409);
    expect(over.json().message).toMatch(/at most 4 seats/);
    const tooMany = await reserve(alice.headers, performance.id, performance.seatIds.slice(10, 15));
    expect(tooMany.statusCode).toBe(409);
    expect((await reserve(alice.headers, performance.id, [performance.seatIds[3]])).statusCode).toBe(201);
  });

  it('answers asking for more seats than the per-user limit the same in both forms (409 with details), 400 only past every limit', async () => {
    const performance = await newPerformance(api, admin);
    const [alice] = await buyers(api, 1);
    const post = (body: object) =>
      api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers: alice.headers, payload: body });
    const bySeats = await post({ performanceId: performance.id, seatIds: performance.seatIds.slice(0, 5) });
    const byQuantity = await post({ performanceId: performance.id, quantity: 5 });
    expect(bySeats.statusCode, bySeats.body).toBe(409);
    expect(byQuantity.statusCode, byQuantity.body).toBe(409);
    const expected = {
      statusCode: 409,
      message: 'a user may hold at most 4 seats of a performance, and one hold has at most 4; asked for 5',
      details: { limit: 4, requested: 5 },
    };
    expect(bySeats.json()).toMatchObject(expected);
    expect(byQuantity.json()).toMatchObject(expected);
    // Up to the request bound the limit answers; a count no configuration could allow is malformed.
    expect((await post({ performanceId: performance.id, quantity: 100 })).json()).toMatchObject({
      statusCode: 409,
      details: { limit: 4, requested: 100 },
    });
    for (const quantity of [0, -1, 101, 1e30, 2.5]) {
      const res = await post({ performanceId: performance.id, quantity });
      expect(res.statusCode, `${quantity} -> ${res.body}`).toBe(400);
      expect(res.json().message).toEqual(['quantity must be an integer from 1 to 100']);
    }
    expect(await raw.hget(performanceKeys(performance.id).counts, 'held')).toBe('0');
  });

  it('tells a body that is JSON but not an object only that (400), and a repeated seat in words', async () => {
    const [alice] = await buyers(api, 1);
    for (const payload of ['[1,2]', '"x"', '3']) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/reservations',
        headers: { ...alice.headers, 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().message, payload).toEqual(['the request body must be a JSON object']);
    }
    const performance = await newPerformance(api, admin, { seats: 5 });
    const twice = await reserve(alice.headers, performance.id, [performance.seatIds[0], performance.seatIds[0]]);
    expect(twice.statusCode).toBe(400);
    expect(twice.json().message).toEqual(['seatIds must not name a seat twice']);
  });

  it('answers 404 for an unknown performance or seat', async () => {
    const performance = await newPerformance(api, admin, { seats: 5 });
    const [alice] = await buyers(api, 1);
    expect((await reserve(alice.headers, 987654, [1])).statusCode).toBe(404);
    const otherSeat = await reserve(alice.headers, performance.id, [performance.seatIds[0], 2_000_000_000]);
    expect(otherSeat.statusCode).toBe(404);
    expect((await seatStatuses(performance.id)).get(performance.seatIds[0])).toBe('AVAILABLE');
    expect(
      (await api.app.inject({ method: 'GET', url: `/api/v1/reservations/${randomUUID()}`, headers: alice.headers }))
        .statusCode,
    ).toBe(404);
  });

  it.each([
    ['no seats', { performanceId: 1, seatIds: [] }],
    ['duplicate seats', { performanceId: 1, seatIds: [5, 5] }],
    ['seat ids as text', { performanceId: 1, seatIds: ['5'] }],
    ['negative seat', { performanceId: 1, seatIds: [-5] }],
    ['fractional performance', { performanceId: 1.5, seatIds: [5] }],
    ['a list of 101 seats', { performanceId: 1, seatIds: Array.from({ length: 101 }, (_, i) => i + 1) }],
    ['no performance', { seatIds: [5] }],
    ['unknown field', { performanceId: 1, seatIds: [5], price: 0 }],
    // Beyond a PostgreSQL integer: once reached the admission check's query (a 500).
    ['a performance id of 2^31', { performanceId: 2_147_483_648, seatIds: [5] }],
    ['a performance id of 2^32 - 1, best available', { performanceId: 0xffff_ffff, quantity: 2 }],
  ])('answers 400 for %s', async (_name, payload) => {
    const [alice] = await buyers(api, 1);
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers: alice.headers, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('tells the size bounds of a list in English (no "at least 1 elements")', async () => {
    const [alice] = await buyers(api, 1);
    const post = (payload: object) =>
      api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers: alice.headers, payload });
    expect((await post({ performanceId: 1, seatIds: [] })).json().message).toEqual([
      'seatIds must have at least 1 item',
    ]);
    const many = await post({ performanceId: 1, seatIds: Array.from({ length: 101 }, (_, i) => i + 1) });
    expect(many.json().message).toEqual(['seatIds must have at most 100 items']);
  });

  it('answers 400 for a malformed reservation id and 401 without a token', async () => {
    const [alice] = await buyers(api, 1);
    expect(
      (await api.app.inject({ method: 'GET', url: '/api/v1/reservations/not-a-uuid', headers: alice.headers }))
        .statusCode,
    ).toBe(400);
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/api/v1/reservations',
          payload: { performanceId: 1, seatIds: [1] },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('rebuilds a performance Redis lost before holding its seats', async () => {
    const performance = await newPerformance(api, admin, { seats: 5 });
    const keys = performanceKeys(performance.id);
    await raw.del(keys.meta, keys.seats, keys.prices, keys.counts);
    const [alice] = await buyers(api, 1);
    expect((await reserve(alice.headers, performance.id, [performance.seatIds[1]])).statusCode).toBe(201);
  });
});

describe('hold expiry with batch sweeping (real Redis, built batch process)', () => {
  it(
    'frees the seats of an expired hold within 2 s, refuses the hold, and keeps the counts right under load',
    async () => {
      const { api, admin } = await startWithCatalog({ RESERVATION_TTL_SECONDS: '1' });
      const batch = new AppProcess('batch', { ...api.env, LOG_CONSOLE: 'json' });
      const raw = createRedis(api.env, 'test-peek');
      try {
        await batch.waitForLine('batch started');
        const performance = await newPerformance(api, admin, { seats: 40 });
        const people = await buyers(api, 40);
        const reserve = (i: number, seatIds: number[]) =>
          api.app.inject({
            method: 'POST',
            url: '/api/v1/reservations',
            headers: people[i].headers,
            payload: { performanceId: performance.id, seatIds },
          });

        const first = (await reserve(0, performance.seatIds.slice(0, 4))).json();
        const expiresAt = new Date(first.expiresAt).getTime();

        // Other buyers keep holding while the first hold expires.
        let stop = false;
        const load = (async () => {
          let i = 1;
          while (!stop) {
            await reserve(i % 40, [performance.seatIds[4 + (i % 36)]]);
            i += 1;
          }
        })();

        let freedAt = 0;
        while (Date.now() < expiresAt + 5000) {
          const page = await api.app.inject({
            method: 'GET',
            url: `/api/v1/performances/${performance.id}/seats?limit=4`,
          });
          const detail = (
            await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}` })
          ).json();
          expect(detail.available + detail.held + detail.sold).toBe(40);
          // The page shows expired seats free at once; the letters in Redis say the sweep freed them.
          const letters = await raw.hmget(performanceKeys(performance.id).seats, ...first.seatIds.map(String));
          if (
            page.json().items.every((s: { status: string }) => s.status === 'AVAILABLE') &&
            letters.every((letter) => letter === 'A')
          ) {
            freedAt = Date.now();
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        stop = true;
        await load;
        // P3, counted from the hold's expiresAt to the read that saw its seats free (reads every 50 ms).
        expect(freedAt, 'P3: seats of the expired hold never freed within 5 s').toBeGreaterThan(0);
        expect(freedAt - expiresAt, "P3: an expired hold's seats free within 2 s (ms after expiresAt)").toBeLessThan(
          2000,
        );
        console.log(`seats freed ${freedAt - expiresAt} ms after expiry`);

        const status = await api.app.inject({
          method: 'GET',
          url: `/api/v1/reservations/${first.id}`,
          headers: people[0].headers,
        });
        expect(status.json().status).toBe('EXPIRED');
        const release = await api.app.inject({
          method: 'DELETE',
          url: `/api/v1/reservations/${first.id}`,
          headers: people[0].headers,
        });
        expect(release.statusCode).toBe(409);
      } finally {
        raw.disconnect();
        batch.kill('SIGTERM');
        await batch.exited;
        await api.close();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('hold expiry without batch (real Redis, no sweeper anywhere)', () => {
  it("lets the next buyer hold an expired hold's seats within 2 s, and shows them free", async () => {
    const { api, admin } = await startWithCatalog({ RESERVATION_TTL_SECONDS: '1' });
    try {
      const performance = await newPerformance(api, admin, { seats: 4 });
      const [alice, bob] = await buyers(api, 2);
      const reserve = (headers: Headers, seatIds: number[]) =>
        api.app.inject({
          method: 'POST',
          url: '/api/v1/reservations',
          headers,
          payload: { performanceId: performance.id, seatIds },
        });
      const first = await reserve(alice.headers, performance.seatIds.slice(0, 2));
      expect(first.statusCode).toBe(201);
      const expiresAt = new Date(first.json().expiresAt).getTime();

      await waitUntil(
        async () => (await reserve(bob.headers, [performance.seatIds[1]])).statusCode === 201,
        "bob's hold of an expired seat",
        10_000,
        20,
      );
      // P3, counted from the hold's expiresAt to bob's hold answered (tried every 20 ms).
      const heldAt = Date.now();
      console.log(`expired seat held again ${heldAt - expiresAt} ms after expiry, no batch running`);
      expect(
        heldAt - expiresAt,
        "P3: an expired hold's seat free within 2 s, no batch (ms after expiresAt)",
      ).toBeLessThanOrEqual(2000);

      const page = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}/seats` });
      expect(page.json().items.map((s: { status: string }) => s.status)).toEqual([
        'AVAILABLE',
        'HELD',
        'AVAILABLE',
        'AVAILABLE',
      ]);
      const detail = (await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performance.id}` })).json();
      expect(detail).toMatchObject({ available: 3, held: 1, sold: 0 });
      const status = await api.app.inject({
        method: 'GET',
        url: `/api/v1/reservations/${first.json().id}`,
        headers: alice.headers,
      });
      expect(status.json().status).toBe('EXPIRED');
    } finally {
      await api.close();
    }
  });
});
