import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { createRedis } from '@app/redis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { PurchaseReceiptsRepository } from '@app/database';
import { parsePurchaseCompleted } from '@app/messaging';
import {
  ApiHarness,
  AppProcess,
  createSession,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestSession,
} from '@app/testing';
import { EventService, PaymentGateway, performanceKeys, renderPurchaseEmail } from '@app/ticketing';
import { ApiModule } from '../src/api.module';
import { caller, createPerformance, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';

/**
 * Money is an integer in the currency's minor unit everywhere, and travels with its event's
 * currency: the API, Redis, the payment port, PostgreSQL, the message and the e-mail.
 */
describe('money in minor units with its currency (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let raw: Redis;
  let db: Client;

  beforeAll(async () => {
    api = await startTestApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    raw = createRedis(api.env, 'test-peek');
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    raw?.disconnect();
    await api?.close();
  });

  /** Holds, buys and flushes one seat; returns every place the money shows up. */
  async function buyOneSeat(price: number, currency: string) {
    const performance = await createPerformance(api.app, admin, 2, { price, currency });
    const keys = performanceKeys(performance.id);
    const [seatId] = performance.seatIds;
    const seats = (await call('GET', `/performances/${performance.id}/seats?limit=1`)).json().items;
    const detail = (await call('GET', `/performances/${performance.id}`)).json();

    const reservation = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [seatId] },
      session: buyer,
    });
    expect(reservation.statusCode).toBe(201);
    const hold = reservation.json();
    const redisHold = await raw.hgetall(keys.hold(hold.id));
    const redisPrice = await raw.hget(keys.prices, String(seatId));

    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    const bought = await call('POST', '/purchases', { body: { reservationId: hold.id }, session: buyer });
    const charges = charge.mock.calls.map(([request]) => request);
    charge.mockRestore();
    expect(bought.statusCode).toBe(201);
    expect(charges).toHaveLength(1);
    const [charged] = charges;
    const purchase = bought.json();
    const redisPurchase = await raw.hgetall(keys.purchase(purchase.id));

    await flushPurchases(api.app);
    const [row] = (await db.query('SELECT amount, currency FROM purchases WHERE id = $1', [purchase.id])).rows;
    const [outbox] = (
      await db.query('SELECT payload FROM outbox WHERE message_id = $1', [`purchase-completed:${purchase.id}`])
    ).rows;
    const message = parsePurchaseCompleted(Buffer.from(JSON.stringify(outbox.payload)));
    const persisted = (await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json();
    const receipt = await api.app.get(PurchaseReceiptsRepository).findByPurchaseId(purchase.id);
    const email = renderPurchaseEmail(receipt!);
    return {
      seat: seats[0],
      detail,
      hold,
      redisHold,
      redisPrice,
      charged,
      purchase,
      redisPurchase,
      row,
      message,
      persisted,
      email,
    };
  }

  it('sells a seat priced 1050 in KRW for 1050 everywhere, and the e-mail says ₩1,050', async () => {
    const money = await buyOneSeat(1050, 'KRW');
    expect(money.seat).toMatchObject({ price: 1050, currency: 'KRW' });
    expect(money.detail).toMatchObject({ currency: 'KRW' });
    expect(money.hold).toMatchObject({ amount: 1050, currency: 'KRW' });
    expect(money.redisPrice).toBe('1050');
    expect(money.redisHold).toMatchObject({ amount: '1050', currency: 'KRW' });
    expect(money.charged).toMatchObject({ amount: 1050, currency: 'KRW' });
    expect(money.purchase).toMatchObject({ amount: 1050, currency: 'KRW' });
    expect(money.redisPurchase).toMatchObject({ amount: '1050', currency: 'KRW' });
    expect(money.row).toEqual({ amount: '1050', currency: 'KRW' });
    expect(money.message).toMatchObject({ amount: 1050, currency: 'KRW' });
    expect(money.persisted).toMatchObject({ amount: 1050, currency: 'KRW' });
    expect(money.email.text).toContain('Amount:    ₩1,050');
    expect(money.email.html).toContain('₩1,050');
    expect(money.email.text).not.toContain('1050.00');
  });

  it('sells a seat priced 2100 in EUR for 2100 cents everywhere, and the e-mail says €21.00', async () => {
    const money = await buyOneSeat(2100, 'EUR');
    expect(money.seat).toMatchObject({ price: 2100, currency: 'EUR' });
    expect(money.hold).toMatchObject({ amount: 2100, currency: 'EUR' });
    expect(money.redisHold).toMatchObject({ amount: '2100', currency: 'EUR' });
    expect(money.charged).toMatchObject({ amount: 2100, currency: 'EUR' });
    expect(money.purchase).toMatchObject({ amount: 2100, currency: 'EUR' });
    expect(money.row).toEqual({ amount: '2100', currency: 'EUR' });
    expect(money.message).toMatchObject({ amount: 2100, currency: 'EUR' });
    expect(money.persisted).toMatchObject({ amount: 2100, currency: 'EUR' });
    expect(money.email.text).toContain('Amount:    €21.00');
  });

  it('gives an event the default currency, takes a known ISO 4217 code, and keeps it', async () => {
    const plain = await call('POST', '/events', { body: { title: 'Plain', venue: 'Hall' }, session: admin });
    expect(plain.statusCode).toBe(201);
    expect(plain.json()).toMatchObject({ currency: 'KRW' });
    const euro = await call('POST', '/events', {
      body: { title: 'Euro', venue: 'Hall', currency: 'EUR' },
      session: admin,
    });
    expect(euro.json()).toMatchObject({ currency: 'EUR' });
    expect((await call('GET', `/events/${euro.json().id}`)).json()).toMatchObject({ currency: 'EUR' });

    const change = await call('PATCH', `/events/${euro.json().id}`, { body: { currency: 'USD' }, session: admin });
    expect(change.statusCode).toBe(400);
    expect(change.json().message).toEqual([
      "currency cannot be changed: an event's prices and purchases stay in the currency it was created with",
    ]);
    expect((await call('GET', `/events/${euro.json().id}`)).json()).toMatchObject({ currency: 'EUR' });
  });

  it.each(['XAU', 'XAG', 'XBA', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX'])(
    'refuses %s, whose ISO 4217 minor unit is N.A., with the 400 of an unknown code',
    async (currency) => {
      const res = await call('POST', '/events', { body: { title: 'Bad', venue: 'Hall', currency }, session: admin });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toEqual([
        'currency must be an ISO 4217 currency code in upper case, such as KRW or EUR',
      ]);
    },
  );

  it.each([['EURO'], ['eur'], ['XYZ'], [''], [978], [null]])(
    'refuses the currency %j with a 400 and the uniform error body',
    async (currency) => {
      const res = await call('POST', '/events', { body: { title: 'Bad', venue: 'Hall', currency }, session: admin });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.anything(),
        requestId: expect.any(String),
        path: '/api/v1/events',
        timestamp: expect.any(String),
      });
    },
  );
});

