import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaymentGateway } from '@app/ticketing';
import { waitUntil } from '@app/testing';
import { ERROR_KEYS } from './support/http';
import { PrivatePostgresApi, startPrivatePostgresApi } from './support/private-postgres-api';

/** The api's wait for one statement's answer here (DATABASE_QUERY_TIMEOUT_MS), in ms. */
const QUERY_TIMEOUT_MS = 2000;
/**
 * A freeze is ended after this long (ms) whatever happened, so a test that fails (an answer that
 * never comes while frozen) does not hang: far past QUERY_TIMEOUT_MS, so a fixed api answers first.
 */
const FREEZE_LIMIT_MS = 30_000;

/**
 * PostgreSQL frozen under the api (its postmaster and backends SIGSTOPped, as a hung server or a
 * network partition leaves it: connections open, nothing answers), then thawed (SIGCONT): a server
 * of the test's own, so the shared one on 5432 is never touched. Each answer is taken with
 * whether the server was still frozen when it came.
 */
describe('PostgreSQL frozen under the api', () => {
  let { pg, app, call, buyer, performance, eventId, attemptsOf, close } = {} as PrivatePostgresApi;
  beforeAll(async () => {
    ({ pg, app, call, buyer, performance, eventId, attemptsOf, close } = await startPrivatePostgresApi({
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    }));
  });
  afterAll(() => close?.());

  const purchase = (reservationId: string, key: string) =>
    call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });
  const reserve = async (seatIds: number[]): Promise<string> => {
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    return held.json().id as string;
  };

  /**
   * Freezes the server, runs `requests` (each started while frozen), and thaws it once all have
   * answered (or after FREEZE_LIMIT_MS). Answers each with `frozen`: whether it came before the thaw.
   */
  async function whileFrozen<T>(requests: () => Promise<T>[]): Promise<{ answer: T; frozen: boolean }[]> {
    const pids = await pg.freeze();
    let frozen = true;
    const thaw = () => {
      frozen = false;
      pg.thaw(pids);
    };
    const limit = setTimeout(thaw, FREEZE_LIMIT_MS);
    try {
      return await Promise.all(requests().map(async (request) => ({ answer: await request, frozen })));
    } finally {
      clearTimeout(limit);
      thaw();
    }
  }

  it('answers 503 with Retry-After while frozen, a warm seat page 200; once thawed the same api buys again', async () => {
    const reservationId = await reserve(performance.seatIds.slice(0, 2));
    const key = randomUUID();
    const seatPage = `/performances/${performance.id}/seats?limit=100`;
    const answers = await whileFrozen(() => [
      purchase(reservationId, key),
      call('GET', '/purchases', { session: buyer }),
      call('GET', '/users/me', { session: buyer }),
      call('GET', seatPage),
    ]);
    const [bought, ownPurchases, ownAccount, seats] = answers;
    for (const [route, { answer, frozen }] of Object.entries({ purchase: bought, ownPurchases, ownAccount })) {
      expect(frozen, `${route} answered while frozen`).toBe(true);
      expect(answer.statusCode, `${route}: ${answer.body}`).toBe(503);
      expect(answer.headers['retry-after'], route).toBe('1');
      // `busy` when the statement waited for a new connection (DATABASE_ACQUIRE_TIMEOUT_MS), else `down`.
      expect(Object.keys(answer.json()).sort(), route).toEqual(ERROR_KEYS);
      expect(answer.json(), route).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    }
    expect(seats.frozen).toBe(true);
    expect(seats.answer.statusCode, seats.answer.body).toBe(200);
    expect(seats.answer.json().items).toHaveLength(10);

    // Thawed: the same process serves again, its pool not held by the statements that timed out.
    await waitUntil(
      async () => (await call('GET', '/users/me', { session: buyer })).statusCode === 200,
      'served again',
    );
    const gateway = app.get(PaymentGateway);
    const charged = vi.spyOn(gateway, 'charge');
    try {
      // The refused purchase charged nothing and left its Idempotency-Key free: the retry buys, once.
      const retried = await purchase(reservationId, key);
      expect(retried.statusCode, retried.body).toBe(201);
      expect(retried.json()).toMatchObject({ reservationId, status: 'PAID' });
      // More purchases than the statements that timed out: none waits behind a dead connection.
      const more: string[] = [];
      for (const seatId of performance.seatIds.slice(2, 6)) {
        const next = await purchase(await reserve([seatId]), randomUUID());
        expect(next.statusCode, next.body).toBe(201);
        more.push(next.json().id as string);
      }
      expect(charged.mock.calls.map(([request]) => request.idempotencyKey)).toEqual([retried.json().id, ...more]);
      // One attempt, charged once, on the purchase's charge (batch completes it with the flush).
      expect(await attemptsOf(reservationId)).toEqual([{ charge_id: `ch_${retried.json().id}`, status: 'CHARGED' }]);
    } finally {
      charged.mockRestore();
    }
    expect((await call('GET', `/events/${eventId}`)).statusCode).toBe(200);
  });

  it('frozen between the charge and its record: 503 while frozen, and the retry with the key buys on the same charge', async () => {
    const reservationId = await reserve(performance.seatIds.slice(6, 8));
    const key = randomUUID();
    const gateway = app.get(PaymentGateway);
    const charge = gateway.charge.bind(gateway);
    const asked: string[] = [];
    let pids: number[] = [];
    let frozen = false;
    // PostgreSQL freezes the moment the gateway has charged: the attempt cannot be marked CHARGED.
    const spy = vi.spyOn(gateway, 'charge').mockImplementation(async (request) => {
      const charged = await charge(request);
      asked.push(request.idempotencyKey);
      if (asked.length === 1) {
        pids = await pg.freeze();
        frozen = true;
      }
      return charged;
    });
    const limit = setTimeout(() => pg.thaw(pids), FREEZE_LIMIT_MS);
    try {
      const refused = await purchase(reservationId, key);
      expect(frozen, 'answered while frozen').toBe(true);
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      frozen = false;
      pg.thaw(pids);

      await waitUntil(
        async () => (await call('GET', '/users/me', { session: buyer })).statusCode === 200,
        'served again',
      );
      const bought = await purchase(reservationId, key);
      expect(bought.statusCode, bought.body).toBe(201);
      // One charge: the gateway was asked twice under one idempotency key (the purchase's id).
      expect(asked).toEqual([bought.json().id, bought.json().id]);
      expect(await attemptsOf(reservationId)).toEqual([{ charge_id: `ch_${bought.json().id}`, status: 'CHARGED' }]);
    } finally {
      clearTimeout(limit);
      pg.thaw(pids);
      spy.mockRestore();
    }
  });
});
