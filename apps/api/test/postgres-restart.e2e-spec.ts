import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaymentGateway } from '@app/ticketing';
import { TEST_PASSWORD, waitUntil } from '@app/testing';
import { expectServiceUnavailable } from './support/http';
import { PrivatePostgresApi, startPrivatePostgresApi } from './support/private-postgres-api';

/**
 * PostgreSQL restarted under the api (`pg_ctl -m fast stop`, then start): a server of the test's
 * own, so the shared one on 5432 is never stopped. The api (in this process) migrates its
 * database there at start.
 */
describe('PostgreSQL stopped and started again under the api', () => {
  let { pg, app, call, buyer, performance, eventId, attemptsOf, close } = {} as PrivatePostgresApi;
  beforeAll(async () => {
    ({ pg, app, call, buyer, performance, eventId, attemptsOf, close } = await startPrivatePostgresApi());
  });
  afterAll(() => close?.());

  const purchase = (reservationId: string, key: string) =>
    call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });

  it('answers 503 with Retry-After and the uniform body while it is down (no 500), and serves again once it is back', async () => {
    // A hold is Redis alone: taken before the stop, bought during it.
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(0, 2) },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const key = randomUUID();

    await pg.stop();
    const answers = {
      'list events': await call('GET', '/events'),
      'one event': await call('GET', `/events/${eventId}`),
      login: await call('POST', '/auth/login', { body: { email: buyer.email, password: TEST_PASSWORD } }),
      purchase: await purchase(held.json().id, key),
      'own purchases': await call('GET', '/purchases', { session: buyer }),
      'own account': await call('GET', '/users/me', { session: buyer }),
    };
    expectServiceUnavailable(answers);
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().message).toContain('postgres');

    await pg.startServer();
    // The same process reconnects by itself: no restart.
    await waitUntil(async () => (await call('GET', `/events/${eventId}`)).statusCode === 200, 'events served again');
    // The refused purchase charged nothing and left its Idempotency-Key free: the retry buys, once.
    const bought = await purchase(held.json().id, key);
    expect(bought.statusCode, bought.body).toBe(201);
    expect(bought.json()).toMatchObject({ reservationId: held.json().id, status: 'PAID' });
    expect((await purchase(held.json().id, key)).json()).toEqual(bought.json());
    const mine = await call('GET', '/purchases', { session: buyer });
    expect(mine.json().items.map((p: { id: string }) => p.id)).toEqual([bought.json().id]);
    const loggedIn = await call('POST', '/auth/login', { body: { email: buyer.email, password: TEST_PASSWORD } });
    expect(loggedIn.statusCode).toBe(200);
  });

  it('stopped between the charge and its record: 503, and the retry with the key buys on the same charge', async () => {
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(2, 4) },
      session: buyer,
    });
    expect(held.statusCode).toBe(201);
    const key = randomUUID();
    const gateway = app.get(PaymentGateway);
    const charge = gateway.charge.bind(gateway);
    const asked: string[] = [];
    // PostgreSQL goes the moment the gateway has charged: the attempt cannot be marked CHARGED.
    const spy = vi.spyOn(gateway, 'charge').mockImplementation(async (request) => {
      const charged = await charge(request);
      asked.push(request.idempotencyKey);
      if (asked.length === 1) await pg.stop();
      return charged;
    });
    try {
      const refused = await purchase(held.json().id, key);
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');

      await pg.startServer();
      await waitUntil(async () => (await call('GET', `/events/${eventId}`)).statusCode === 200, 'events served again');
      const bought = await purchase(held.json().id, key);
      expect(bought.statusCode, bought.body).toBe(201);
      // One charge: the gateway was asked twice under one idempotency key (the purchase's id).
      expect(asked).toEqual([bought.json().id, bought.json().id]);
      expect(await attemptsOf(held.json().id)).toEqual([{ charge_id: `ch_${bought.json().id}`, status: 'CHARGED' }]);
    } finally {
      spy.mockRestore();
    }
  });
});
