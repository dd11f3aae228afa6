import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession, waitUntil } from '@app/testing';
import { PaymentAttemptsRepository } from '@app/database';
import {
  digestOfKey,
  idempotencyKey,
  PaymentDeclinedError,
  PaymentGateway,
  performanceKeys,
  SeatStateStore,
} from '@app/ticketing';
import { caller, createPerformance, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

const IN_PROGRESS = 'a purchase of this reservation is in progress';
const RACERS = 25;

/**
 * A double-clicked purchase: attempts of one hold without an Idempotency-Key, or each with its
 * own, racing. Only one reaches the payment gateway; the others are refused before any charge
 * (409 "a purchase of this reservation is in progress", Retry-After: 1).
 */
describe('racing purchases of one hold (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  const attemptsOf = async (holdId: string) =>
    (await db.query('SELECT purchase_id, status FROM payment_attempts WHERE reservation_id = $1', [holdId])).rows as {
      purchase_id: string;
      status: string;
    }[];

  beforeAll(async () => {
    api = await startTestApi({
      // A hold claim lasts twice this (ms): 1 s, so the lapsed-claim case waits that long at most.
      PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: '500',
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 100, { price: 700 });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  /**
   * Fires RACERS purchases of one new hold at once (`keyOf(i)`: the Idempotency-Key of the i-th, or
   * none). The gateway holds every charge until each request has either answered or reached it,
   * so the race cannot be decided by one request finishing before the others start.
   */
  async function race(keyOf: (i: number) => string | undefined) {
    const held = await hold(api.app, buyer, performance.id, seats(2));
    const gateway = api.app.get(PaymentGateway);
    const approve = gateway.charge.bind(gateway);
    let answered = 0;
    let charging = 0;
    const charge = vi.spyOn(gateway, 'charge').mockImplementation(async (request) => {
      charging += 1;
      await waitUntil(() => answered + charging >= RACERS, 'every request answered or charging', 30_000, 5);
      return approve(request);
    });
    const replies = await Promise.all(
      Array.from({ length: RACERS }, async (_, i) => {
        const key = keyOf(i);
        const reply = await call('POST', '/purchases', {
          body: { reservationId: held.id },
          session: buyer,
          headers: key === undefined ? {} : { 'idempotency-key': key },
        });
        answered += 1;
        return reply;
      }),
    );
    return { held, replies, charge };
  }

  for (const [name, keyOf] of [
    ['without an Idempotency-Key', () => undefined],
    ['each with its own Idempotency-Key', () => `click-${randomUUID()}`],
  ] as const) {
    it(`lets one of ${RACERS} racing purchases ${name} reach the gateway: one 201, the rest 409 in progress, one charge`, async () => {
      const before = await api.app.get(SeatStateStore).counts(performance.id);
      const { held, replies, charge } = await race(keyOf);

      const created = replies.filter((reply) => reply.statusCode === 201);
      const refused = replies.filter((reply) => reply.statusCode !== 201);
      expect(created).toHaveLength(1);
      expect(refused).toHaveLength(RACERS - 1);
      for (const reply of refused) {
        expect(reply.statusCode).toBe(409);
        expect(reply.json()).toMatchObject({ statusCode: 409, error: 'Conflict', message: IN_PROGRESS });
        expect(reply.headers['retry-after']).toBe('1');
      }
      expect(charge).toHaveBeenCalledTimes(1);
      const purchase = created[0].json() as { id: string; amount: number };
      expect(purchase.amount).toBe(1400);
      expect(await attemptsOf(held.id)).toEqual([{ purchase_id: purchase.id, status: 'CHARGED' }]);
      const after = await api.app.get(SeatStateStore).counts(performance.id);
      expect(after.sold - before.sold).toBe(2);

      // Once sold, another attempt is told so, and charges nothing.
      const late = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
      expect(late.statusCode).toBe(409);
      expect(late.json().message).toBe('reservation has already been purchased');
      expect(charge).toHaveBeenCalledTimes(1);
    });
  }

  it('lets the buyer retry at once after a declined payment (402, the hold kept): the claim is dropped', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    vi.spyOn(api.app.get(PaymentGateway), 'charge').mockRejectedValueOnce(new PaymentDeclinedError());
    const declined = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(declined.statusCode).toBe(402);
    expect(await api.app.get(Redis).hget(performanceKeys(performance.id).hold(held.id), 'claimedBy')).toBeNull();

    const paid = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(paid.statusCode).toBe(201);
    expect((await attemptsOf(held.id)).map((row) => row.status).sort()).toEqual(['CHARGED', 'DECLINED']);
  });

  it('refuses, charging nothing, while the claim of an attempt that died mid-charge lives, and buys once it lapsed', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const redis = api.app.get(Redis);
    const [seconds] = await redis.time();
    // What an api killed at the gateway leaves on the hold: its attempt's claim, for a lease.
    await redis.hset(
      performanceKeys(performance.id).hold(held.id),
      'claimedBy',
      randomUUID(),
      'claimedUntil',
      String((Number(seconds) + 2) * 1000),
    );
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    const blocked = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json().message).toBe(IN_PROGRESS);
    expect(charge).not.toHaveBeenCalled();
    expect(await attemptsOf(held.id)).toEqual([]);

    let bought = blocked;
    await waitUntil(
      async () => {
        bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
        return bought.statusCode !== 409;
      },
      'the dead attempt’s claim to lapse',
      15_000,
      200,
    );
    expect(bought.statusCode).toBe(201);
    expect(charge).toHaveBeenCalledTimes(1);
  });
  it('one Idempotency-Key never charges twice: a request that lost its key claim while it waited charges nothing, the one that took the key over for another hold buys', async () => {
    const first = await hold(api.app, buyer, performance.id, seats(1));
    const second = await hold(api.app, buyer, performance.id, seats(1));
    const key = `stalled-${randomUUID()}`;
    const buyWith = (reservationId: string) =>
      call('POST', '/purchases', { body: { reservationId }, session: buyer, headers: { 'idempotency-key': key } });
    const attempts = api.app.get(PaymentAttemptsRepository);
    const begin = attempts.begin.bind(attempts);
    let takenOver!: Promise<Awaited<ReturnType<typeof buyWith>>>;
    // The first request stalls in `begin` past its claim's lease: its claim lapses (removed here, as
    // the lease would) and a request with the same key for the other hold takes the key and buys.
    vi.spyOn(attempts, 'begin').mockImplementationOnce(async (attempt) => {
      await api.app.get(Redis).del(idempotencyKey(buyer.id, digestOfKey(key)));
      takenOver = buyWith(second.id);
      expect((await takenOver).statusCode).toBe(201);
      // The stall as the stalled process's clock sees it once it runs again: past the lease.
      const wokeAt = globalThis.performance.now() + 10_000;
      vi.spyOn(globalThis.performance, 'now').mockImplementation(() => wokeAt);
      return begin(attempt);
    });
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    const stalled = await buyWith(first.id);
    vi.mocked(globalThis.performance.now).mockRestore();
    expect(stalled.statusCode).toBe(409);
    expect(stalled.json().message).toContain('lost its Idempotency-Key claim');
    expect((await takenOver).json()).toMatchObject({ reservationId: second.id, status: 'PAID' });
    // One charge under the key: the other hold's.
    expect(charge).toHaveBeenCalledTimes(1);
    expect(charge.mock.calls[0][0]).toMatchObject({ reservationId: second.id });
    // The key answers the purchase it made, for that hold; the first hold is still the buyer's to buy.
    expect((await buyWith(second.id)).json()).toMatchObject({ reservationId: second.id, status: 'PAID' });
    expect((await attemptsOf(first.id)).map((row) => row.status)).toEqual(['PENDING']);
  });
});
