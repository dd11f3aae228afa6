import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createLogger } from '@app/logging';
import { createSession, TestSession, waitForValue, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { ApiModule } from '../src/api.module';
import { createApiApp } from '../src/bootstrap';
import { caller, createPerformance } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/** Redis TIME in epoch ms: the clock the scripts stamp holds and purchases with. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * PATCH and DELETE /performances/:id on real PostgreSQL and Redis: a pause or close refuses holds
 * and purchases from the moment the PATCH answered, sales end at salesCloseAt, buyers' cancels
 * end at cancelUntil, and a performance with sales cannot be deleted.
 */
describe('performance lifecycle (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let redis: Redis;
  /** A second api replica on the same PostgreSQL and Redis, with its own in-process catalog copies. */
  let replica: NestFastifyApplication;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    buyer = await createSession(api.app);
    redis = api.app.get(Redis);
    const logger = createLogger({ app: 'api', level: api.env.LOG_LEVEL, dir: api.env.LOG_DIR, console: 'none' });
    replica = await createApiApp(ApiModule, { overrides: api.env, logger });
    await replica.init();
    await replica.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await replica?.close();
    await close?.();
  });

  it('sells nothing once a PATCH to PAUSED has answered on one replica, while many buyers hold and buy on two', async () => {
    const performance = await createPerformance(api.app, admin, 400);
    const callReplica = caller(replica);
    // The replica keeps the performance in its in-process copies before the pause.
    expect((await callReplica('GET', `/performances/${performance.id}`)).json().status).toBe('ON_SALE');
    const buyers = await Promise.all(Array.from({ length: 12 }, () => createSession(api.app)));
    let pausedAnswered = false;
    let pausedAt = 0;
    const late: { what: string; status: number; body: string }[] = [];
    const createdAt: number[] = [];
    let next = 0;

    const shop = async (session: TestSession, index: number) => {
      const call = index % 2 === 0 ? callReplica : caller(api.app);
      while (next < performance.seatIds.length) {
        const startedAfterPause = pausedAnswered;
        const seatId = performance.seatIds[next++];
        const hold = await call('POST', '/reservations', {
          body: { performanceId: performance.id, seatIds: [seatId] },
          session,
        });
        if (startedAfterPause) late.push({ what: 'hold', status: hold.statusCode, body: hold.body });
        if (hold.statusCode !== 201) {
          if (startedAfterPause) return;
          expect(hold.statusCode, hold.body).toBe(409);
          continue;
        }
        const purchaseStartedAfterPause = pausedAnswered;
        const purchase = await call('POST', '/purchases', { body: { reservationId: hold.json().id }, session });
        if (purchaseStartedAfterPause)
          late.push({ what: 'purchase', status: purchase.statusCode, body: purchase.body });
        if (purchase.statusCode === 201) createdAt.push(Date.parse(purchase.json().createdAt));
        else expect(purchase.statusCode, purchase.body).toBe(409);
      }
    };
    const pause = async () => {
      await waitUntil(() => createdAt.length >= 5, 'some purchases before the pause', 30_000, 5);
      const answer = await call('PATCH', `/performances/${performance.id}`, {
        body: { status: 'PAUSED' },
        session: admin,
      });
      pausedAt = await redisNow(redis);
      pausedAnswered = true;
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.json().status).toBe('PAUSED');
    };
    await Promise.all([pause(), ...buyers.map((session, index) => shop(session, index))]);

    expect(createdAt.length).toBeGreaterThanOrEqual(5);
    // Every purchase was stamped (Redis TIME) before the PATCH's answer was seen.
    for (const at of createdAt) expect(at).toBeLessThanOrEqual(pausedAt);
    // Every request that started after the answer was refused as paused.
    expect(late.length).toBeGreaterThan(0);
    for (const refused of late) {
      expect(refused.status, `${refused.what}: ${refused.body}`).toBe(409);
      expect(JSON.parse(refused.body).message).toBe('sales are paused for this performance');
    }
    // The live counts agree: nothing held or sold after the pause moved them.
    const counts = (await call('GET', `/performances/${performance.id}`)).json();
    expect(counts.sold).toBe(createdAt.length);
    // The replica's in-process copy was dropped by the catalog version the PATCH bumped.
    expect((await callReplica('GET', `/performances/${performance.id}`)).json().status).toBe('PAUSED');

    // ON_SALE again sells again; CLOSED refuses with its own message.
    expect(
      (await call('PATCH', `/performances/${performance.id}`, { body: { status: 'ON_SALE' }, session: admin }))
        .statusCode,
    ).toBe(200);
    const free = (await call('GET', `/performances/${performance.id}/seats?status=AVAILABLE&limit=2`)).json().items;
    expect(
      (
        await call('POST', '/reservations', {
          body: { performanceId: performance.id, seatIds: [free[0].id] },
          session: buyer,
        })
      ).statusCode,
    ).toBe(201);
    await call('PATCH', `/performances/${performance.id}`, { body: { status: 'CLOSED' }, session: admin });
    const closed = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [free[1].id] },
      session: buyer,
    });
    expect(closed.statusCode).toBe(409);
    expect(closed.json().message).toBe('sales are closed for this performance');
  }, 120_000);

  /** How many payment attempts (so charges) a hold has: none for a purchase refused before charging. */
  async function attemptsOf(holdId: string): Promise<number> {
    const [row]: { count: string }[] = await api.app
      .get(DataSource)
      .query('SELECT count(*) FROM payment_attempts WHERE reservation_id = $1', [holdId]);
    return Number(row.count);
  }

  it('refuses a purchase while sales are paused or closed before charging; the same key buys once they resume', async () => {
    const performance = await createPerformance(api.app, admin, 2);
    const holdOf = async (seatId: number) => {
      const hold = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [seatId] },
        session: buyer,
      });
      expect(hold.statusCode, hold.body).toBe(201);
      return hold.json().id as string;
    };
    const paused = await holdOf(performance.seatIds[0]);
    const closed = await holdOf(performance.seatIds[1]);
    const setStatus = async (status: string) => {
      const patched = await call('PATCH', `/performances/${performance.id}`, { body: { status }, session: admin });
      expect(patched.statusCode, `${status}: ${patched.body}`).toBe(200);
    };
    const buy = (holdId: string, key: string) =>
      call('POST', '/purchases', {
        body: { reservationId: holdId },
        headers: { 'idempotency-key': key },
        session: buyer,
      });

    await setStatus('PAUSED');
    const refused = await buy(paused, 'paused-once');
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({ message: 'sales are paused for this performance' });
    expect(await attemptsOf(paused), 'charges while paused').toBe(0);
    await setStatus('ON_SALE');
    const retried = await buy(paused, 'paused-once');
    expect(retried.statusCode, `same key after resume: ${retried.body}`).toBe(201);
    expect(retried.json()).toMatchObject({ reservationId: paused, status: 'PAID' });

    await setStatus('CLOSED');
    const refusedClosed = await buy(closed, 'closed-once');
    expect(refusedClosed.statusCode, refusedClosed.body).toBe(409);
    expect(refusedClosed.json()).toMatchObject({ message: 'sales are closed for this performance' });
    expect(await attemptsOf(closed), 'charges while closed').toBe(0);
  });

  it('refuses holds made before salesOpenAt moved into the future (403, nothing charged) until sales open again', async () => {
    const performance = await createPerformance(api.app, admin, 1);
    const hold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(hold.statusCode, hold.body).toBe(201);
    const holdId = hold.json().id as string;
    const opensAt = new Date((await redisNow(redis)) + 3_600_000).toISOString();
    const later = await call('PATCH', `/performances/${performance.id}`, {
      body: { salesOpenAt: opensAt },
      session: admin,
    });
    expect(later.statusCode, later.body).toBe(200);

    const buy = () =>
      call('POST', '/purchases', {
        body: { reservationId: holdId },
        headers: { 'idempotency-key': 'opens-later' },
        session: buyer,
      });
    const refused = await buy();
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json()).toMatchObject({ message: `sales open at ${opensAt}`, details: { salesOpenAt: opensAt } });
    expect(await attemptsOf(holdId), 'charges before sales open').toBe(0);

    const now = await call('PATCH', `/performances/${performance.id}`, {
      body: { salesOpenAt: new Date((await redisNow(redis)) - 1000).toISOString() },
      session: admin,
    });
    expect(now.statusCode, now.body).toBe(200);
    const bought = await buy();
    expect(bought.statusCode, `same key once sales opened: ${bought.body}`).toBe(201);
  });

  it('closes sales at salesCloseAt, also for a hold made before it', async () => {
    const performance = await createPerformance(api.app, admin, 3);
    const hold = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(hold.statusCode).toBe(201);
    const closeAt = (await redisNow(redis)) + 1500;
    const patched = await call('PATCH', `/performances/${performance.id}`, {
      body: { salesCloseAt: new Date(closeAt).toISOString() },
      session: admin,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().salesCloseAt).toBe(new Date(closeAt).toISOString());
    await waitUntil(async () => (await redisNow(redis)) >= closeAt, 'salesCloseAt passed', 10_000, 50);

    const refused = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[1]] },
      session: buyer,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/sales have ended/);
    const purchase = await call('POST', '/purchases', { body: { reservationId: hold.json().id }, session: buyer });
    expect(purchase.statusCode).toBe(409);
    expect(purchase.json().message).toMatch(/sales have ended/);
  });

  it('answers salesState, the refusal a hold gets now: ENDED, NOT_OPEN, PAUSED, CLOSED, while status stays the setting', async () => {
    const event = await call('POST', '/events', { body: { title: 'Sales state', venue: 'Hall' }, session: admin });
    expect(event.statusCode, event.body).toBe(201);
    const eventId = event.json().id as number;
    const createBody = (salesOpenAt?: string) => ({
      startsAt: '2030-03-01T19:00:00Z',
      ...(salesOpenAt ? { salesOpenAt } : {}),
      sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 4 }],
    });
    // Created not open yet: the POST answer says so, its status is the default ON_SALE.
    const early = await call('POST', `/events/${eventId}/performances`, {
      body: createBody(new Date((await redisNow(redis)) + 3_600_000).toISOString()),
      session: admin,
    });
    expect(early.statusCode, early.body).toBe(201);
    expect(early.json()).toMatchObject({ status: 'ON_SALE', salesState: 'NOT_OPEN' });
    const created = await call('POST', `/events/${eventId}/performances`, { body: createBody(), session: admin });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ status: 'ON_SALE', salesState: 'ON_SALE' });
    const id = created.json().id as number;
    const seatIds = (await call('GET', `/performances/${id}/seats`))
      .json()
      .items.map((seat: { id: number }) => seat.id);

    const detail = async () => (await call('GET', `/performances/${id}`)).json();
    const listed = async () =>
      (await call('GET', `/events/${eventId}/performances`))
        .json()
        .items.find((item: { id: number }) => item.id === id);
    const patch = async (body: object) => {
      const answer = await call('PATCH', `/performances/${id}`, { body, session: admin });
      expect(answer.statusCode, `${JSON.stringify(body)}: ${answer.body}`).toBe(200);
      return answer.json();
    };
    const holdNow = () =>
      call('POST', '/reservations', { body: { performanceId: id, seatIds: [seatIds[0]] }, session: buyer });

    // salesCloseAt passes: ENDED on the detail and on the list (whose page the catalog cache
    // holds from before: the state is derived per answer), status unchanged; a hold is refused.
    const closeAt = (await redisNow(redis)) + 3000;
    expect(await patch({ salesCloseAt: new Date(closeAt).toISOString() })).toMatchObject({
      status: 'ON_SALE',
      salesState: 'ON_SALE',
    });
    expect((await listed()).salesState).toBe('ON_SALE');
    const ended = await waitForValue(detail, 'salesState ENDED after salesCloseAt', {
      done: (body) => body.salesState === 'ENDED',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(ended).toMatchObject({ status: 'ON_SALE', salesState: 'ENDED', available: 4 });
    expect(await listed()).toMatchObject({ status: 'ON_SALE', salesState: 'ENDED' });
    const refusedEnded = await holdNow();
    expect(refusedEnded.statusCode, refusedEnded.body).toBe(409);
    expect(refusedEnded.json().message).toBe('sales have ended for this performance (salesCloseAt passed)');

    // salesOpenAt moved into the future (sales end at startsAt again): NOT_OPEN, 403.
    const opensAt = new Date((await redisNow(redis)) + 3_600_000).toISOString();
    expect(await patch({ salesCloseAt: null, salesOpenAt: opensAt })).toMatchObject({
      status: 'ON_SALE',
      salesState: 'NOT_OPEN',
    });
    expect(await detail()).toMatchObject({ status: 'ON_SALE', salesState: 'NOT_OPEN' });
    const refusedNotOpen = await holdNow();
    expect(refusedNotOpen.statusCode, refusedNotOpen.body).toBe(403);
    expect(refusedNotOpen.json().message).toBe(`sales open at ${opensAt}`);

    // PAUSED wins over NOT_OPEN, as the hold script checks the status first.
    expect(await patch({ status: 'PAUSED' })).toMatchObject({ status: 'PAUSED', salesState: 'PAUSED' });
    expect(await detail()).toMatchObject({ status: 'PAUSED', salesState: 'PAUSED' });
    const refusedPaused = await holdNow();
    expect(refusedPaused.statusCode, refusedPaused.body).toBe(409);
    expect(refusedPaused.json().message).toBe('sales are paused for this performance');

    // Open again while paused: still PAUSED; CLOSED then, also past its salesCloseAt.
    const reopened = await patch({ salesOpenAt: new Date((await redisNow(redis)) - 1000).toISOString() });
    expect(reopened).toMatchObject({ status: 'PAUSED', salesState: 'PAUSED' });
    expect(await patch({ status: 'CLOSED' })).toMatchObject({ status: 'CLOSED', salesState: 'CLOSED' });
    const closedAt = (await redisNow(redis)) + 300;
    await patch({ salesCloseAt: new Date(closedAt).toISOString() });
    await waitUntil(async () => (await redisNow(redis)) > closedAt, 'the second salesCloseAt passed', 10_000, 20);
    expect(await detail()).toMatchObject({ status: 'CLOSED', salesState: 'CLOSED' });
    const refusedClosed = await holdNow();
    expect(refusedClosed.statusCode, refusedClosed.body).toBe(409);
    expect(refusedClosed.json().message).toBe('sales are closed for this performance');

    // ON_SALE set by the operator after the close time: the setting shows ON_SALE, the sale ENDED.
    expect(await patch({ status: 'ON_SALE' })).toMatchObject({ status: 'ON_SALE', salesState: 'ENDED' });
    expect((await holdNow()).json().message).toBe('sales have ended for this performance (salesCloseAt passed)');
    // And on sale once the window is open again.
    expect(await patch({ salesCloseAt: null })).toMatchObject({ status: 'ON_SALE', salesState: 'ON_SALE' });
    expect((await holdNow()).statusCode).toBe(201);
  });

  it('lets buyers cancel until cancelUntil only, and not at all with cancelUntil null', async () => {
    const performance = await createPerformance(api.app, admin, 3);
    const created = (await call('GET', `/performances/${performance.id}`)).json();
    // Default: 24 h before the start.
    expect(Date.parse(created.cancelUntil)).toBe(Date.parse(created.startsAt) - 24 * 3600 * 1000);
    // The venue's zone, set before any sale (it is fixed from the first one on).
    const zoned = await call('PATCH', `/events/${created.eventId}`, {
      body: { timeZone: 'Asia/Seoul' },
      session: admin,
    });
    expect(zoned.statusCode, zoned.body).toBe(200);
    const buy = async (seatId: number) => {
      const hold = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [seatId] },
        session: buyer,
      });
      const purchase = await call('POST', '/purchases', { body: { reservationId: hold.json().id }, session: buyer });
      expect(purchase.statusCode, purchase.body).toBe(201);
      return purchase.json().id as string;
    };
    const [first, second] = [await buy(performance.seatIds[0]), await buy(performance.seatIds[1])];

    const past = new Date((await redisNow(redis)) - 1000).toISOString();
    await call('PATCH', `/performances/${performance.id}`, { body: { cancelUntil: past }, session: admin });
    const late = await call('POST', `/purchases/${first}/cancel`, { session: buyer });
    expect(late.statusCode).toBe(409);
    // Told on the venue's clock, as the door tells times: the event's zone, its offset then.
    expect(late.json().details).toEqual({ cancelUntil: expect.stringMatching(/\+09:00$/), timeZone: 'Asia/Seoul' });
    expect(Date.parse(late.json().details.cancelUntil)).toBe(Date.parse(past));
    expect(late.json().message).toMatch(
      /^purchases of this performance could be canceled until [A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC\+09:00 \(Asia\/Seoul\)$/,
    );

    const cleared = await call('PATCH', `/performances/${performance.id}`, {
      body: { cancelUntil: null },
      session: admin,
    });
    expect(cleared.json().cancelUntil, cleared.body).toBeNull();
    const never = await call('POST', `/purchases/${first}/cancel`, { session: buyer });
    expect(never.statusCode).toBe(409);
    expect(never.json().message).toBe('purchases of this performance cannot be canceled by the buyer');
    expect((await call('GET', `/purchases/${first}`, { session: buyer })).json().status).toBe('PAID');

    await call('PATCH', `/performances/${performance.id}`, {
      body: { cancelUntil: '2030-02-01T00:00:00+09:00' },
      session: admin,
    });
    expect((await call('POST', `/purchases/${second}/cancel`, { session: buyer })).statusCode).toBe(200);
  });

  it('deletes a performance without sales (seats gone from Redis), refuses one with sales', async () => {
    const sold = await createPerformance(api.app, admin, 2);
    const hold = await call('POST', '/reservations', {
      body: { performanceId: sold.id, seatIds: [sold.seatIds[0]] },
      session: buyer,
    });
    expect(
      (await call('POST', '/purchases', { body: { reservationId: hold.json().id }, session: buyer })).statusCode,
    ).toBe(201);
    const refused = await call('DELETE', `/performances/${sold.id}`, { session: admin });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toBe('performance has sold seats and cannot be deleted');
    // The refused delete opened sales again.
    expect(
      (
        await call('POST', '/reservations', {
          body: { performanceId: sold.id, seatIds: [sold.seatIds[1]] },
          session: admin,
        })
      ).statusCode,
    ).toBe(201);

    const unsold = await createPerformance(api.app, admin, 2);
    await call('POST', '/reservations', {
      body: { performanceId: unsold.id, seatIds: [unsold.seatIds[0]] },
      session: buyer,
    });
    expect((await call('DELETE', `/performances/${unsold.id}`, { session: admin })).statusCode).toBe(204);
    expect((await call('GET', `/performances/${unsold.id}`)).statusCode).toBe(404);
    const keys = performanceKeys(unsold.id);
    expect(await redis.exists(keys.meta, keys.seats, keys.counts, keys.prices, keys.seatHolds, keys.expiry)).toBe(0);
    expect((await call('DELETE', `/performances/${unsold.id}`, { session: admin })).statusCode).toBe(404);
  });

  it('answers 400 for bad input, 403 for a buyer, 404 for an unknown performance, changing nothing', async () => {
    const performance = await createPerformance(api.app, admin, 1);
    const patch = (body: object, session = admin) =>
      call('PATCH', `/performances/${performance.id}`, { body, session });
    for (const body of [
      {},
      { status: 'OPEN' },
      { startsAt: null },
      { salesCloseAt: '2030-02-01T10:00:00' },
      { salesCloseAt: '2031-01-01T00:00:00Z' },
      { cancelUntil: '2031-01-01T00:00:00Z' },
      { salesOpenAt: '2030-04-01T00:00:00Z' },
      { nonsense: 1 },
    ]) {
      const answer = await patch(body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        path: `/api/v1/performances/${performance.id}`,
      });
    }
    expect((await patch({ status: 'PAUSED' }, buyer)).statusCode).toBe(403);
    expect((await call('DELETE', `/performances/${performance.id}`, { session: buyer })).statusCode).toBe(403);
    expect(
      (await call('PATCH', '/performances/99999999', { body: { status: 'PAUSED' }, session: admin })).statusCode,
    ).toBe(404);
    expect((await call('GET', `/performances/${performance.id}`)).json()).toMatchObject({ status: 'ON_SALE' });
  });
});
