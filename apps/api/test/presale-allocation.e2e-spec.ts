import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatStateStore } from '@app/ticketing';
import { createPerformance, flushPurchasesAfterLoss, flushPurchases } from './purchase-helpers';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import { expectUniform } from './support/http';

/** Redis TIME in epoch ms: the clock the hold scripts compare presale windows with. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

type Headers = { authorization: string };

/**
 * A presale's allocation (`maxSeats`) over HTTP on real PostgreSQL and Redis (presale trial
 * 2026-12-07, M2): a crowd with the code racing for more than the allocation gets exactly it,
 * the rest 409 PresaleAllocationExhausted; a release and a cancel give seats back; the admin sets,
 * changes and reads it (`seatsTaken`); a rebuild of the Redis state counts the presale's sales again.
 */
describe('presale allocations (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let redis: Redis;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far; the test decides when it runs.
    ({ api, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      MAX_SEATS_PER_RESERVATION: '4',
    }));
    redis = api.app.get(Redis);
  });
  afterAll(() => close?.());

  const reserve = (headers: Headers, payload: object) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });

  /** A performance of `seats` seats an hour before its on-sale, with presale "Fan club" (code FANS-2027) open now. */
  async function presaleShow(seats: number, maxSeats?: number | null) {
    const performance = await createPerformance(api.app, admin, seats);
    const now = await redisNow(redis);
    const salesOpenAt = new Date(now + 3_600_000).toISOString();
    const moved = await call('PATCH', `/performances/${performance.id}`, { body: { salesOpenAt }, session: admin });
    expect(moved.statusCode, moved.body).toBe(200);
    const created = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: {
        name: 'Fan club',
        opensAt: new Date(now - 1_000).toISOString(),
        closesAt: salesOpenAt,
        code: 'FANS-2027',
        ...(maxSeats === undefined ? {} : { maxSeats }),
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const presale = created.json() as { id: string; maxSeats: number | null; seatsTaken: number };
    const path = `/admin/performances/${performance.id}/presales`;
    const taken = async () => {
      const listed = await call('GET', path, { session: admin });
      expect(listed.statusCode, listed.body).toBe(200);
      const item = listed.json().items.find((entry: { id: string }) => entry.id === presale.id);
      return { maxSeats: item.maxSeats as number | null, seatsTaken: item.seatsTaken as number };
    };
    return { ...performance, presale, path, taken };
  }

  it('gives exactly maxSeats to 200 buyers racing with the code; the rest 409; a release and a cancel give seats back', async () => {
    const show = await presaleShow(140, 50);
    expect(show.presale).toMatchObject({ maxSeats: 50, seatsTaken: 0 });
    const buyers = await Promise.all(Array.from({ length: 200 }, () => signedBuyer(api)));
    const results = await Promise.all(
      buyers.map(async ({ headers }, i) => {
        const quantity = 1 + (i % 2);
        // A third by seat ids, each buyer their own seats (a best-available hold may take them first).
        const own = show.seatIds.slice((i / 3) * 2, (i / 3) * 2 + quantity);
        const body =
          i % 3 === 0
            ? { performanceId: show.id, seatIds: own, accessCode: 'fans-2027' }
            : { performanceId: show.id, quantity, accessCode: 'FANS-2027' };
        return { headers, quantity, res: await reserve(headers, body) };
      }),
    );
    const held = results.filter((result) => result.res.statusCode === 201);
    const refused = results.filter((result) => result.res.statusCode !== 201);
    for (const { res, quantity } of refused) {
      const error = expectUniform(res, 409);
      const details = res.json().details as { code?: string; seatIds?: number[] };
      // A seat-id ask whose seats a best-available hold took is refused for them, as ever.
      if (details.code !== 'PresaleAllocationExhausted') {
        expect(details.seatIds, res.body).toBeDefined();
        continue;
      }
      expect(error).toMatchObject({
        error: 'Conflict',
        details: {
          code: 'PresaleAllocationExhausted',
          presale: { id: show.presale.id, name: 'Fan club' },
          maxSeats: 50,
          requested: quantity,
        },
      });
      expect(res.json().details.seatsLeft).toBeLessThan(quantity);
    }
    const heldSeats = held.reduce((sum, result) => sum + result.quantity, 0);
    // Never over; at most one seat short (the last 2-seat asks found a single seat left).
    expect(heldSeats).toBeLessThanOrEqual(50);
    expect(heldSeats).toBeGreaterThanOrEqual(49);
    expect(new Set(held.flatMap((result) => result.res.json().seatIds)).size).toBe(heldSeats);
    expect(refused.length).toBeGreaterThan(100);
    expect(await show.taken()).toEqual({ maxSeats: 50, seatsTaken: heldSeats });
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ held: heldSeats, sold: 0 });

    // What is left (0 or 1) is held exactly: one more than it is refused, it is held, then nothing.
    const left = 50 - heldSeats;
    const late = await signedBuyer(api);
    const tooMany = await reserve(late.headers, {
      performanceId: show.id,
      quantity: left + 1,
      accessCode: 'FANS-2027',
    });
    expect(expectUniform(tooMany, 409)).toMatchObject({ details: { seatsLeft: left, requested: left + 1 } });
    if (left === 1) {
      const last = await reserve(late.headers, { performanceId: show.id, quantity: 1, accessCode: 'FANS-2027' });
      expect(last.statusCode, last.body).toBe(201);
    }
    expect((await show.taken()).seatsTaken).toBe(50);
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ held: 50 });

    // Buy two holds, release a third: the release gives its seats back, and a new buyer gets them.
    const [first, second, third] = held;
    for (const { headers, res } of [first, second]) {
      const bought = await api.app.inject({
        method: 'POST',
        url: '/api/v1/purchases',
        headers,
        payload: { reservationId: res.json().id },
      });
      expect(bought.statusCode, bought.body).toBe(201);
    }
    expect((await show.taken()).seatsTaken).toBe(50);
    const newcomer = await signedBuyer(api);
    expectUniform(
      await reserve(newcomer.headers, { performanceId: show.id, quantity: 1, accessCode: 'FANS-2027' }),
      409,
    );
    const released = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/reservations/${third.res.json().id}`,
      headers: third.headers,
    });
    expect(released.statusCode, released.body).toBe(204);
    expect((await show.taken()).seatsTaken).toBe(50 - third.quantity);
    const after = await reserve(newcomer.headers, {
      performanceId: show.id,
      quantity: third.quantity,
      accessCode: 'FANS-2027',
    });
    expect(after.statusCode, after.body).toBe(201);
    expect((await show.taken()).seatsTaken).toBe(50);

    // A buyer's cancel of a purchase gives its seats back too (before and after its flush alike).
    await flushPurchases(api.app);
    const purchases = await api.app.inject({ method: 'GET', url: '/api/v1/purchases', headers: first.headers });
    const canceled = await api.app.inject({
      method: 'POST',
      url: `/api/v1/purchases/${purchases.json().items[0].id}/cancel`,
      headers: first.headers,
    });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect((await show.taken()).seatsTaken).toBe(50 - first.quantity);
    const again = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: first.quantity,
      accessCode: 'FANS-2027',
    });
    expect(again.statusCode, again.body).toBe(201);
    expect((await show.taken()).seatsTaken).toBe(50);
    const counts = (await call('GET', `/performances/${show.id}`)).json();
    expect(counts.held + counts.sold).toBe(50);
  }, 180_000);

  it('lets the admin set, lower and remove the allocation (validated, audited); a lowered one stops further holds only', async () => {
    const show = await presaleShow(10);
    expect(show.presale).toMatchObject({ maxSeats: null, seatsTaken: 0 });
    const buyer = await signedBuyer(api);
    const held = await reserve(buyer.headers, { performanceId: show.id, quantity: 3, accessCode: 'FANS-2027' });
    expect(held.statusCode, held.body).toBe(201);
    expect(await show.taken()).toEqual({ maxSeats: null, seatsTaken: 3 });

    const patch = (body: object) => call('PATCH', `${show.path}/${show.presale.id}`, { body, session: admin });
    for (const body of [
      {},
      { maxSeats: 0 },
      { maxSeats: -1 },
      { maxSeats: 2.5 },
      { maxSeats: '5' },
      { maxSeats: 1_000_001 },
      { maxSeats: 5, extra: 1 },
    ]) {
      expectUniform(await patch(body), 400);
    }
    // Lowered below the 3 taken: allowed, nothing taken back, no further hold.
    const lowered = await patch({ maxSeats: 2 });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect(lowered.json()).toMatchObject({ id: show.presale.id, name: 'Fan club', maxSeats: 2, seatsTaken: 3 });
    const refused = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: 1,
      accessCode: 'FANS-2027',
    });
    expect(expectUniform(refused, 409)).toMatchObject({
      message: 'the presale Fan club has no seats left of its 2',
      details: { code: 'PresaleAllocationExhausted', maxSeats: 2, seatsTaken: 3, seatsLeft: 0 },
    });
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ held: 3 });
    const raised = await patch({ maxSeats: 4 });
    expect(raised.json()).toMatchObject({ maxSeats: 4, seatsTaken: 3 });
    const one = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: 1,
      accessCode: 'FANS-2027',
    });
    expect(one.statusCode, one.body).toBe(201);
    expect((await patch({ maxSeats: null })).json()).toMatchObject({ maxSeats: null, seatsTaken: 4 });

    // Buyers never see the allocation; the audit log has the change.
    expect((await call('GET', `/performances/${show.id}`)).json().presales[0]).not.toHaveProperty('maxSeats');
    const audit = await call('GET', `/admin/audit-log?performanceId=${show.id}`, { session: admin });
    expect(audit.json().items.map((item: { action: string }) => item.action)).toContain('presale.update');
    expectUniform(await call('PATCH', `${show.path}/999999`, { body: { maxSeats: 3 }, session: admin }), 404);
    expectUniform(await call('PATCH', `${show.path}/${show.presale.id}`, { body: { maxSeats: 3 } }), 401);
    // A create with a bad allocation is a 400 too.
    const bad = await call('POST', show.path, {
      body: {
        name: 'Bad',
        opensAt: new Date(Date.now() + 60_000).toISOString(),
        closesAt: new Date(Date.now() + 120_000).toISOString(),
        code: 'BAD-CODE-1',
        maxSeats: 0,
      },
      session: admin,
    });
    expect(JSON.stringify(expectUniform(bad, 400).message)).toMatch(/maxSeats/);
  });

  it('counts the presale sales again after Redis lost the performance (rebuild from purchases.presale_id)', async () => {
    const show = await presaleShow(10, 5);
    const buyer = await signedBuyer(api);
    const held = await reserve(buyer.headers, { performanceId: show.id, quantity: 3, accessCode: 'FANS-2027' });
    expect(held.statusCode, held.body).toBe(201);
    const bought = await api.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers: buyer.headers,
      payload: { reservationId: held.json().id },
    });
    expect(bought.statusCode, bought.body).toBe(201);
    const live = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: 1,
      accessCode: 'FANS-2027',
    });
    expect(live.statusCode, live.body).toBe(201);
    await flushPurchases(api.app);
    expect((await show.taken()).seatsTaken).toBe(4);

    // Redis loses the performance (its live hold with it): the rebuild counts the 3 sold seats.
    await api.app.get(SeatStateStore).removePerformance(show.id);
    await flushPurchasesAfterLoss(api.app);
    expect(await show.taken()).toEqual({ maxSeats: 5, seatsTaken: 3 });
    const tooMany = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: 3,
      accessCode: 'FANS-2027',
    });
    expect(expectUniform(tooMany, 409)).toMatchObject({ details: { seatsTaken: 3, seatsLeft: 2 } });
    const fits = await reserve((await signedBuyer(api)).headers, {
      performanceId: show.id,
      quantity: 2,
      accessCode: 'FANS-2027',
    });
    expect(fits.statusCode, fits.body).toBe(201);
    expect((await show.taken()).seatsTaken).toBe(5);
  });
});
