import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, REDIS_URL, TcpProxy, TEST_PASSWORD, TestSession, waitUntil } from '@app/testing';
import { caller, createPerformance, flushPurchases } from './purchase-helpers';
import { expectServiceUnavailable } from './support/http';
import { startTestApi } from './support/api';

/** Every table a hold, a purchase or a seat page could write to. */
const SALE_TABLES = ['performances', 'seats', 'purchases', 'tickets', 'payment_attempts', 'outbox', 'email_deliveries'];

/** A fingerprint of every row of the sale's tables: equal before and after means nothing changed. */
async function saleRows(databaseUrl: string): Promise<Record<string, string>> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const rows: Record<string, string> = {};
    for (const table of SALE_TABLES) {
      const {
        rows: [row],
      } = await db.query<{ n: string; digest: string | null }>(
        `SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest FROM ${table} t`,
      );
      rows[table] = `${row.n}:${row.digest}`;
    }
    return rows;
  } finally {
    await db.end();
  }
}

describe('Redis unreachable (a cut TCP proxy between the api and Redis)', () => {
  let api: ApiHarness;
  let redis: TcpProxy;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };

  beforeAll(async () => {
    redis = await TcpProxy.create(Number(new URL(REDIS_URL).port));
    api = await startTestApi({
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      // A flush pass writes every entry however recent: the buyer's tickets are issued before the cut.
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 20);
  });
  afterAll(async () => {
    await redis?.restore();
    await api?.close();
    await redis?.cut();
  });

  const holdSeats = (seatIds: number[]) =>
    call('POST', '/reservations', { body: { performanceId: performance.id, seatIds }, session: buyer });
  const purchase = (reservationId: string, key: string) =>
    call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });
  const seatPage = () => call('GET', `/performances/${performance.id}/seats?limit=100`);

  it('answers 503 with Retry-After and the uniform body, changes nothing, and serves again once Redis is back', async () => {
    const held = await holdSeats(performance.seatIds.slice(0, 2));
    expect(held.statusCode).toBe(201);
    // A purchase written to PostgreSQL: its tickets are listed, their cancellations read from Redis.
    const owned = await holdSeats(performance.seatIds.slice(4, 6));
    expect((await purchase(owned.json().id, randomUUID())).statusCode).toBe(201);
    await flushPurchases(api.app);
    expect((await call('GET', '/tickets', { session: buyer })).json().items).toHaveLength(2);
    const before = await saleRows(api.env.DATABASE_URL);
    const key = randomUUID();

    await redis.cut();
    // At once: each waits for the client's reconnection attempts before it is refused.
    const [hold, purchased, page, map, login, tickets] = await Promise.all([
      holdSeats(performance.seatIds.slice(2, 4)),
      purchase(held.json().id, key),
      seatPage(),
      call('GET', `/performances/${performance.id}/map`),
      // The login limit is counted in Redis.
      call('POST', '/auth/login', { body: { email: buyer.email, password: TEST_PASSWORD } }),
      // Its active tickets' cancellations are read from Redis.
      call('GET', '/tickets', { session: buyer }),
    ]);
    const answers = { hold, purchase: purchased, 'seat page': page, 'seat map': map, login, tickets };
    expectServiceUnavailable(answers);
    // Readiness names Redis; liveness does not look at dependencies.
    const ready = await api.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().message).toContain('redis');
    expect(ready.json().message).not.toContain('postgres');
    expect((await api.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect(await saleRows(api.env.DATABASE_URL)).toEqual(before);

    await redis.restore();
    // The same process reconnects by itself: no restart.
    await waitUntil(async () => (await seatPage()).statusCode === 200, 'seat page served again', 20_000);
    const statuses = new Map<number, string>(
      (await seatPage()).json().items.map((seat: { id: number; status: string }) => [seat.id, seat.status]),
    );
    // The hold refused during the outage took nothing; the earlier one is still there.
    expect(performance.seatIds.slice(0, 4).map((id) => statuses.get(id))).toEqual([
      'HELD',
      'HELD',
      'AVAILABLE',
      'AVAILABLE',
    ]);
    const again = await holdSeats(performance.seatIds.slice(2, 4));
    expect(again.statusCode).toBe(201);
    // The Idempotency-Key of the refused purchase was left free: the retry buys.
    const bought = await purchase(held.json().id, key);
    expect(bought.statusCode).toBe(201);
    expect(bought.json()).toMatchObject({ reservationId: held.json().id, status: 'PAID' });
    expect((await api.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    const loggedIn = await call('POST', '/auth/login', { body: { email: buyer.email, password: TEST_PASSWORD } });
    expect(loggedIn.statusCode).toBe(200);
  });
});