describe('the OpenAPI document', () => {
  // The built api: descriptions and optionality come from the Swagger CLI plugin of the Nest build.
  it(
    'describes money as integers in minor units, with a currency beside each',
    async () => {
      const env = await createTestEnv({ PORT: String(await freePort()) });
      const api = new AppProcess('api', env);
      try {
        await api.waitForLine('api listening');
        type Schema = { properties: Record<string, { type?: string; description?: string }>; required?: string[] };
        const doc = (await (await fetch(`http://127.0.0.1:${env.PORT}/docs-json`)).json()) as {
          components: { schemas: Record<string, Schema> };
        };
        const schemas = doc.components.schemas;
        for (const [schema, field] of [
          ['SectionLayoutDto', 'price'],
          ['SeatResponseDto', 'price'],
          ['ReservationResponseDto', 'amount'],
          ['PurchaseResponseDto', 'amount'],
        ]) {
          const property = schemas[schema].properties[field];
          expect(property.type, `${schema}.${field}`).toBe('integer');
          expect(property.description, `${schema}.${field}`).toMatch(/minor unit/);
        }
        for (const schema of [
          'EventResponseDto',
          'PerformanceResponseDto',
          'SeatResponseDto',
          'ReservationResponseDto',
          'PurchaseResponseDto',
        ]) {
          expect(schemas[schema].required, schema).toContain('currency');
        }
        expect(schemas.EventCreateDto.properties.currency.description).toMatch(/ISO 4217/);
        // Every DTO the plugin described has its fields (it leaves out a class it cannot read whole).
        const empty = Object.entries(schemas)
          .filter(([, schema]) => Object.keys(schema.properties ?? {}).length === 0)
          .map(([name]) => name);
        expect(empty, 'schemas without properties').toEqual([]);
        expect(schemas.MapPointDto.required).toEqual(['x', 'y']);
        expect(schemas.EventCreateDto.required).not.toContain('currency');
      } finally {
        api.kill('SIGTERM');
        await api.exited;
        await destroyTestEnv(env);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('DEFAULT_CURRENCY', () => {
  it('is the currency of an event created without one', async () => {
    const env = await createTestEnv({ DEFAULT_CURRENCY: 'JPY' });
    const moduleRef = await Test.createTestingModule({ imports: [ApiModule.forRoot(env)] }).compile();
    await moduleRef.init();
    try {
      const operator = { id: '5b0c3b8e-8f7e-4c0e-9f0e-2d3c4b5a6978', email: 'ops@example.com' };
      const event = await moduleRef.get(EventService).createEvent({ title: 'Tokyo', venue: 'Dome' }, operator);
      expect(event.currency).toBe('JPY');
    } finally {
      await moduleRef.close();
      await destroyTestEnv(env);
    }
  });
});
