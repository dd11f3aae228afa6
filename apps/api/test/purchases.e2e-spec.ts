import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { parsePurchaseCompleted, purchaseCompletedMessageId, ROUTING } from '@app/messaging/contracts';
import { ApiHarness, createSession, createTestEnv, destroyTestEnv, TestSession, waitUntil } from '@app/testing';
import {
  claimRenewalMs,
  DecliningPaymentGateway,
  digestOfKey,
  EventService,
  HoldService,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  idempotencyKey,
  newClaim,
  PaymentDeclinedError,
  PaymentGateway,
  PerformanceService,
  performanceKeys,
  performanceOfId,
  PurchaseFlusher,
  PurchaseFlushStore,
  purchasePointerKey,
  PurchaseService,
  SeatPageService,
  SeatReconciler,
  SeatStateStore,
  userPurchasesKey,
} from '@app/ticketing';
import { holdTheOldWay, purchaseTheOldWay } from '../../../libs/ticketing/test/previous-version';
import { PurchaseFlushBatch, PurchaseRepository, UsersRepository } from '@app/database';
import { ApiModule } from '../src/api.module';
import { caller, createPerformance, hold, persisted, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';
import { reconcileUntilSettled } from './support/payments';

/**
 * Lease of an Idempotency-Key claim here (IDEMPOTENCY_CLAIM_LEASE_MS, ms): a fifth of the default,
 * so the tests that outlive a lease wait about 1 s each instead of 5; the renewals (every 200 ms)
 * still leave a live request four round trips' slack.
 */
const LEASE_MS = 1000;

describe('purchases (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let other: TestSession;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  /** Writes every purchase older than `ageSeconds` (s) to PostgreSQL, with its own cut-off. */
  async function flushOlderThan(ageSeconds: number): Promise<void> {
    const env = { ...api.app.get(Env), PURCHASE_FLUSH_AGE_SECONDS: ageSeconds } as Env;
    await flushPurchases(
      new PurchaseFlusher(api.app.get(PurchaseFlushStore), env, api.app.get(PurchaseRepository), api.app.get(Clock)),
    );
  }

  beforeAll(async () => {
    api = await startTestApi({
      // A flush pass (flushPurchases, as `batch` does) writes every purchase however recent: no
      // test waits for the clock.
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      IDEMPOTENCY_CLAIM_LEASE_MS: String(LEASE_MS),
    });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app);
    other = await createSession(api.app);
    performance = await createPerformance(api.app, admin, 200);
  });
  afterAll(async () => api?.close());

  it('buys a hold (201), shows it before and after the flush, and writes it once with tickets and an outbox message', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(2));
    const res = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(res.statusCode).toBe(201);
    const purchase = res.json();
    expect(purchase).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      reservationId: held.id,
      performanceId: performance.id,
      seatIds: [...held.seatIds].sort((a, b) => a - b),
      amount: 100,
      currency: 'KRW',
      status: 'PAID',
      createdAt: expect.any(String),
      comp: false,
      saleChannel: 'ONLINE',
      paymentMethod: null,
      presale: null,
      refundedSeatIds: [],
      refundedAmount: 0,
      eventTitle: 'Concert',
      venue: 'Hall',
      timeZone: 'UTC',
      startsAt: '2030-03-01T19:00:00.000Z',
      startsAtLocal: '2030-03-01T19:00:00+00:00',
      seats: [...held.seatIds]
        .sort((a, b) => a - b)
        .map((seatId) => ({
          seatId,
          section: 'Floor',
          row: 1,
          rowLabel: 'A',
          number: expect.any(Number),
          grade: 'A',
          price: 50,
        })),
    });
    expect(await api.app.get(SeatStateStore).statuses(performance.id, held.seatIds)).toEqual(['SOLD', 'SOLD']);
    expect((await api.app.get(HoldService).get(buyer.id, held.id)).status).toBe('PURCHASED');

    // Not flushed yet: readable from Redis.
    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json()).toEqual(purchase);
    expect((await call('GET', '/purchases', { session: buyer })).json().items).toContainEqual(purchase);
    expect((await persisted(api.env.DATABASE_URL, [purchase.id])).purchases).toHaveLength(0);
    // The buyer's Redis index of unflushed purchases names it until its flush takes it out.
    const index = () => api.app.get(Redis).zrange(userPurchasesKey(buyer.id), 0, -1);
    expect(await index()).toContain(`${performance.id}:${purchase.id}`);
    // Scored at most at the sale's createdAt: reads page the index by score and filter by createdAt.
    const score = await api.app.get(Redis).zscore(userPurchasesKey(buyer.id), `${performance.id}:${purchase.id}`);
    expect(Number(score)).toBeLessThanOrEqual(new Date(purchase.createdAt).getTime());

    // A flusher leaves purchases younger than its cut-off alone (an hour: however slow the machine).
    await flushOlderThan(3600);
    expect((await persisted(api.env.DATABASE_URL, [purchase.id])).purchases).toHaveLength(0);
    await flushPurchases(api.app);

    const db = await persisted(api.env.DATABASE_URL, [purchase.id]);
    expect(db.purchases).toEqual([
      { id: purchase.id, status: 'PAID', canceled_at: null, amount: '100', currency: 'KRW' },
    ]);
    expect(await index()).not.toContain(`${performance.id}:${purchase.id}`);
    expect(db.tickets.map((t) => [t.seat_id, t.status])).toEqual(purchase.seatIds.map((id: number) => [id, 'ACTIVE']));
    expect(db.outbox).toEqual([
      {
        message_id: `purchase-completed:${purchase.id}`,
        routing_key: 'purchase.completed',
        payload: {
          purchaseId: purchase.id,
          userId: buyer.id,
          performanceId: performance.id,
          seatIds: purchase.seatIds,
          amount: 100,
          currency: 'KRW',
          createdAt: purchase.createdAt,
        },
      },
    ]);
    // The flush statement builds this row itself: it must be the contract's message, as the mailer reads it.
    expect(db.outbox[0].message_id).toBe(purchaseCompletedMessageId(purchase.id));
    expect(db.outbox[0].routing_key).toBe(ROUTING.purchaseCompleted);
    expect(parsePurchaseCompleted(Buffer.from(JSON.stringify(db.outbox[0].payload)))).toEqual(db.outbox[0].payload);
    // Flushed: read from PostgreSQL, listed once.
    expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json()).toEqual(purchase);
    const list = (await call('GET', '/purchases', { session: buyer })).json().items;
    expect(list.filter((p: { id: string }) => p.id === purchase.id)).toEqual([purchase]);
  });

  it('sells a hold once to 100 racing requests: one 201, 99 409, the seats sold once', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(3));
    const before = await api.app.get(SeatStateStore).counts(performance.id);
    const replies = await Promise.all(
      Array.from({ length: 100 }, () =>
        call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer }),
      ),
    );
    const codes = replies.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(99);
    const after = await api.app.get(SeatStateStore).counts(performance.id);
    expect(after.sold - before.sold).toBe(3);
    expect(before.held - after.held).toBe(3);
  });

  it('answers racing requests with one Idempotency-Key at once: one purchase, the others 409 with Retry-After or the same 201', async () => {
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    try {
      const held = await hold(api.app, buyer, performance.id, seats(1));
      const headers = { 'idempotency-key': `order-${held.id}` };
      const replies = await Promise.all(
        Array.from({ length: 30 }, () =>
          call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers }),
        ),
      );
      const created = replies.filter((r) => r.statusCode === 201);
      const busy = replies.filter((r) => r.statusCode === 409);
      expect(created.length + busy.length).toBe(30);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((r) => r.body)).size).toBe(1);
      for (const reply of busy) {
        expect(reply.headers['retry-after']).toBe(String(IDEMPOTENCY_RETRY_AFTER_SECONDS));
        expect(reply.json()).toMatchObject({ statusCode: 409, message: expect.stringContaining('in progress') });
      }
      expect(charge).toHaveBeenCalledTimes(1);

      // The retries that were told to wait get the first answer.
      const again = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(created[0].json());
      expect(again.headers['retry-after']).toBeUndefined();
      const stranger = await call('POST', '/purchases', { body: { reservationId: held.id }, session: other, headers });
      expect(stranger.statusCode).toBe(404);
      // The key used for another reservation is refused, with nothing to wait for.
      const second = await hold(api.app, buyer, performance.id, seats(1));
      const reused = await call('POST', '/purchases', {
        body: { reservationId: second.id },
        session: buyer,
        headers,
      });
      expect(reused.statusCode).toBe(409);
      expect(reused.headers['retry-after']).toBeUndefined();
      expect(charge).toHaveBeenCalledTimes(1);
    } finally {
      charge.mockRestore();
    }
  });

  it('keeps the claim of a request working longer than a lease, and gives its answer afterwards', async () => {
    const gateway = api.app.get(PaymentGateway);
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const headers = { 'idempotency-key': `slow-${held.id}` };
    let charging = false;
    let finishCharge = () => {};
    vi.spyOn(gateway, 'charge').mockImplementationOnce(async () => {
      charging = true;
      await new Promise<void>((resolve) => (finishCharge = resolve));
      return { chargeId: 'ch_slow' };
    });
    try {
      const first = call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      await waitUntil(() => charging, 'charge started', 10_000, 10);
      const startedAt = Date.now();
      // Longer than one lease: only renewals keep the claim.
      await waitUntil(
        () => Date.now() > startedAt + LEASE_MS + claimRenewalMs(LEASE_MS),
        'a lease has passed',
        30_000,
        100,
      );
      const during = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      expect(during.statusCode).toBe(409);
      expect(during.headers['retry-after']).toBe(String(IDEMPOTENCY_RETRY_AFTER_SECONDS));

      finishCharge();
      const answered = await first;
      expect(answered.statusCode).toBe(201);
      const after = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      expect(after.statusCode).toBe(201);
      expect(after.json()).toEqual(answered.json());
    } finally {
      finishCharge();
      vi.restoreAllMocks();
    }
  });

  it('takes over, once its lease lapsed, the claim of a request that died, and charges once', async () => {
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    try {
      const held = await hold(api.app, buyer, performance.id, seats(1));
      const key = `orphan-${held.id}`;
      const headers = { 'idempotency-key': key };
      // What a request killed right after claiming the key leaves behind: its claim, with a lease.
      // Taken before the claim is written: the lease cannot lapse earlier than LEASE_MS after it.
      const claimedAt = Date.now();
      await api.app.get(Redis).set(idempotencyKey(buyer.id, digestOfKey(key)), newClaim(), 'PX', LEASE_MS);

      const blocked = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      expect(blocked.statusCode).toBe(409);
      expect(blocked.headers['retry-after']).toBe(String(IDEMPOTENCY_RETRY_AFTER_SECONDS));

      let bought: Awaited<ReturnType<typeof call>> | undefined;
      await waitUntil(
        async () => {
          bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
          return bought.statusCode !== 409;
        },
        'retry after the dead claim lapsed',
        30_000,
        200,
      );
      const tookOverAfter = Date.now() - claimedAt;
      console.log(`claim of a dead request taken over ${tookOverAfter} ms after it was made`);
      expect(bought!.statusCode).toBe(201);
      // Not before the lease lapsed (the claim's owner might still be alive); that it comes at
      // all is the wait above (a lapsed lease is taken over by the next retry).
      expect(tookOverAfter).toBeGreaterThanOrEqual(LEASE_MS);
      expect(charge).toHaveBeenCalledTimes(1);
      const again = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
      expect(again.json()).toEqual(bought!.json());
    } finally {
      charge.mockRestore();
    }
  });

  it('answers 402 for a declined payment, keeps the hold, and lets it be bought afterwards', async () => {
    const gateway = api.app.get(PaymentGateway);
    const held = await hold(api.app, buyer, performance.id, seats(2));
    const headers = { 'idempotency-key': 'declined-then-paid' };
    vi.spyOn(gateway, 'charge').mockRejectedValueOnce(new PaymentDeclinedError());
    const declined = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
    expect(declined.statusCode).toBe(402);
    expect(declined.json()).toMatchObject({ statusCode: 402, error: 'Payment Required' });
    expect((await api.app.get(HoldService).get(buyer.id, held.id)).status).toBe('HELD');
    expect(await api.app.get(SeatStateStore).statuses(performance.id, held.seatIds)).toEqual(['HELD', 'HELD']);

    // The failed attempt released its Idempotency-Key: a retry runs and succeeds.
    const paid = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer, headers });
    expect(paid.statusCode).toBe(201);
    vi.restoreAllMocks();
  });

  it('refunds the charge when the hold can no longer be bought after it', async () => {
    const gateway = api.app.get(PaymentGateway);
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const refund = vi.spyOn(gateway, 'refund');
    // The hold is released between the check and the purchase step, as a racing request could.
    vi.spyOn(gateway, 'charge').mockImplementationOnce(async () => {
      await api.app.get(HoldService).release(buyer.id, held.id);
      return { chargeId: 'ch_raced' };
    });
    const res = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(res.statusCode).toBe(409);
    expect(refund).toHaveBeenCalledWith(expect.objectContaining({ chargeId: 'ch_raced' }));
    vi.restoreAllMocks();
    // The buyer's index of unflushed purchases, written beside the sale, names none that failed.
    const redis = api.app.get(Redis);
    for (const member of await redis.zrange(userPurchasesKey(buyer.id), 0, -1)) {
      const [performanceId, purchaseId] = member.split(':');
      expect(await redis.exists(performanceKeys(Number(performanceId)).purchase(purchaseId)), member).toBe(1);
    }
  });

  it('buys holds the previous version made, and reads and cancels its purchases (rolling upgrade)', async () => {
    const redis = api.app.get(Redis);
    const env = api.app.get(Env);
    const oldHold = await holdTheOldWay(redis, env, buyer.id, performance.id, seats(1));
    const bought = await call('POST', '/purchases', { body: { reservationId: oldHold }, session: buyer });
    expect(bought.statusCode).toBe(201);
    expect(performanceOfId(bought.json().id)).toBe(performance.id);
    expect(await redis.exists(purchasePointerKey(bought.json().id))).toBe(0);
    expect((await call('GET', `/purchases/${bought.json().id}`, { session: buyer })).json()).toEqual(bought.json());

    const keyedHold = await holdTheOldWay(redis, env, buyer.id, performance.id, seats(1));
    const headers = { 'idempotency-key': `upgrade-${keyedHold}` };
    const first = await call('POST', '/purchases', { body: { reservationId: keyedHold }, session: buyer, headers });
    expect(first.statusCode).toBe(201);
    const replay = await call('POST', '/purchases', { body: { reservationId: keyedHold }, session: buyer, headers });
    expect(replay.json()).toEqual(first.json());

    const madeBefore = await holdTheOldWay(redis, env, buyer.id, performance.id, seats(1));
    const oldPurchase = await purchaseTheOldWay(redis, buyer.id, performance.id, madeBefore);
    expect(performanceOfId(oldPurchase)).toBeNull();
    const read = await call('GET', `/purchases/${oldPurchase}`, { session: buyer });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: oldPurchase, reservationId: madeBefore, status: 'PAID' });
    expect((await call('GET', `/purchases/${oldPurchase}`, { session: other })).statusCode).toBe(404);
    const listed = (await call('GET', '/purchases?limit=100', { session: buyer })).json().items;
    expect(listed.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining([oldPurchase, bought.json().id]));
    const canceled = await call('POST', `/purchases/${oldPurchase}/cancel`, { session: buyer });
    expect(canceled.statusCode).toBe(200);
    expect((await call('GET', `/purchases/${oldPurchase}`, { session: buyer })).json().status).toBe('CANCELED');
  });

  it('cancels: refunds, frees the seats for a new hold, writes CANCELED purchase and tickets; a second cancel answers the first (200)', async () => {
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const flushedFirst = await hold(api.app, buyer, performance.id, seats(1));
    const unflushed = await hold(api.app, buyer, performance.id, seats(1));
    const a = (await call('POST', '/purchases', { body: { reservationId: flushedFirst.id }, session: buyer })).json();
    await flushPurchases(api.app);
    const b = (await call('POST', '/purchases', { body: { reservationId: unflushed.id }, session: buyer })).json();

    for (const purchase of [a, b]) {
      const res = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ...purchase, status: 'CANCELED', canceledAt: expect.any(String) });
      expect((await call('GET', `/purchases/${purchase.id}`, { session: buyer })).json().status).toBe('CANCELED');
      // The buyer's cancel is safe to retry (cancel-retry.e2e-spec.ts): the first answer again, no second refund.
      const again = await call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(res.json());
    }
    // The flushed one's cancellation was written to PostgreSQL and refunded at once; the other's
    // refund follows its flush, by the payment reconciler.
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${a.id}`]);
    await flushPurchases(api.app);
    const ledger = new Client({ connectionString: api.env.DATABASE_URL });
    await ledger.connect();
    try {
      await reconcileUntilSettled(api, ledger, [b.id]);
    } finally {
      await ledger.end();
    }
    expect(refund.mock.calls.map(([request]) => request.chargeId)).toEqual([`ch_${a.id}`, `ch_${b.id}`]);
    vi.restoreAllMocks();

    // The seats are for sale again: another user holds and buys them.
    const resold = await hold(api.app, other, performance.id, [...a.seatIds, ...b.seatIds]);
    const bought = await call('POST', '/purchases', { body: { reservationId: resold.id }, session: other });
    expect(bought.statusCode).toBe(201);

    await flushPurchases(api.app);
    const db = await persisted(api.env.DATABASE_URL, [a.id, b.id, bought.json().id]);
    expect(db.purchases.map((p) => [p.id, p.status])).toEqual(
      [
        [a.id, 'CANCELED'],
        [b.id, 'CANCELED'],
        [bought.json().id, 'PAID'],
      ].sort(),
    );
    expect(
      db.purchases.filter((p) => p.status === 'CANCELED' && p.canceled_at === null).map((p) => p.id),
      'CANCELED purchases without canceled_at',
    ).toEqual([]);
    const ticketsOf = (id: string) => db.tickets.filter((t) => t.purchase_id === id).map((t) => t.status);
    expect(ticketsOf(a.id)).toEqual(['CANCELED']);
    expect(ticketsOf(b.id)).toEqual(['CANCELED']);
    expect(ticketsOf(bought.json().id)).toEqual(['ACTIVE', 'ACTIVE']);
    expect((await call('GET', `/purchases/${a.id}`, { session: buyer })).json().status).toBe('CANCELED');
  });

  it('applies a cancellation after the batches before it and before those after it, with several batches in flight', async () => {
    const flusher = api.app.get(PurchaseFlusher);
    const [seat] = seats(1);
    const first = await hold(api.app, buyer, performance.id, [seat]);
    const a = (await call('POST', '/purchases', { body: { reservationId: first.id }, session: buyer })).json();
    await waitUntil(async () => {
      await flushPurchases(api.app);
      return (await persisted(api.env.DATABASE_URL, [a.id])).purchases.length === 1;
    }, 'the first purchase flushed');

    // In the stream, one entry per batch: the cancellation, a new sale of the seat it frees, and more sales.
    expect((await call('POST', `/purchases/${a.id}/cancel`, { session: buyer })).statusCode).toBe(200);
    const resold = await hold(api.app, other, performance.id, [seat]);
    const b = (await call('POST', '/purchases', { body: { reservationId: resold.id }, session: other })).json();
    const more: string[] = [];
    for (const seatId of seats(4)) {
      const held = await hold(api.app, other, performance.id, [seatId]);
      more.push((await call('POST', '/purchases', { body: { reservationId: held.id }, session: other })).json().id);
    }
    // Every write is held while the flusher could still start another before it: until none of its
    // Redis calls and released writes is under way and a turn of the event loop has started none
    // (it waits for a held write, or is done). So a write started out of order overlaps the
    // cancellation's, and the purchases' batches are in flight together up to `inFlight`.
    const repository = api.app.get(PurchaseRepository);
    const writeBatch = repository.writeBatch.bind(repository);
    const idle = flusherIdleLatch(api.app.get(PurchaseFlushStore));
    const running = new Set<PurchaseFlushBatch>();
    const overlaps: string[] = [];
    let mostAtOnce = 0;
    vi.spyOn(repository, 'writeBatch').mockImplementation(async (batch, bounds) => {
      for (const other of running) {
        if (batch.cancellations.length > 0 || other.cancellations.length > 0)
          overlaps.push('a cancellation overlapped');
      }
      running.add(batch);
      mostAtOnce = Math.max(mostAtOnce, running.size);
      try {
        await idle();
        return await idle.counted(() => writeBatch(batch, bounds));
      } finally {
        running.delete(batch);
      }
    });
    let written = 0;
    try {
      await waitUntil(async () => {
        written += await flusher.flushOnce({ batchSize: 1, inFlight: 3 });
        return written >= 6;
      }, 'the six entries flushed');
    } finally {
      vi.restoreAllMocks();
    }
    expect(overlaps).toEqual([]);
    expect(mostAtOnce, 'purchase batches in flight at once').toBeGreaterThan(1);
    expect(mostAtOnce).toBeLessThanOrEqual(3);

    const db = await persisted(api.env.DATABASE_URL, [a.id, b.id, ...more]);
    expect(db.purchases.map((p) => [p.id, p.status]).sort()).toEqual(
      [[a.id, 'CANCELED'], [b.id, 'PAID'], ...more.map((id) => [id, 'PAID'])].sort(),
    );
    expect(
      db.tickets
        .filter((t) => t.seat_id === seat)
        .map((t) => [t.purchase_id, t.status])
        .sort(),
    ).toEqual(
      [
        [a.id, 'CANCELED'],
        [b.id, 'ACTIVE'],
      ].sort(),
    );
    expect(db.tickets.filter((t) => more.includes(t.purchase_id))).toHaveLength(4);
    expect(db.outbox.map((m) => m.message_id).sort()).toEqual(
      [a.id, b.id, ...more].map((id) => `purchase-completed:${id}`).sort(),
    );
  });

  /**
   * Two `batch` processes, driven by hand: the first has read the purchase and is writing it (its
   * write held until released), when the purchase is canceled (and, with `resell`, its seat sold
   * again) and the second flushes those entries. Returns the purchase and the new sale, if any.
   */
  async function cancelWhileAnotherFlusherWrites(resell: boolean): Promise<{ canceled: string; resold?: string }> {
    const first = api.app.get(PurchaseFlusher);
    const second = new PurchaseFlusher(
      api.app.get(PurchaseFlushStore),
      api.app.get(Env),
      api.app.get(PurchaseRepository),
      api.app.get(Clock),
    );
    Object.assign(second, { consumer: `${first.consumer}-second` });
    const [seat] = seats(1);
    const held = await hold(api.app, buyer, performance.id, [seat]);
    const a = (await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer })).json();

    const repository = api.app.get(PurchaseRepository);
    const writeBatch = repository.writeBatch.bind(repository);
    let entered = () => {};
    const inFlight = new Promise<void>((resolve) => (entered = resolve));
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(repository, 'writeBatch').mockImplementation(async (batch, bounds) => {
      if (batch.purchases.some((p) => p.id === a.id)) {
        entered();
        await released;
      }
      return writeBatch(batch, bounds);
    });
    try {
      let firstPass: Promise<number> = Promise.resolve(0);
      await waitUntil(async () => {
        firstPass = first.flushOnce({ batchSize: 500 });
        return Promise.race([firstPass.then(() => false), inFlight.then(() => true)]);
      }, 'the purchase read by the first flusher');

      expect((await call('POST', `/purchases/${a.id}/cancel`, { session: buyer })).statusCode).toBe(200);
      let resold: string | undefined;
      let entries = 1;
      if (resell) {
        const again = await hold(api.app, other, performance.id, [seat]);
        resold = (await call('POST', '/purchases', { body: { reservationId: again.id }, session: other })).json().id;
        entries += 1;
      }
      let written = 0;
      await waitUntil(async () => {
        written += await second.flushOnce({ batchSize: 500 });
        return written >= entries;
      }, 'the second flusher wrote the cancellation');

      release();
      // A new active ticket for the seat fails the first write: its entries stay pending, retried.
      await firstPass.catch(() => 0);
      await waitUntil(async () => {
        await first.flushOnce({ batchSize: 500 }).catch(() => 0);
        return (await persisted(api.env.DATABASE_URL, [a.id])).purchases.length === 1;
      }, 'the purchase written');
      await flushPurchases(api.app);
      return { canceled: a.id, resold };
    } finally {
      release();
      vi.restoreAllMocks();
    }
  }

  it('writes batches of several performances at once, never more than inFlight together', async () => {
    // Cut-off now (PURCHASE_FLUSH_AGE_SECONDS 0): both performances' entries are due in the first
    // pass, however slowly the purchases below are made.
    const flusher = api.app.get(PurchaseFlusher);
    const performances = [await createPerformance(api.app, admin, 2), await createPerformance(api.app, admin, 2)];
    const bought: string[] = [];
    for (const { id, seatIds } of performances) {
      for (const seatId of seatIds) {
        const held = await hold(api.app, buyer, id, [seatId]);
        bought.push((await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer })).json().id);
      }
    }
    const repository = api.app.get(PurchaseRepository);
    const writeBatch = repository.writeBatch.bind(repository);
    const running: number[] = [];
    let mostAtOnce = 0;
    let performancesAtOnce = 0;
    let overlapped: () => void = () => undefined;
    const overlap = new Promise<void>((resolve) => (overlapped = resolve));
    vi.spyOn(repository, 'writeBatch').mockImplementation(async (batch, bounds) => {
      const performanceId = batch.purchases[0]?.performanceId ?? 0;
      running.push(performanceId);
      mostAtOnce = Math.max(mostAtOnce, running.length);
      performancesAtOnce = Math.max(performancesAtOnce, new Set(running).size);
      if (performancesAtOnce > 1) overlapped();
      try {
        // Held until a write of another performance has started; performances written one after
        // the other never get there, and go on after 5 s so the assertions below say so.
        await Promise.race([overlap, new Promise((resolve) => setTimeout(resolve, 5000))]);
        return await writeBatch(batch, bounds);
      } finally {
        running.splice(running.indexOf(performanceId), 1);
      }
    });
    try {
      await waitUntil(async () => {
        await flusher.flushOnce({ batchSize: 1, inFlight: 3 });
        return (await persisted(api.env.DATABASE_URL, bought)).purchases.length === bought.length;
      }, 'the purchases of both performances flushed');
    } finally {
      vi.restoreAllMocks();
    }
    expect(performancesAtOnce).toBeGreaterThan(1);
    expect(mostAtOnce).toBeLessThanOrEqual(3);
  });

  it('keeps a cancellation written by another flusher while the purchase was in flight there', async () => {
    const { canceled } = await cancelWhileAnotherFlusherWrites(false);
    const db = await persisted(api.env.DATABASE_URL, [canceled]);
    expect(db.purchases.map((p) => p.status)).toEqual(['CANCELED']);
    expect(db.tickets.map((t) => t.status)).toEqual(['CANCELED']);
  });

  it('keeps it too when the freed seat was sold again and written before the purchase', async () => {
    const { canceled, resold } = await cancelWhileAnotherFlusherWrites(true);
    const db = await persisted(api.env.DATABASE_URL, [canceled, String(resold)]);
    expect(db.purchases.map((p) => [p.id, p.status]).sort()).toEqual(
      [
        [canceled, 'CANCELED'],
        [resold, 'PAID'],
      ].sort(),
    );
    expect(db.tickets.map((t) => [t.purchase_id, t.status]).sort()).toEqual(
      [
        [canceled, 'CANCELED'],
        [resold, 'ACTIVE'],
      ].sort(),
    );
  });

  it('marks the open payment attempt of a flushed purchase COMPLETED, in its write, and leaves a refunded one alone (P9)', async () => {
    const open = await hold(api.app, buyer, performance.id, seats(1));
    const refunded = await hold(api.app, buyer, performance.id, seats(1));
    const a = (await call('POST', '/purchases', { body: { reservationId: open.id }, session: buyer })).json();
    const b = (await call('POST', '/purchases', { body: { reservationId: refunded.id }, session: buyer })).json();
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      // As the request path leaves them once it no longer completes the attempt itself.
      await db.query(`UPDATE payment_attempts SET status = 'CHARGED', resolved_at = NULL WHERE purchase_id = $1`, [
        a.id,
      ]);
      await db.query(`UPDATE payment_attempts SET status = 'REFUNDED' WHERE purchase_id = $1`, [b.id]);
      const attempts = async () =>
        (
          await db.query(
            'SELECT purchase_id, status, resolved_at, charge_id FROM payment_attempts WHERE purchase_id = ANY($1::uuid[])',
            [[a.id, b.id]],
          )
        ).rows as { purchase_id: string; status: string; resolved_at: Date | null; charge_id: string | null }[];
      expect((await attempts()).find((row) => row.purchase_id === a.id)?.status).toBe('CHARGED');

      await waitUntil(async () => {
        await flushPurchases(api.app);
        return (await persisted(api.env.DATABASE_URL, [a.id, b.id])).purchases.length === 2;
      }, 'both purchases flushed');
      const rows = await attempts();
      const completed = rows.find((row) => row.purchase_id === a.id);
      expect(completed).toMatchObject({ status: 'COMPLETED', resolved_at: expect.any(Date) });
      expect(completed?.charge_id).toBeTruthy();
      expect(rows.find((row) => row.purchase_id === b.id)?.status).toBe('REFUNDED');
    } finally {
      await db.end();
    }
  });

  it('ends a flush write stalled in PostgreSQL at PURCHASE_BATCH_STATEMENT_TIMEOUT_MS, keeps it pending, and writes it on the next pass', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const bought = (await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer })).json();
    const flusher = new PurchaseFlusher(
      api.app.get(PurchaseFlushStore),
      { ...api.app.get(Env), PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: 300 } as Env,
      api.app.get(PurchaseRepository),
      api.app.get(Clock),
    );
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      // Every insert into purchases sleeps: the write stalls without waiting for any lock, so only
      // the statement bound ends it (without it the pass waits out the test's timeout).
      await db.query(
        `CREATE FUNCTION stall_flush() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(300); RETURN NEW; END $$`,
      );
      await db.query(
        `CREATE TRIGGER stall_flush BEFORE INSERT ON purchases FOR EACH ROW EXECUTE FUNCTION stall_flush()`,
      );
      let failure: unknown;
      try {
        failure = await flusher.flushOnce({ batchSize: 500 }).then(
          (written) => `wrote ${written}`,
          (error: Error) => error.message,
        );
      } finally {
        await db.query(`DROP TRIGGER stall_flush ON purchases`);
        await db.query(`DROP FUNCTION stall_flush()`);
      }
      expect(failure).toContain('canceling statement due to statement timeout');
      expect((await persisted(api.env.DATABASE_URL, [bought.id])).purchases).toEqual([]);
      // The entry stayed pending: the next pass writes it first.
      expect(await flusher.flushOnce({ batchSize: 500 })).toBeGreaterThanOrEqual(1);
      expect((await persisted(api.env.DATABASE_URL, [bought.id])).purchases).toMatchObject([{ id: bought.id }]);
    } finally {
      await db.end();
    }
  });

  it('pages the caller’s purchases newest first, flushed or not, each once', async () => {
    const session = await createSession(api.app);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const held = await hold(api.app, session, performance.id, seats(1));
      const res = await call('POST', '/purchases', { body: { reservationId: held.id }, session });
      ids.push(res.json().id);
      if (i === 2) {
        await flushPurchases(api.app);
      }
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/purchases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { session });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().items.map((p: { id: string }) => p.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('hides purchases from everyone but their owner (404)', async () => {
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const purchase = (await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer })).json();
    expect((await call('GET', `/purchases/${purchase.id}`, { session: other })).statusCode).toBe(404);
    expect((await call('POST', `/purchases/${purchase.id}/cancel`, { session: other })).statusCode).toBe(404);
    expect(
      (await call('GET', '/purchases', { session: other })).json().items.map((p: { id: string }) => p.id),
    ).not.toContain(purchase.id);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call('GET', `/purchases/${unknown}`, { session: buyer })).statusCode).toBe(404);
    expect((await call('POST', '/purchases', { body: { reservationId: unknown }, session: buyer })).statusCode).toBe(
      404,
    );
    // Another user's hold is not found either, and stays held.
    const theirs = await hold(api.app, other, performance.id, seats(1));
    expect((await call('POST', '/purchases', { body: { reservationId: theirs.id }, session: buyer })).statusCode).toBe(
      404,
    );
    expect((await call('GET', '/purchases')).statusCode).toBe(401);
  });

  it.each([
    ['a missing reservationId', {}, {}],
    ['a reservationId that is no uuid', { reservationId: 'abc' }, {}],
    ['an unknown field', { reservationId: '00000000-0000-4000-8000-000000000000', extra: 1 }, {}],
    ['an empty Idempotency-Key', { reservationId: '00000000-0000-4000-8000-000000000000' }, { 'idempotency-key': '' }],
    [
      'a too long Idempotency-Key',
      { reservationId: '00000000-0000-4000-8000-000000000000' },
      { 'idempotency-key': 'k'.repeat(201) },
    ],
  ])('answers 400 for %s', async (_name, body, headers) => {
    const res = await call('POST', '/purchases', { body, session: buyer, headers });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('rebuilds lost seat state from PostgreSQL with the seats of active tickets sold', async () => {
    await flushPurchases(api.app);
    const before = (await call('GET', `/performances/${performance.id}`)).json();
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    const after = (await call('GET', `/performances/${performance.id}`)).json();
    // Holds are Redis-only and gone with the state; sold seats come back from the tickets.
    expect(after.sold).toBe(before.sold);
    expect(after.available).toBe(before.available + before.held);
  });

  it('answers 400 for ids that are not uuids and for forged cursors', async () => {
    expect((await call('GET', '/purchases/42', { session: buyer })).statusCode).toBe(400);
    expect((await call('POST', '/purchases/not-a-uuid/cancel', { session: buyer })).statusCode).toBe(400);
    expect((await call('GET', '/purchases?cursor=forged!', { session: buyer })).statusCode).toBe(400);
    expect((await call('GET', '/purchases?limit=101', { session: buyer })).statusCode).toBe(400);
  });

  it('answers 404 for a reservation id whose performance field is beyond a PostgreSQL integer', async () => {
    // Its performance field once reached the admission check's query (a 500).
    for (const reservationId of ['b0f18000-0000-8000-8000-000000000000', 'b0f1ffff-ffff-8abc-9def-0123456789ab']) {
      const res = await call('POST', '/purchases', { session: buyer, body: { reservationId } });
      expect(res.statusCode, reservationId).toBe(404);
      expect(res.json(), reservationId).toMatchObject({ statusCode: 404 });
    }
  });
});

describe('a declining payment gateway bound in place of the default', () => {
  it('declines the purchase with a payment_required error and keeps the hold', async () => {
    const env = await createTestEnv();
    const moduleRef = await Test.createTestingModule({ imports: [ApiModule.forRoot(env)] })
      .overrideProvider(PaymentGateway)
      .useClass(DecliningPaymentGateway)
      .compile();
    await moduleRef.init();
    try {
      const buyerId = randomUUID();
      const operator = { id: randomUUID(), email: 'ops@example.com' };
      const performance = await moduleRef.get(PerformanceService).createPerformance(
        (await moduleRef.get(EventService).createEvent({ title: 'Gig', venue: 'Club' }, operator)).id,
        {
          startsAt: new Date('2030-01-01T20:00:00Z'),
          sections: [{ name: 'A', grade: 'A', price: 10, rows: 1, seatsPerRow: 2 }],
        },
        operator,
      );
      const [seat] = (await moduleRef.get(SeatPageService).listSeats(performance.id, { limit: 1 })).items;
      const held = await moduleRef.get(HoldService).hold(buyerId, performance.id, [seat.id]);
      await expect(moduleRef.get(PurchaseService).purchase(buyerId, held.id)).rejects.toMatchObject({
        kind: 'payment_required',
        code: 'PaymentDeclined',
      });
      expect((await moduleRef.get(HoldService).get(buyerId, held.id)).status).toBe('HELD');
    } finally {
      await moduleRef.close();
      await destroyTestEnv(env);
    }
  });
});

describe('purchases after the hold expired (RESERVATION_TTL_SECONDS=1)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startTestApi({
      RESERVATION_TTL_SECONDS: '1',
    });
  });
  afterAll(async () => api?.close());

  it('answers 409 and charges nothing', async () => {
    const admin = await createSession(api.app, { role: Role.Admin });
    const buyer = await createSession(api.app);
    const performance = await createPerformance(api.app, admin, 4);
    const held = await hold(api.app, buyer, performance.id, performance.seatIds.slice(0, 2));
    await waitUntil(
      async () => (await api.app.get(HoldService).get(buyer.id, held.id)).status === 'EXPIRED',
      'the hold expired',
    );
    const charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
    const res = await caller(api.app)('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toBe('reservation has expired');
    expect(charge).not.toHaveBeenCalled();
  });
});

describe('a purchase PostgreSQL refuses for good (the account of its buyer gone)', () => {
  let api: ApiHarness;
  let db: Client;

  beforeAll(async () => {
    api = await startTestApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('is parked (logged, counted, out of the pending list), the rest of its batch and later purchases are written, its seats are freed and its charge refunded', async () => {
    const call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    const [first, ghost, last] = [
      await createSession(api.app),
      await createSession(api.app),
      await createSession(api.app),
    ];
    const performance = await createPerformance(api.app, admin, 10);
    const keys = performanceKeys(performance.id);
    const redis = api.app.get(Redis);
    const flusher = api.app.get(PurchaseFlusher);
    const buy = async (session: TestSession, seatIds: number[]): Promise<string> => {
      const held = await hold(api.app, session, performance.id, seatIds);
      const res = await call('POST', '/purchases', { body: { reservationId: held.id }, session });
      expect(res.statusCode).toBe(201);
      return res.json().id as string;
    };
    // One batch: the refused purchase between two good ones.
    const good = [await buy(first, performance.seatIds.slice(0, 2))];
    const ghostSeats = performance.seatIds.slice(2, 4);
    const refused = await buy(ghost, ghostSeats);
    good.push(await buy(last, performance.seatIds.slice(4, 5)));
    await db.query('DELETE FROM users WHERE id = $1', [ghost.id]);

    const bought = () => redis.hgetall(keys.ticketsBought);
    expect(await bought()).toEqual({ [first.id]: '2', [ghost.id]: '2', [last.id]: '1' });
    const errors = vi.spyOn(Logger.prototype, 'error');
    expect(await flusher.flushOnce({ batchSize: 500 })).toBe(2);
    // The parked purchase's seats are out of its buyer's count (the ticket limit's); the others kept.
    expect(await bought()).toEqual({ [first.id]: '2', [last.id]: '1' });
    expect((await persisted(api.env.DATABASE_URL, good)).purchases).toHaveLength(2);
    expect((await persisted(api.env.DATABASE_URL, [refused])).purchases).toHaveLength(0);
    const parked = await redis.xrange(keys.purchaseDeadLetters, '-', '+');
    expect(parked).toHaveLength(1);
    const fields = parked[0][1];
    expect(fields[fields.indexOf('id') + 1]).toBe(refused);
    expect(fields[fields.indexOf('error') + 1]).toMatch(/^23503 purchases_user_fk: /);
    expect(await redis.xlen(keys.purchaseStream)).toBe(0);
    expect(((await redis.xpending(keys.purchaseStream, 'flusher')) as [number])[0]).toBe(0);
    expect((await flusher.parked.get()).values[0].value).toBe(1);
    expect(errors).toHaveBeenCalledWith(
      expect.objectContaining({ boxoffice: expect.objectContaining({ event: 'purchase_parked' }) }),
    );
    errors.mockRestore();
    // Nothing left to retry.
    expect(await flusher.flushOnce({ batchSize: 500 })).toBe(0);
    // It did not happen: neither shown nor cancelable (its seats may be someone else's by now).
    expect((await call('GET', `/purchases/${refused}`, { session: ghost })).statusCode).toBe(404);
    expect((await call('POST', `/purchases/${refused}/cancel`, { session: ghost })).statusCode).toBe(404);

    // Its seats: sold with nothing behind them, freed by the seat reconciler.
    const repairs = (await api.app.get(SeatReconciler).reconcilePerformance(performance.id)).repairs;
    expect(repairs.map((repair) => [repair.seatId, repair.kind]).sort()).toEqual(
      ghostSeats.map((seatId) => [seatId, 'sold_unbacked']).sort(),
    );
    expect(await api.app.get(SeatStateStore).statuses(performance.id, ghostSeats)).toEqual(['AVAILABLE', 'AVAILABLE']);

    // Its charge: refunded (P9); the good ones' attempts completed.
    const refund = vi.spyOn(api.app.get(PaymentGateway), 'refund');
    const statusOf = async (purchaseId: string) =>
      (
        (await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).rows[0] as {
          status: string;
        }
      ).status;
    await reconcileUntilSettled(api, db, [refused, ...good]);
    expect(await statusOf(refused)).toBe('REFUNDED');
    expect(refund).toHaveBeenCalledTimes(1);
    refund.mockRestore();
    for (const id of good) expect(await statusOf(id)).toBe('COMPLETED');

    // A later purchase of the performance, of a seat the parked one had, is written as any other.
    const later = await buy(first, ghostSeats.slice(0, 1));
    expect(await flusher.flushOnce({ batchSize: 500 })).toBe(1);
    expect((await persisted(api.env.DATABASE_URL, [later])).tickets).toEqual([
      { purchase_id: later, seat_id: ghostSeats[0], status: 'ACTIVE' },
    ]);
  });

  it('keeps its performance and event: deletes are refused (409 has purchases) while the parked purchase exists', async () => {
    const call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    const ghost = await createSession(api.app);
    const performance = await createPerformance(api.app, admin, 4);
    const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
    const keys = performanceKeys(performance.id);
    const held = await hold(api.app, ghost, performance.id, performance.seatIds.slice(0, 2));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: ghost });
    expect(bought.statusCode, bought.body).toBe(201);
    await db.query('DELETE FROM users WHERE id = $1', [ghost.id]);
    expect(await api.app.get(PurchaseFlusher).flushOnce({ batchSize: 500 })).toBe(0);
    expect(await api.app.get(Redis).xlen(keys.purchaseDeadLetters)).toBe(1);
    // Its seats freed by the seat reconciler: no sold seat, no stream entry, no row in PostgreSQL.
    await api.app.get(SeatReconciler).reconcilePerformance(performance.id);
    expect(await api.app.get(SeatStateStore).counts(performance.id)).toMatchObject({ sold: 0 });

    const performanceDelete = await call('DELETE', `/performances/${performance.id}`, { session: admin });
    expect(performanceDelete.statusCode, performanceDelete.body).toBe(409);
    expect(performanceDelete.json()).toMatchObject({
      message: 'performance has purchases and cannot be deleted',
      details: { performanceId: performance.id },
    });
    const eventDelete = await call('DELETE', `/events/${eventId}`, { session: admin });
    expect(eventDelete.statusCode, eventDelete.body).toBe(409);
    expect(eventDelete.json()).toMatchObject({
      message: 'event has purchases and cannot be deleted',
      details: { performanceId: performance.id },
    });
    // The parked entry is still there for the operator, and the performance sells (not left closed).
    expect(await api.app.get(Redis).xlen(keys.purchaseDeadLetters)).toBe(1);
    expect((await hold(api.app, admin, performance.id, performance.seatIds.slice(2, 3))).status).toBe('HELD');
  });

  it('refuses holds and purchases (401, as GET /users/me) of a well-signed token whose account does not exist', async () => {
    const call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    const [buyer, gone] = [await createSession(api.app), await createSession(api.app)];
    const performance = await createPerformance(api.app, admin, 4);
    // A hold made before the account went (through the service: no route has checked it yet).
    const held = await hold(api.app, gone, performance.id, performance.seatIds.slice(0, 1));
    await db.query('DELETE FROM users WHERE id = $1', [gone.id]);

    const me = await call('GET', '/users/me', { session: gone });
    expect(me.statusCode).toBe(401);
    const reservation = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(1, 2) },
      session: gone,
    });
    const purchase = await call('POST', '/purchases', { body: { reservationId: held.id }, session: gone });
    // The same body but for where and when.
    const uniform = (body: object) => ({ ...body, path: null, requestId: null, timestamp: null });
    for (const res of [reservation, purchase]) {
      expect(res.statusCode).toBe(401);
      expect(uniform(res.json())).toEqual(uniform(me.json()));
    }
    expect(me.json().message).toBe('the account of this token no longer exists');
    // An account that exists still holds and buys.
    const ok = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(2, 3) },
      session: buyer,
    });
    expect(ok.statusCode).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: ok.json().id }, session: buyer });
    expect(bought.statusCode).toBe(201);
    // Known to exist from its first checked request on: no more reads of PostgreSQL for it.
    const reads = vi.spyOn(api.app.get(UsersRepository), 'existingAccounts');
    const again = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: performance.seatIds.slice(3, 4) },
      session: buyer,
    });
    expect(again.statusCode).toBe(201);
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
  });
});

describe('a charge slower than the lease of its claim on the hold (real Redis and PostgreSQL)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    // The claim's lease is 2 × 100 ms: any charge that waits on the test outlasts it.
    api = await startTestApi({ PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: '100' });
  });
  afterAll(async () => api?.close());

  it('keeps the hold to the attempt charging: a second attempt is refused (409 in progress) and charges nothing', async () => {
    const call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    const buyer = await createSession(api.app);
    const performance = await createPerformance(api.app, admin, 2);
    const held = await hold(api.app, buyer, performance.id, performance.seatIds.slice(0, 1));
    const redis = api.app.get(Redis);
    const holdKey = performanceKeys(performance.id).hold(held.id);
    const gateway = api.app.get(PaymentGateway);
    const approve = gateway.charge.bind(gateway);
    let charging!: () => void;
    const started = new Promise<void>((resolve) => (charging = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // A slow gateway: the first charge answers only when the test says so.
    const charge = vi.spyOn(gateway, 'charge').mockImplementationOnce(async (request) => {
      charging();
      await answered;
      return approve(request);
    });
    const redisNow = async () => {
      const [seconds, micros] = (await redis.time()).map(Number);
      return seconds * 1000 + Math.floor(micros / 1000);
    };

    const first = call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    await started;
    // The lease the attempt claimed the hold with (or a later one) has run out by Redis time.
    const claimedUntil = Number(await redis.hget(holdKey, 'claimedUntil'));
    await waitUntil(async () => (await redisNow()) > claimedUntil, 'the lease of the first claim over', 10_000, 20);
    const second = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    answer();
    const firstAnswer = await first;

    expect(second.statusCode, second.body).toBe(409);
    expect(second.json().message).toBe('a purchase of this reservation is in progress');
    expect(charge).toHaveBeenCalledTimes(1);
    expect(firstAnswer.statusCode, firstAnswer.body).toBe(201);
    charge.mockRestore();
  });
});

/**
 * Latch for writes a test holds inside a flusher: `await idle()` resolves once none of `store`'s
 * calls (every method is counted from here until `vi.restoreAllMocks()`) nor of those passed
 * through `idle.counted` is under way, and a turn of the event loop (its promise callbacks run)
 * has started none: the flusher's I/O goes through those, so it then waits for a held write or is
 * done, and can start no other write first. Every waiting `idle()` is released together.
 */
function flusherIdleLatch(store: PurchaseFlushStore): (() => Promise<void>) & {
  counted<T>(call: () => Promise<T>): Promise<T>;
} {
  let underWay = 0;
  let started = 0;
  let checking = false;
  const waiting: (() => void)[] = [];
  const check = (): void => {
    if (checking || waiting.length === 0) return;
    checking = true;
    const seen = started;
    setImmediate(() => {
      checking = false;
      // A call under way checks again when it ends.
      if (underWay > 0) return;
      if (started === seen) for (const release of waiting.splice(0)) release();
      else check();
    });
  };
  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    underWay += 1;
    started += 1;
    try {
      return await call();
    } finally {
      underWay -= 1;
      check();
    }
  };
  const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.getOwnPropertyNames(PurchaseFlushStore.prototype)) {
    const method = Object.getOwnPropertyDescriptor(PurchaseFlushStore.prototype, name)?.value as unknown;
    if (name === 'constructor' || typeof method !== 'function') continue;
    vi.spyOn(methods, name).mockImplementation((...args: unknown[]) => {
      const result: unknown = method.apply(store, args);
      return result instanceof Promise ? counted(() => result) : result;
    });
  }
  const idle = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      check();
    });
  return Object.assign(idle, { counted });
}
