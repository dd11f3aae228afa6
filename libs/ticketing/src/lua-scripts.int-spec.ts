import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callScript, createRedis, defineScripts, loadLuaScript } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv, waitUntil } from '@app/testing';
import { blockSeats, releaseSeatBlocks } from './blocks/seat-block-scripts';
import { freeSeatsAfter } from './catalog/free-seats-scripts';
import { sectionAvailability } from './catalog/section-scripts';
import { drawHall, hallRegistration, seatingDisagreements } from '../test/halls';
import { holdBestAvailable } from './holds/best-available-scripts';
import { endCanceledHolds, expireHolds, holdCompSeats, holdSeats, indexHold, releaseHold } from './holds/hold-scripts';
import { defineTicketingScripts, TICKETING_SCRIPTS } from './lua-scripts';
import {
  ackFlushed,
  cancelPurchase,
  refundSeats,
  canceledPurchases,
  claimHold,
  claimIdempotencyKey,
  deliverDuePurchases,
  ensureFlushGroup,
  forgetFlushed,
  parkPurchase,
  purchaseHold,
  releaseHoldClaim,
  releaseIdempotencyClaim,
  renewHoldClaim,
  renewIdempotencyClaim,
} from './purchases/purchase-scripts';
import { PresaleStore } from './presales/presale.store';
import { idempotencyKey, performanceKeys, userHoldPerformancesKey } from './redis-keys';
import { reconcileSeats, streamMark } from './seats/reconcile-scripts';
import {
  changeRebuildLease,
  closeSales,
  finishRegistration,
  raiseTicketsBought,
  registerSeats,
  renewSalesClosure,
  reopenSales,
} from './seats/seat-scripts';
import { SeatStateStore } from './seats/seat-state.store';
import { SEATING_FORMAT } from './seats/seating-layout';
import { rebuildSeating } from './seats/seating-scripts';
import {
  checkInEntry,
  checkInMarkMember,
  markCheckIn,
  markTransfer,
  undoCheckIn,
  unmarkTransfers,
} from './tickets/ticket-scripts';
import { WaitingRoomStore } from './waiting-room/waiting-room.store';

/**
 * One representative run of every ticketing script, on the real Redis, with the key check on
 * (libs/testing/src/lua-key-check.setup.ts): a script touching a key not passed in KEYS fails.
 */
describe('ticketing Lua scripts keep to their KEYS', () => {
  let env: TestEnv;
  let redis: Redis;
  const ran = new Set<string>();

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
    defineTicketingScripts(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('runs checked in the int tests: a script building its own key is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bo-lua-'));
    writeFileSync(
      join(dir, 'bad.lua'),
      "-- KEYS[1]: a hold hash. Reads a sibling key it builds.\n--- @keys 1\nreturn redis.call('HGET', KEYS[1] .. 'x', 'status')\n",
    );
    defineScripts(redis, [{ name: 'badSibling', file: join(dir, 'bad.lua') }]);
    await expect(callScript(redis, 'badSibling', [performanceKeys(1).hold('h')], [])).rejects.toThrow(/not in KEYS/);
  });

  it('declares a key count in every file and resolves every include', () => {
    for (const script of TICKETING_SCRIPTS) {
      const loaded = loadLuaScript(script.file);
      expect(loaded.lua, script.name).not.toMatch(/--- @include/);
      expect(loaded.numberOfKeys, script.name).not.toBeNaN();
    }
  });

  it('seats, holds and expiry', async () => {
    const keys = performanceKeys(1);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    const seats = Array.from({ length: 6 }, (_, index) => ({ id: index + 1, price: 100, sold: index === 5 }));
    expect(await registerSeats(redis, keys, seats)).toBe(6);
    ran.add('boxofficeRegisterSeats');

    const request = { userId: 'u1', performanceId: 1, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    expect(await holdSeats(redis, keys, { ...request, holdId: 'h1', seatIds: [1, 2] })).toMatchObject({
      outcome: 'OK',
    });
    expect(await releaseHold(redis, keys, 'h1', 'u1')).toBe('RELEASED');
    ran.add('boxofficeHoldSeats').add('boxofficeReleaseHold');

    // Short holds: one the sweeper ends, one a later hold of its seat ends (its record passed in KEYS).
    const short = { ...request, lifetimeMs: 20 };
    await holdSeats(redis, keys, { ...short, holdId: 'h2', seatIds: [1] });
    const last = await holdSeats(redis, keys, { ...short, holdId: 'h3', seatIds: [2] });
    if (last.outcome !== 'OK') throw new Error(`hold h3: ${last.outcome}`);
    await waitUntil(
      async () => {
        const [seconds, micros] = (await redis.time()).map(Number);
        return seconds * 1000 + micros / 1000 > last.expiresAt;
      },
      'short holds expired (Redis time)',
      5_000,
      10,
    );
    expect(await holdSeats(redis, keys, { ...request, holdId: 'h4', seatIds: [2] })).toMatchObject({ outcome: 'OK' });
    expect(await expireHolds(redis, keys, ['h2', 'h3', 'gone'])).toEqual({ holds: 1, seats: 1 });
    ran.add('boxofficeExpireHolds');
    expect(await redis.hgetall(keys.counts)).toEqual({ total: '6', available: '4', held: '1', sold: '1' });

    // A seat sold: the counts, and the performance stays open (its delete is refused anyway).
    expect(await closeSales(redis, keys, 'a', 60_000)).toEqual({
      closed: false,
      sold: 1,
      held: 1,
      unwritten: 0,
      parked: 0,
    });
    expect(await redis.hget(keys.meta, 'closed')).toBeNull();
    ran.add('boxofficeCloseSales');
  });

  it("closes sales under each closer's token: a reopen ends only the caller's own closure", async () => {
    const keys = performanceKeys(40);
    const lease = 60_000;
    expect(await closeSales(redis, keys, 'a', lease), 'not registered').toBeNull();
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    expect(
      await registerSeats(
        redis,
        keys,
        [1, 2].map((id) => ({ id, price: 100, sold: false })),
      ),
    ).toBe(2);
    const request = { userId: 'u1', performanceId: 40, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    const holdOf = (holdId: string) => holdSeats(redis, keys, { ...request, holdId, seatIds: [1] });
    const open = { closed: true, sold: 0, held: 0, unwritten: 0, parked: 0 };
    await expect(closeSales(redis, keys, 'not a token', lease)).rejects.toThrow(/bad token/);
    await expect(closeSales(redis, keys, '', lease)).rejects.toThrow(/bad token/);
    await expect(closeSales(redis, keys, 'token-a', 0)).rejects.toThrow(/bad lease/);

    expect(await closeSales(redis, keys, 'token-a', lease)).toEqual(open);
    // B closes an already closed sale: A's closure stays, B's joins it; A closing again adds nothing.
    expect(await closeSales(redis, keys, 'token-b', lease)).toEqual(open);
    expect(await closeSales(redis, keys, 'token-a', lease)).toEqual(open);
    expect(await redis.hget(keys.meta, 'closed')).toMatch(/^token-a:\d+ token-b:\d+$/);
    // A token that never closed it changes nothing.
    expect(await reopenSales(redis, keys, 'token-c')).toBe(false);
    expect(await reopenSales(redis, keys, 'token-')).toBe(false);
    // A reopens late: B's closure stands, holds are refused.
    expect(await reopenSales(redis, keys, 'token-a')).toBe(true);
    expect(await reopenSales(redis, keys, 'token-a'), 'twice').toBe(false);
    expect(await holdOf('c1')).toEqual({ outcome: 'SALES_CLOSED', reason: 'CLOSED' });
    // B's reopen, the last closer's, opens sales.
    expect(await reopenSales(redis, keys, 'token-b')).toBe(true);
    expect(await redis.hget(keys.meta, 'closed')).toBeNull();
    expect(await holdOf('c2')).toMatchObject({ outcome: 'OK' });

    // The other order: B's reopen leaves A's closure.
    expect(await closeSales(redis, keys, 'token-a', lease, false)).toMatchObject({ closed: true, held: 1 });
    expect(await closeSales(redis, keys, 'token-b', lease)).toMatchObject({ closed: true });
    expect(await reopenSales(redis, keys, 'token-b')).toBe(true);
    expect(await redis.hget(keys.meta, 'closed')).toMatch(/^token-a:\d+$/);
    expect(await reopenSales(redis, keys, 'token-a')).toBe(true);
    expect(await redis.hget(keys.meta, 'closed')).toBeNull();
    // A closer kept out by a hold ('unheld') is not among the closers.
    expect(await closeSales(redis, keys, 'token-c', lease, true)).toMatchObject({ closed: false, held: 1 });
    expect(await redis.hget(keys.meta, 'closed')).toBeNull();
    // A reopen or renewal of an unregistered performance writes nothing.
    const gone = performanceKeys(41);
    expect(await reopenSales(redis, gone, 'token-a')).toBe(false);
    expect(await renewSalesClosure(redis, gone, 'token-a', lease)).toBe(false);
    expect(await redis.exists(gone.meta)).toBe(0);
    ran.add('boxofficeCloseSales').add('boxofficeReopenSales');
  });

  it('a closure to sales is a lease: lapsed, it refuses no hold, comp, claim or purchase; standing, final or old-format, it refuses each', async () => {
    const keys = performanceKeys(42);
    const hall = drawHall([{ name: 'A', rows: ['......'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(42, hall));
    const [s1, s2, s3, s4, s5] = hall.places.map((place) => place.id);
    const buyer = { userId: 'u1', performanceId: 42, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    // A hold taken while on sale, bought through the closures below.
    expect(await holdSeats(redis, keys, { ...buyer, holdId: 'l0', seatIds: [s1] })).toMatchObject({ outcome: 'OK' });
    const redisNow = async () => {
      const [seconds, micros] = (await redis.time()).map(Number);
      return seconds * 1000 + Math.floor(micros / 1000);
    };
    const attempts = {
      hold: () => holdSeats(redis, keys, { ...buyer, holdId: 'l1', seatIds: [s2] }),
      bestAvailable: () =>
        holdBestAvailable(redis, keys, {
          ...buyer,
          holdId: 'l2',
          quantity: 1,
          together: true,
          accessible: false,
          scope: { kind: 'all' as const },
        }),
      comp: () =>
        holdCompSeats(redis, keys, {
          userId: 'guest',
          performanceId: 42,
          lifetimeMs: 60_000,
          retentionMs: 60_000,
          sale: { kind: 'COMP', note: 'press' },
          holdId: 'l3',
          seatIds: [s4],
        }),
      claim: () => claimHold(redis, keys, 'l0', { userId: 'u1', purchaseId: 'lp0', leaseMs: 60_000 }),
      purchase: () =>
        purchaseHold(redis, keys, {
          holdId: 'l0',
          userId: 'u1',
          purchaseId: 'lp0',
          chargeId: 'c0',
          holdRetentionMs: 60_000,
        }),
    };
    const refusedEach = async (context: string) => {
      const closed = { outcome: 'SALES_CLOSED', reason: 'CLOSED' };
      expect(await attempts.hold(), `${context}: hold`).toEqual(closed);
      expect(await attempts.bestAvailable(), `${context}: best available`).toEqual(closed);
      expect(await attempts.comp(), `${context}: comp`).toEqual(closed);
      expect(await attempts.claim(), `${context}: claim`).toMatchObject({ claim: 'NONE', sales: { reason: 'CLOSED' } });
      expect(await attempts.purchase(), `${context}: purchase`).toEqual(closed);
      expect(await redis.hmget(keys.seats, String(s2), String(s3), String(s4), String(s5)), context).toEqual([
        'A',
        'A',
        'A',
        'A',
      ]);
    };

    expect(await closeSales(redis, keys, 'live', 60_000)).toMatchObject({ closed: true, held: 1 });
    await refusedEach('a standing lease');
    // A closer's renewal keeps it; 'final' (a delete about to commit) drops its deadline for good.
    expect(await renewSalesClosure(redis, keys, 'live', 60_000)).toBe(true);
    expect(await renewSalesClosure(redis, keys, 'live', 'final')).toBe(true);
    expect(await redis.hget(keys.meta, 'closed')).toBe('live');
    expect(await renewSalesClosure(redis, keys, 'live', 60_000), 'final stays final').toBe(true);
    expect(await redis.hget(keys.meta, 'closed')).toBe('live');
    await refusedEach('a final closure');
    // A token an older version wrote (no deadline) stands as a final one does.
    await redis.hset(keys.meta, 'closed', 'old-token');
    await refusedEach('an old-format closure');
    // One lapsed beside one standing: still closed.
    const now = await redisNow();
    await redis.hset(keys.meta, 'closed', `gone:${now - 1} live:${now + 60_000}`);
    await refusedEach('a lapsed lease beside a standing one');

    // Only a lapsed lease left (its closer died): each goes through as if it were open.
    await redis.hset(keys.meta, 'closed', `gone:${now - 1}`);
    expect(await attempts.hold()).toMatchObject({ outcome: 'OK' });
    expect(await attempts.bestAvailable()).toMatchObject({ outcome: 'OK' });
    expect(await attempts.comp()).toMatchObject({ outcome: 'OK' });
    expect(await attempts.claim()).toMatchObject({ claim: 'CLAIMED', sales: null });
    expect(await attempts.purchase()).toMatchObject({ outcome: 'OK' });
    // A lapsed lease is never taken back; a reopen (any, even with no token) drops it.
    expect(await renewSalesClosure(redis, keys, 'gone', 60_000)).toBe(false);
    expect(await redis.hget(keys.meta, 'closed')).toBeNull();
    await redis.hset(keys.meta, 'closed', `gone:${now - 1} live:${now + 60_000}`);
    expect(await reopenSales(redis, keys, '')).toBe(false);
    expect(await redis.hget(keys.meta, 'closed')).toBe(`live:${now + 60_000}`);

    // A real short lease, never renewed nor reopened (the closer was killed), on a performance
    // with nothing sold (one with a sale is never closed): sales resume once Redis TIME passes
    // its deadline.
    const other = performanceKeys(43);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(43, hall));
    expect(await closeSales(redis, other, 'killed', 200)).toMatchObject({ closed: true });
    const deadline = Number((await redis.hget(other.meta, 'closed'))!.split(':')[1]);
    expect(deadline - (await redisNow())).toBeLessThanOrEqual(200);
    await waitUntil(async () => (await redisNow()) > deadline, 'the lease lapsed (Redis time)', 5_000, 10);
    expect(await holdSeats(redis, other, { ...buyer, performanceId: 43, holdId: 'l4', seatIds: [s5] })).toMatchObject({
      outcome: 'OK',
    });
    ran.add('boxofficeRenewSalesClosure');
  });

  it("a canceled performance's live holds: ended and freed only once the status reads CANCELED", async () => {
    const keys = performanceKeys(16);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    await registerSeats(
      redis,
      keys,
      [1, 2, 3].map((id) => ({ id, price: 100, sold: false })),
    );
    const request = { userId: 'u1', performanceId: 16, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    await holdSeats(redis, keys, { ...request, holdId: 'c1', seatIds: [1, 2] });
    // A purchase attempt claimed it before the cancel; its charge runs while the hold ends.
    const attempt = { userId: 'u1', purchaseId: 'cp1', leaseMs: 60_000 };
    expect(await claimHold(redis, keys, 'c1', attempt)).toMatchObject({ claim: 'CLAIMED', sales: null });
    expect(await endCanceledHolds(redis, keys, ['c1'])).toEqual({ outcome: 'NOT_CANCELED' });
    await redis.hset(keys.meta, 'status', 'CANCELED');
    expect(await endCanceledHolds(redis, keys, ['c1', 'gone'])).toEqual({ outcome: 'OK', holds: 1, seats: 2 });
    ran.add('boxofficeEndCanceledHolds');
    expect(await redis.hmget(keys.hold('c1'), 'status', 'endReason')).toEqual(['RELEASED', 'PERFORMANCE_CANCELED']);
    expect(await redis.zcard(keys.expiry)).toBe(0);
    expect(await redis.hgetall(keys.counts)).toEqual({ total: '3', available: '3', held: '0', sold: '0' });
    // Its sale and any new attempt are refused as for a live hold of a canceled performance (the
    // checkout refunds the charge), not as RELEASED.
    const sale = { holdId: 'c1', userId: 'u1', purchaseId: 'cp1', chargeId: 'ch1', holdRetentionMs: 60_000 };
    expect(await purchaseHold(redis, keys, sale)).toEqual({ outcome: 'SALES_CLOSED', reason: 'CANCELED' });
    expect(await claimHold(redis, keys, 'c1', { ...attempt, purchaseId: 'cp2' })).toMatchObject({
      claim: 'NONE',
      sales: { reason: 'CANCELED' },
    });
  });

  it("a comp's hold: free whatever the price, the note kept, sold through a paused sale; a canceled performance refuses it", async () => {
    const keys = performanceKeys(17);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'EUR');
    await registerSeats(
      redis,
      keys,
      [1, 2, 3, 4].map((id) => ({ id, price: 1500, sold: id === 4 })),
    );
    const comp = { userId: 'guest', performanceId: 17, lifetimeMs: 60_000, retentionMs: 60_000 };
    const press = { kind: 'COMP' as const, note: 'press' };
    // A buyer's short hold of seat 1, expired by the time the comp asks for it: the comp ends it
    // (its record passed on the second run, END_HOLDS) and takes the seat.
    const short = await holdSeats(redis, keys, {
      userId: 'buyer',
      performanceId: 17,
      lifetimeMs: 20,
      userLimit: 4,
      retentionMs: 60_000,
      holdId: 'b1',
      seatIds: [1],
    });
    if (short.outcome !== 'OK') throw new Error(`hold b1: ${short.outcome}`);
    // And a buyer's live hold of seat 3.
    const buyerHold = { userId: 'buyer', performanceId: 17, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    expect(await holdSeats(redis, keys, { ...buyerHold, holdId: 'b2', seatIds: [3] })).toMatchObject({ outcome: 'OK' });
    // Then not on sale: opening in an hour, and paused.
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() + 3_600_000, 'status', 'PAUSED');
    await waitUntil(
      async () => {
        const [seconds, micros] = (await redis.time()).map(Number);
        return seconds * 1000 + micros / 1000 > short.expiresAt;
      },
      'the buyer hold expired (Redis time)',
      5_000,
      10,
    );
    expect(await holdCompSeats(redis, keys, { ...comp, sale: press, holdId: 'k0', seatIds: [2, 4] })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [4],
    });
    expect(await holdCompSeats(redis, keys, { ...comp, sale: press, holdId: 'k1', seatIds: [1, 2] })).toMatchObject({
      outcome: 'OK',
      amount: 0,
      currency: 'EUR',
      seatPrices: [0, 0],
    });
    ran.add('boxofficeHoldCompSeats');
    expect(await redis.hmget(keys.hold('b1'), 'status')).toEqual(['EXPIRED']);
    expect(await redis.hmget(keys.hold('k1'), 'status', 'amount', 'prices', 'comp')).toEqual([
      'HELD',
      '0',
      '0,0',
      'press',
    ]);
    expect(await redis.hmget(keys.seats, '1', '2', '3')).toEqual(['H', 'H', 'H']);

    // Not the recipient's: a comp's hold is not among their holds, and off the comp path it is not
    // found, to claim, buy or release (an api that died before the comp's purchase left it).
    expect(await redis.exists(keys.userHolds('guest'))).toBe(0);
    const attempt = { userId: 'guest', purchaseId: 'kp1', leaseMs: 60_000 };
    expect(await claimHold(redis, keys, 'k1', attempt)).toEqual({
      claim: 'NONE',
      now: expect.any(Number),
      fields: [null, null, null, null, null, null],
      sales: null,
      boxOffice: null,
    });
    const sale = { holdId: 'k1', userId: 'guest', purchaseId: 'kp1', chargeId: '', holdRetentionMs: 60_000 };
    expect(await purchaseHold(redis, keys, sale)).toEqual({ outcome: 'NOT_FOUND' });
    expect(await releaseHold(redis, keys, 'k1', 'guest')).toBe('NOT_FOUND');
    // Nor is a buyer's hold found on the comp path.
    expect(await claimHold(redis, keys, 'b2', { ...attempt, userId: 'buyer', operator: true })).toMatchObject({
      claim: 'NONE',
      fields: [null, null, null, null, null, null],
    });
    expect(await purchaseHold(redis, keys, { ...sale, holdId: 'b2', userId: 'buyer', operator: true })).toEqual({
      outcome: 'NOT_FOUND',
    });
    expect(await releaseHold(redis, keys, 'b2', 'buyer', true)).toBe('NOT_FOUND');
    expect(await releaseHold(redis, keys, 'b2', 'buyer')).toBe('RELEASED');
    expect(await redis.hmget(keys.hold('k1'), 'status')).toEqual(['HELD']);

    // On the comp path, the claim and the sale of a comp's hold pass the sales window; the note goes into the sale.
    expect(await claimHold(redis, keys, 'k1', { ...attempt, operator: true })).toMatchObject({
      claim: 'CLAIMED',
      sales: null,
    });
    expect(await purchaseHold(redis, keys, { ...sale, operator: true })).toMatchObject({ outcome: 'OK', amount: 0 });
    expect(await redis.hget(keys.purchase('kp1'), 'comp')).toBe('press');
    const [[, fields]] = await redis.xrange(keys.purchaseStream, '-', '+');
    expect(fields.slice(fields.indexOf('comp'), fields.indexOf('comp') + 2)).toEqual(['comp', 'press']);

    // Its recipient's cancel is refused, on Redis's record and on one read from PostgreSQL (leaving
    // no record behind); an operator's goes through.
    const compCancel = { purchaseId: 'kp1', userId: 'guest', checkedIn: [], transferredSeatIds: [], persisted: null };
    const byRecipient = { ...compCancel, mode: 'buyer' as const, canceledBy: 'buyer' as const };
    expect(await cancelPurchase(redis, keys, byRecipient)).toEqual({ outcome: 'COMP' });
    const record = await redis.hgetall(keys.purchase('kp1'));
    await redis.del(keys.purchase('kp1'));
    expect(await cancelPurchase(redis, keys, { ...byRecipient, persisted: record })).toEqual({ outcome: 'COMP' });
    expect(await redis.exists(keys.purchase('kp1'))).toBe(0);
    expect(await redis.hmget(keys.seats, '1', '2')).toEqual(['S', 'S']);
    const byOperator = {
      ...compCancel,
      persisted: record,
      mode: 'operator' as const,
      canceledBy: 'operator' as const,
      operatorId: 'op1',
    };
    expect(await cancelPurchase(redis, keys, byOperator)).toMatchObject({ outcome: 'CANCELED', amount: 0 });
    expect(await redis.hmget(keys.seats, '1', '2')).toEqual(['A', 'A']);
    // The cancel entry names the operator who refunded it (its write records who gave the money back).
    const [[, canceledFields]] = await redis.xrevrange(keys.purchaseStream, '+', '-', 'COUNT', 1);
    expect(canceledFields.slice(canceledFields.indexOf('type'), canceledFields.indexOf('type') + 2)).toEqual([
      'type',
      'cancel',
    ]);
    expect(canceledFields.slice(canceledFields.indexOf('operatorId'))).toEqual(['operatorId', 'op1']);
    // So does its cancel mark, from which a flush that meets the purchase after its cancel entry was
    // written (by another flusher) writes it CANCELED.
    expect((await canceledPurchases(redis, [keys.purchase('kp1')])).get(0)).toMatchObject({
      canceledBy: 'operator',
      amount: 0,
      canceledById: 'op1',
    });

    await redis.hset(keys.meta, 'status', 'CANCELED');
    expect(await holdCompSeats(redis, keys, { ...comp, sale: press, holdId: 'k2', seatIds: [3] })).toEqual({
      outcome: 'SALES_CLOSED',
      reason: 'CANCELED',
    });
    expect(await redis.hget(keys.seats, '3')).toBe('A');
  });

  it("a box office sale's hold: today's prices, method and ticket ids kept; not before the on-sale nor while paused; sold past salesCloseAt and CLOSED", async () => {
    const keys = performanceKeys(18);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() + 3_600_000, 'currency', 'EUR');
    await registerSeats(
      redis,
      keys,
      [1, 2, 3].map((id) => ({ id, price: 1000 + id, sold: id === 3 })),
    );
    const base = { userId: 'staff', performanceId: 18, lifetimeMs: 60_000, retentionMs: 60_000 };
    const window = (ticketIds: string[]) => ({ kind: 'BOX_OFFICE' as const, paymentMethod: 'CASH', ticketIds });
    // Not before the on-sale, not while paused, never a sold seat.
    const early = await holdCompSeats(redis, keys, {
      ...base,
      sale: window(['9', '8']),
      holdId: 'w0',
      seatIds: [2, 1],
    });
    expect(early).toMatchObject({ outcome: 'SALES_NOT_OPEN' });
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'status', 'PAUSED');
    expect(
      await holdCompSeats(redis, keys, { ...base, sale: window(['9', '8']), holdId: 'w0', seatIds: [2, 1] }),
    ).toEqual({
      outcome: 'SALES_CLOSED',
      reason: 'PAUSED',
    });
    // Online sales closed by status and past salesCloseAt: the window still sells.
    await redis.hset(keys.meta, 'status', 'CLOSED', 'salesCloseAt', Date.now() - 1_000);
    expect(
      await holdCompSeats(redis, keys, { ...base, sale: window(['7', '9']), holdId: 'w1', seatIds: [2, 3] }),
    ).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [3],
    });
    expect(await redis.hmget(keys.seats, '1', '2')).toEqual(['A', 'A']);
    expect(
      await holdCompSeats(redis, keys, { ...base, sale: window(['9', '8']), holdId: 'w2', seatIds: [2, 1] }),
    ).toMatchObject({
      outcome: 'OK',
      amount: 2003,
      seatPrices: [1002, 1001],
    });
    expect(await redis.hmget(keys.hold('w2'), 'boxOffice', 'ticketIds', 'comp')).toEqual(['CASH', '9,8', null]);
    // An operator's hold, as a comp's: not among the selling account's holds, and off the operator
    // path not found, to claim, buy or release.
    expect(await redis.exists(keys.userHolds('staff'))).toBe(0);
    const attempt = { userId: 'staff', purchaseId: 'wp1', leaseMs: 60_000 };
    expect(await claimHold(redis, keys, 'w2', attempt)).toMatchObject({ claim: 'NONE', boxOffice: null });
    const sale = { holdId: 'w2', userId: 'staff', purchaseId: 'wp1', chargeId: '', holdRetentionMs: 60_000 };
    expect(await purchaseHold(redis, keys, sale)).toEqual({ outcome: 'NOT_FOUND' });
    expect(await releaseHold(redis, keys, 'w2', 'staff')).toBe('NOT_FOUND');
    expect(await claimHold(redis, keys, 'w2', { ...attempt, operator: true })).toMatchObject({
      claim: 'CLAIMED',
      sales: null,
      boxOffice: 'CASH',
    });
    expect(await purchaseHold(redis, keys, { ...sale, operator: true })).toMatchObject({ outcome: 'OK', amount: 2003 });
    expect(await redis.hmget(keys.purchase('wp1'), 'boxOffice', 'ticketIds')).toEqual(['CASH', '9,8']);
    const [[, fields]] = await redis.xrange(keys.purchaseStream, '-', '+');
    expect(fields.slice(fields.indexOf('boxOffice'), fields.indexOf('boxOffice') + 4)).toEqual([
      'boxOffice',
      'CASH',
      'ticketIds',
      '9,8',
    ]);
    await redis.hset(keys.meta, 'status', 'CANCELED');
    expect(await holdCompSeats(redis, keys, { ...base, sale: window(['6']), holdId: 'w3', seatIds: [1] })).toEqual({
      outcome: 'SALES_CLOSED',
      reason: 'CANCELED',
    });
  });

  it('a comp that may take blocked seats: takes them with the available ones in one run, counts blocked -> held; its release on the comp path puts them back in the block', async () => {
    const keys = performanceKeys(19);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'EUR');
    await registerSeats(
      redis,
      keys,
      [1, 2, 3, 4].map((id) => ({ id, price: 1500, sold: id === 4 })),
    );
    expect(await blockSeats(redis, keys, [1, 2])).toMatchObject({ outcome: 'OK', blocked: 2 });
    const comp = {
      userId: 'guest',
      performanceId: 19,
      lifetimeMs: 60_000,
      retentionMs: 60_000,
      sale: { kind: 'COMP' as const, note: 'house' },
    };
    // Without the flag a blocked seat refuses the comp; with it a sold one still does; nothing changes.
    expect(await holdCompSeats(redis, keys, { ...comp, holdId: 'k0', seatIds: [1, 3] })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [1],
    });
    expect(await holdCompSeats(redis, keys, { ...comp, holdId: 'k0', seatIds: [1, 4], takeBlocked: true })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [4],
    });
    expect(await redis.hmget(keys.seats, '1', '2', '3')).toEqual(['B', 'B', 'A']);

    expect(
      await holdCompSeats(redis, keys, { ...comp, holdId: 'k1', seatIds: [3, 1, 2], takeBlocked: true }),
    ).toMatchObject({ outcome: 'OK', amount: 0, fromBlocked: [1, 2] });
    expect(await redis.hmget(keys.seats, '1', '2', '3')).toEqual(['H', 'H', 'H']);
    expect(await redis.hgetall(keys.counts)).toMatchObject({ available: '0', held: '3', sold: '1', blocked: '0' });
    expect(await redis.hget(keys.hold('k1'), 'fromBlock')).toBe('1,2');
    // The comp's purchase failed: its release on the comp path puts 1 and 2 back in the block, 3 on sale.
    expect(await releaseHold(redis, keys, 'k1', 'guest', true)).toBe('RELEASED');
    expect(await redis.hmget(keys.seats, '1', '2', '3')).toEqual(['B', 'B', 'A']);
    expect(await redis.hgetall(keys.counts)).toMatchObject({ available: '1', held: '0', sold: '1', blocked: '2' });

    // Bought: the house seats are sold.
    expect(await holdCompSeats(redis, keys, { ...comp, holdId: 'k2', seatIds: [1], takeBlocked: true })).toMatchObject({
      outcome: 'OK',
      fromBlocked: [1],
    });
    const sale = {
      holdId: 'k2',
      userId: 'guest',
      purchaseId: 'kp2',
      chargeId: '',
      holdRetentionMs: 60_000,
      operator: true,
    };
    expect(await purchaseHold(redis, keys, sale)).toMatchObject({ outcome: 'OK', seats: '1' });
    expect(await redis.hmget(keys.seats, '1', '2', '3')).toEqual(['S', 'B', 'A']);
    expect(await redis.hgetall(keys.counts)).toMatchObject({ available: '1', held: '0', sold: '2', blocked: '1' });
  });

  it("buyers' tickets bought: counts from PostgreSQL only raise them, and may mark them complete", async () => {
    const keys = performanceKeys(12);
    await redis.hset(keys.ticketsBought, 'kept-higher', 5, 'lower', 1);
    const counts = [
      { userId: 'kept-higher', seats: 3 },
      { userId: 'lower', seats: 2 },
      { userId: 'new', seats: 4 },
    ];
    expect(await raiseTicketsBought(redis, keys, counts)).toBe(2);
    expect(await redis.hgetall(keys.ticketsBought)).toEqual({ 'kept-higher': '5', lower: '2', new: '4' });
    expect(await redis.hget(keys.meta, 'ticketsCounted')).toBeNull();
    // Marked complete with the last call, also when there is nothing to raise.
    expect(await raiseTicketsBought(redis, keys, [], true)).toBe(0);
    expect(await redis.hget(keys.meta, 'ticketsCounted')).toBe('1');
    ran.add('boxofficeRaiseTicketsBought');
  });

  it("parking a purchase entry: copied, acknowledged, deleted, marked, a paid purchase's seats out of its buyer's count, once", async () => {
    const keys = performanceKeys(13);
    await redis.hset(keys.meta, 'currency', 'KRW');
    expect(await ensureFlushGroup(redis, keys, 'flusher')).toBe(true);
    const append = (purchaseId: string) => redis.xadd(keys.purchaseStream, '*', 'type', 'purchase', 'id', purchaseId);
    const paidEntry = (await append('paid'))!;
    const canceledEntry = (await append('canceled'))!;
    await redis.xreadgroup('GROUP', 'flusher', 'c1', 'STREAMS', keys.purchaseStream, '>');
    await redis.hset(keys.purchase('paid'), 'status', 'PAID', 'userId', 'u1');
    await redis.hset(keys.purchase('canceled'), 'status', 'CANCELED', 'userId', 'u1');
    await redis.hset(keys.ticketsBought, 'u1', 3);
    const park = (entryId: string, purchaseId: string, seats: number) =>
      parkPurchase(
        redis,
        {
          stream: keys.purchaseStream,
          deadLetters: keys.purchaseDeadLetters,
          purchase: keys.purchase(purchaseId),
          ticketsBought: keys.ticketsBought,
        },
        {
          group: 'flusher',
          entryId,
          fields: ['type', 'purchase', 'id', purchaseId],
          reason: '23503: gone',
          parkedAt: 77,
        },
        { userId: 'u1', seats },
      );

    expect(await park(paidEntry, 'paid', 2)).toBe(true);
    expect(await redis.hget(keys.ticketsBought, 'u1')).toBe('1');
    // Canceled before it was parked: its cancel took its seats out already.
    expect(await park(canceledEntry, 'canceled', 1)).toBe(true);
    expect(await redis.hget(keys.ticketsBought, 'u1')).toBe('1');
    // Once: the entry is gone.
    expect(await park(paidEntry, 'paid', 2)).toBe(false);
    expect(await redis.hget(keys.ticketsBought, 'u1')).toBe('1');

    expect(await redis.xlen(keys.purchaseStream)).toBe(0);
    expect(((await redis.xpending(keys.purchaseStream, 'flusher')) as [number])[0]).toBe(0);
    const parked = await redis.xrange(keys.purchaseDeadLetters, '-', '+');
    expect(parked.map(([, fields]) => fields)).toEqual([
      ['type', 'purchase', 'id', 'paid', 'entryId', paidEntry, 'error', '23503: gone', 'parkedAt', '77'],
      ['type', 'purchase', 'id', 'canceled', 'entryId', canceledEntry, 'error', '23503: gone', 'parkedAt', '77'],
    ]);
    expect(await redis.hget(keys.purchase('paid'), 'parkedAt')).toBe('77');
    ran.add('boxofficeParkPurchase');
  });

  it('a rebuild lease: renewed and ended only by its holder; the meta hash written only under it', async () => {
    const keys = performanceKeys(9);
    const registration = { salesOpenAt: 1_000, currency: 'KRW', set: { status: 'PAUSED' }, cleared: ['noOrphanSeats'] };
    await redis.set(keys.rebuildLease, 'mine', 'PX', 10_000);
    expect(await changeRebuildLease(redis, keys, 'mine', { renewForMs: 20_000 })).toBe(true);
    expect(await redis.pttl(keys.rebuildLease)).toBeGreaterThan(10_000);
    expect(await changeRebuildLease(redis, keys, 'theirs', 'release')).toBe(false);
    expect(await finishRegistration(redis, keys, { ...registration, lease: 'theirs' })).toBe(false);
    expect(await redis.exists(keys.meta)).toBe(0);
    // A lapsed rebuild's seats are not written either.
    expect(await registerSeats(redis, keys, [{ id: 1, price: 100, sold: true }], 'theirs')).toBe(-1);
    expect(await redis.exists(keys.seats, keys.prices, keys.counts)).toBe(0);
    expect(await registerSeats(redis, keys, [{ id: 1, price: 100, sold: true }], 'mine')).toBe(1);
    expect(await redis.hget(keys.seats, '1')).toBe('S');
    expect(await finishRegistration(redis, keys, { ...registration, lease: 'mine' })).toBe(true);
    expect(await redis.hgetall(keys.meta)).toEqual({ status: 'PAUSED', salesOpenAt: '1000', currency: 'KRW' });
    expect(await redis.exists(keys.rebuildLease)).toBe(0);
    await redis.set(keys.rebuildLease, 'again', 'PX', 10_000);
    expect(await changeRebuildLease(redis, keys, 'again', 'release')).toBe(true);
    expect(await redis.exists(keys.rebuildLease)).toBe(0);
    // A first registration takes no lease.
    expect(await finishRegistration(redis, keys, { ...registration, lease: null, set: {}, cleared: ['status'] })).toBe(
      true,
    );
    expect(await redis.hgetall(keys.meta)).toEqual({ salesOpenAt: '1000', currency: 'KRW' });
    ran.add('boxofficeFinishRegistration').add('boxofficeRebuildLease');
  });

  it("the user's index of performances with holds: the score only grows, the key expires with the latest", async () => {
    const index = userHoldPerformancesKey('u-index');
    const until = Date.now() + 60_000;
    expect(await indexHold(redis, index, until, 7)).toBe(1);
    expect(await indexHold(redis, index, until - 1_000, 7)).toBe(1);
    expect(await indexHold(redis, index, until + 1_000, 8)).toBe(1);
    expect(await redis.zrange(index, 0, -1, 'WITHSCORES')).toEqual(['7', String(until), '8', String(until + 1_000)]);
    expect(await redis.pexpiretime(index)).toBe(until + 1_000);
    ran.add('boxofficeIndexHold');
  });

  it("a user's holds hash expires with the user's latest hold: never sooner, and one left without an expiry gets one", async () => {
    const keys = performanceKeys(11);
    const userHolds = keys.userHolds('u-ttl');
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    const seats = Array.from({ length: 4 }, (_, index) => ({ id: 1101 + index, price: 100, sold: false }));
    expect(await registerSeats(redis, keys, seats)).toBe(4);
    const request = { userId: 'u-ttl', performanceId: 11, userLimit: 4, retentionMs: 60_000 };
    const hold = async (holdId: string, seatId: number, lifetimeMs: number) => {
      const result = await holdSeats(redis, keys, { ...request, holdId, seatIds: [seatId], lifetimeMs });
      if (result.outcome !== 'OK') throw new Error(`hold ${holdId}: ${result.outcome}`);
      return result.expiresAt;
    };
    // A new hash: its first hold's expiry.
    const first = await hold('t1', 1101, 120_000);
    expect(await redis.pexpiretime(userHolds)).toBe(first);
    // A hold ending sooner leaves it; one ending later moves it.
    await hold('t2', 1102, 60_000);
    expect(await redis.pexpiretime(userHolds)).toBe(first);
    const longer = await hold('t3', 1103, 180_000);
    expect(await redis.pexpiretime(userHolds)).toBe(longer);
    // A hash without an expiry (as an older version may have left it) gets the hold's.
    await redis.persist(userHolds);
    const last = await hold('t4', 1104, 30_000);
    expect(await redis.pexpiretime(userHolds)).toBe(last);
  });

  it('purchases, cancellations and idempotency claims', async () => {
    const keys = performanceKeys(2);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    await registerSeats(redis, keys, [{ id: 1, price: 100, sold: false }]);
    const request = { userId: 'u1', performanceId: 2, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    await holdSeats(redis, keys, { ...request, holdId: 'h1', seatIds: [1] });

    const record = idempotencyKey('u1', 'digest');
    expect(await claimIdempotencyKey(redis, record, 'pending:t', 5_000)).toEqual({ outcome: 'CLAIMED' });
    expect(await renewIdempotencyClaim(redis, record, 'pending:t', 5_000)).toBe(true);
    expect(await releaseIdempotencyClaim(redis, record, 'pending:t')).toBe(true);
    ran
      .add('boxofficeClaimIdempotencyKey')
      .add('boxofficeRenewIdempotencyClaim')
      .add('boxofficeReleaseIdempotencyClaim');

    // One attempt of a hold at a time: p0 claims it, p1 is refused while p0's claim lives, and
    // the sale refuses p1 too; p0's claim dropped, p1 claims it, and its sale goes through.
    const hold = keys.hold('h1');
    const attempt = (purchaseId: string) => ({ userId: 'u1', purchaseId, leaseMs: 60_000 });
    // A performance that does not sell now: neither claimed nor sold (the pre-check refuses before
    // any charge, the sale again for a change during the charge).
    await redis.hset(keys.meta, 'status', 'PAUSED');
    expect(await claimHold(redis, keys, 'h1', attempt('p0')), 'paused').toMatchObject({
      claim: 'NONE',
      fields: ['u1', 'HELD', expect.any(String), '100', 'KRW', null],
      sales: { reason: 'PAUSED' },
    });
    await redis.hdel(keys.meta, 'status');
    const opensAt = Date.now() + 3_600_000;
    await redis.hset(keys.meta, 'salesOpenAt', opensAt);
    expect(await claimHold(redis, keys, 'h1', attempt('p0')), 'not open').toMatchObject({
      claim: 'NONE',
      sales: { reason: 'NOT_OPEN', salesOpenAt: opensAt },
    });
    const early = { holdId: 'h1', userId: 'u1', purchaseId: 'p0', chargeId: 'c0', holdRetentionMs: 60_000 };
    expect(await purchaseHold(redis, keys, early), 'not open').toEqual({
      outcome: 'SALES_NOT_OPEN',
      salesOpenAt: opensAt,
    });
    expect(await redis.hget(hold, 'claimedBy'), 'not open').toBeNull();
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000);
    const p0 = await claimHold(redis, keys, 'h1', attempt('p0'));
    expect(p0).toMatchObject({
      claim: 'CLAIMED',
      fields: ['u1', 'HELD', expect.any(String), '100', 'KRW', null],
      sales: null,
    });
    expect(Number(await redis.hget(hold, 'claimedUntil'))).toBe(p0.now + 60_000);
    expect(await claimHold(redis, keys, 'h1', attempt('p0'))).toMatchObject({ claim: 'OWN' });
    expect(await claimHold(redis, keys, 'h1', attempt('p1'))).toMatchObject({ claim: 'BUSY' });
    // Renewed by its own attempt only (a full lease from Redis time), never by another's.
    expect(await renewHoldClaim(redis, hold, 'p1', 90_000)).toBe(false);
    expect(await renewHoldClaim(redis, hold, 'p0', 90_000)).toBe(true);
    expect(Number(await redis.hget(hold, 'claimedUntil'))).toBeGreaterThanOrEqual(p0.now + 90_000);
    expect(await redis.hget(hold, 'claimedBy')).toBe('p0');
    expect(await claimHold(redis, keys, 'h1', { ...attempt('p1'), userId: 'u2' })).toMatchObject({ claim: 'NONE' });
    const purchase = { holdId: 'h1', userId: 'u1', purchaseId: 'p1', chargeId: 'c1', holdRetentionMs: 60_000 };
    expect(await purchaseHold(redis, keys, purchase)).toEqual({ outcome: 'IN_PROGRESS' });
    expect(await releaseHoldClaim(redis, hold, 'p1')).toBe(false);
    expect(await releaseHoldClaim(redis, hold, 'p0')).toBe(true);
    expect(await claimHold(redis, keys, 'h1', attempt('p1'))).toMatchObject({ claim: 'CLAIMED' });
    // A lapsed claim of another attempt neither blocks a claim nor a sale.
    await redis.hset(hold, 'claimedBy', 'p0', 'claimedUntil', p0.now - 1);
    expect(await claimHold(redis, keys, 'h1', attempt('p1'))).toMatchObject({ claim: 'CLAIMED' });
    await redis.hset(hold, 'claimedBy', 'p0', 'claimedUntil', p0.now - 1);
    // Dropped: nothing to renew.
    expect(await releaseHoldClaim(redis, hold, 'p0')).toBe(true);
    expect(await renewHoldClaim(redis, hold, 'p0', 90_000)).toBe(false);
    expect(await redis.hget(hold, 'claimedUntil')).toBeNull();
    await redis.hset(hold, 'claimedBy', 'p0', 'claimedUntil', p0.now - 1);
    ran.add('boxofficeClaimHold').add('boxofficeReleaseHoldClaim').add('boxofficeRenewHoldClaim');
    expect(await purchaseHold(redis, keys, purchase)).toMatchObject({ outcome: 'OK', amount: 100 });
    // The sale counts toward its buyer's tickets bought (the ticket limit per buyer).
    expect(await redis.hgetall(keys.ticketsBought)).toEqual({ u1: '1' });
    expect(await claimHold(redis, keys, 'h1', attempt('p2'))).toMatchObject({
      claim: 'NONE',
      fields: ['u1', 'PURCHASED', expect.any(String), '100', 'KRW', 'p1'],
    });
    const cancel = { purchaseId: 'p1', userId: 'u1', checkedIn: [], transferredSeatIds: [], persisted: null };
    // A marked check-in refuses the buyer's cancel; a cancel refuses later marks.
    const v0 = { seatId: 1, codeVersion: 0, token: 'scanA' };
    const v1 = { seatId: 1, codeVersion: 1, token: 'scanB' };
    expect(await markCheckIn(redis, keys, 'p1', v0, 60)).toEqual({ outcome: 'MARKED', added: true });
    expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
      outcome: 'CHECKED_IN',
      seatIds: [1],
    });
    // A scan of the seat's current code (version 1) racing a scan of its old one: each scan has a
    // mark of its own, so the old code's refusal takes back only its own and the seat stays marked.
    expect(await markCheckIn(redis, keys, 'p1', v1, 60)).toEqual({ outcome: 'MARKED', added: true });
    expect(await markCheckIn(redis, keys, 'p1', v1, 60)).toEqual({ outcome: 'MARKED', added: false });
    await redis.srem(keys.checkedIn('p1'), checkInMarkMember(v0.seatId, v0.codeVersion, v0.token));
    expect(await redis.smembers(keys.checkedIn('p1'))).toEqual(['1:1:scanB']);
    expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
      outcome: 'CHECKED_IN',
      seatIds: [1],
    });
    // Marks set before marks had scan tokens (`<seat>:<version>`) or versions (a bare seat id), for
    // their lifetime, still count.
    for (const legacy of ['1:0', '1']) {
      await redis.del(keys.checkedIn('p1'));
      await redis.sadd(keys.checkedIn('p1'), legacy);
      expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
        outcome: 'CHECKED_IN',
        seatIds: [1],
      });
    }
    await redis.del(keys.checkedIn('p1'));
    // An undo of the check-in of scan B (check-in-undo.lua) takes back its mark alone, and the
    // cancel then leaves out that check-in read from PostgreSQL before the undo; another check-in of
    // the seat (a later scan, C) still counts, as does a mark of a scan on its way.
    const undoneB = checkInEntry(1, 'scanB');
    expect(await markCheckIn(redis, keys, 'p1', v1, 60)).toEqual({ outcome: 'MARKED', added: true });
    expect(await markCheckIn(redis, keys, 'p1', { ...v1, token: 'scanC' }, 60)).toMatchObject({ added: true });
    expect(await undoCheckIn(redis, keys, 'p1', undoneB, ['1:1:scanB'], 60)).toEqual({ outcome: 'UNDONE' });
    expect(await redis.smembers(keys.checkedIn('p1'))).toEqual(['1:1:scanC']);
    expect(await redis.smembers(keys.checkInsUndone('p1'))).toEqual([undoneB]);
    expect(await redis.ttl(keys.checkInsUndone('p1'))).toBeGreaterThan(0);
    expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
      outcome: 'CHECKED_IN',
      seatIds: [1],
    });
    await redis.del(keys.checkedIn('p1'));
    const stale = { ...cancel, mode: 'buyer' as const, canceledBy: 'buyer' as const };
    expect(await cancelPurchase(redis, keys, { ...stale, checkedIn: [{ seatId: 1, checkIn: 'scanC' }] })).toEqual({
      outcome: 'CHECKED_IN',
      seatIds: [1],
    });
    // Read from PostgreSQL before the undo (B): left out, so the refusal checked after the
    // check-in's (a box office sale's, set here to stop the cancel) answers instead.
    await redis.hset(keys.purchase('p1'), 'boxOffice', 'CASH');
    expect(await cancelPurchase(redis, keys, { ...stale, checkedIn: [{ seatId: 1, checkIn: 'scanB' }] })).toEqual({
      outcome: 'BOX_OFFICE',
    });
    await redis.hdel(keys.purchase('p1'), 'boxOffice');
    await redis.del(keys.checkInsUndone('p1'));
    // A transferred ticket is told before a check-in: only the box office undoes that sale.
    await redis.sadd(keys.transferred('p1'), '1');
    expect(await cancelPurchase(redis, keys, { ...stale, checkedIn: [{ seatId: 1, checkIn: 'scanC' }] })).toEqual({
      outcome: 'TRANSFERRED',
      seatIds: [1],
    });
    await redis.del(keys.transferred('p1'));
    // So does an accept of a transfer under way (its mark, owned by its transfer); taken back, the
    // buyer may cancel.
    const byT1 = { seatId: 1, transferId: 't1' };
    expect(await markTransfer(redis, keys, 'p1', byT1, 60)).toEqual({ outcome: 'MARKED', added: true });
    expect(await markTransfer(redis, keys, 'p1', byT1, 60)).toEqual({ outcome: 'MARKED', added: false });
    expect(await redis.smembers(keys.transferred('p1'))).toEqual(['1']);
    expect(await redis.hgetall(keys.transferOwners('p1'))).toEqual({ '1': 't1' });
    expect(await redis.ttl(keys.transferOwners('p1'))).toBeGreaterThan(0);
    expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
      outcome: 'TRANSFERRED',
      seatIds: [1],
    });
    // unmark-transfers.lua: a compare and delete. A newer accept (t2) marked the seat after t1's mark
    // was read: the take-back of t1's mark keeps it; t2's own is taken back.
    expect(await markTransfer(redis, keys, 'p1', { seatId: 1, transferId: 't2' }, 60)).toEqual({
      outcome: 'MARKED',
      added: false,
    });
    expect(await unmarkTransfers(redis, keys, 'p1', [byT1])).toEqual([]);
    expect(await redis.smembers(keys.transferred('p1'))).toEqual(['1']);
    expect(await unmarkTransfers(redis, keys, 'p1', [{ seatId: 1, transferId: 't2' }, byT1])).toEqual([1]);
    expect(await redis.exists(keys.transferred('p1'), keys.transferOwners('p1'))).toBe(0);
    // A mark of an earlier version (a bare seat id, no owner) is taken back as one without an owner,
    // not once an accept of this version owns it; a seat not marked is left alone.
    await redis.sadd(keys.transferred('p1'), '1', '2');
    expect(await unmarkTransfers(redis, keys, 'p1', [byT1])).toEqual([]);
    expect(
      await unmarkTransfers(redis, keys, 'p1', [
        { seatId: 1, transferId: null },
        { seatId: 3, transferId: null },
      ]),
    ).toEqual([1]);
    expect(await markTransfer(redis, keys, 'p1', { seatId: 2, transferId: 't3' }, 60)).toEqual({
      outcome: 'MARKED',
      added: false,
    });
    expect(await unmarkTransfers(redis, keys, 'p1', [{ seatId: 2, transferId: null }])).toEqual([]);
    expect(await redis.smembers(keys.transferred('p1'))).toEqual(['2']);
    await redis.del(keys.transferred('p1'), keys.transferOwners('p1'));
    // A purchase the flusher parked (PostgreSQL refused it for good) did not happen: not cancelable.
    await redis.hset(keys.purchase('p1'), 'parkedAt', 1);
    expect(await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer' })).toEqual({
      outcome: 'NOT_FOUND',
    });
    await redis.hdel(keys.purchase('p1'), 'parkedAt');
    // refund-seats.lua: a partial refund of a second (free) seat of the purchase, as if it had two;
    // a seat not of the purchase, or refunded before, is refused.
    const refund = { ...cancel, mode: 'operator' as const, refundId: 'r1', flushed: true, operatorId: 'op1' };
    expect(await refundSeats(redis, keys, { ...refund, seatIds: [3] })).toEqual({
      outcome: 'NOT_IN_PURCHASE',
      seatId: 3,
    });
    await redis.hset(keys.purchase('p1'), 'seats', '1,2', 'prices', '100,0');
    expect(await refundSeats(redis, keys, { ...refund, seatIds: [2], flushed: false })).toMatchObject({
      outcome: 'NOT_WRITTEN',
    });
    expect(await refundSeats(redis, keys, { ...refund, seatIds: [2] })).toMatchObject({
      outcome: 'REFUNDED',
      amount: 0,
      keptSeatIds: [],
    });
    // The refund entry names the operator who made it.
    const [[, refundFields]] = await redis.xrevrange(keys.purchaseStream, '+', '-', 'COUNT', 1);
    expect(refundFields.slice(0, 2)).toEqual(['type', 'refund']);
    expect(refundFields.slice(refundFields.indexOf('operatorId'))).toEqual(['operatorId', 'op1']);
    expect(await redis.hmget(keys.purchase('p1'), 'seats', 'prices', 'amount', 'refundedSeats')).toEqual([
      '1',
      '100',
      '100',
      '2',
    ]);
    expect(await refundSeats(redis, keys, { ...refund, seatIds: [2] })).toEqual({
      outcome: 'ALREADY_REFUNDED',
      seatId: 2,
    });
    // The refunded seat admits no one and its check-in is not undone (its ticket is void before
    // PostgreSQL hears of the refund); the purchase's other seat still checks in.
    const refunded = { seatId: 2, codeVersion: 0, token: 'scanR' };
    expect(await markCheckIn(redis, keys, 'p1', refunded, 60)).toEqual({ outcome: 'CANCELED' });
    // Nor is it given away: an accept of an offer of it is refused, nothing marked.
    expect(await markTransfer(redis, keys, 'p1', { seatId: 2, transferId: 't4' }, 60)).toEqual({ outcome: 'CANCELED' });
    expect(await redis.exists(keys.transferred('p1'), keys.transferOwners('p1'))).toBe(0);
    expect(await undoCheckIn(redis, keys, 'p1', checkInEntry(2, 'scanR'), ['2:0:scanR'], 60)).toEqual({
      outcome: 'CANCELED',
    });
    expect(await markCheckIn(redis, keys, 'p1', v0, 60)).toEqual({ outcome: 'MARKED', added: true });
    expect(await undoCheckIn(redis, keys, 'p1', checkInEntry(1, 'scanA'), ['1:0:scanA'], 60)).toEqual({
      outcome: 'UNDONE',
    });
    expect(await redis.smembers(keys.checkedIn('p1'))).toEqual([]);
    await redis.del(keys.checkInsUndone('p1'));
    ran.add('boxofficeRefundSeats');
    // A record put back from PostgreSQL (p7, gone from Redis): a refused refund leaves none behind.
    const p7Record: Record<string, string> = {
      userId: 'u1',
      status: 'PAID',
      seats: '5,6',
      prices: '100,100',
      amount: '200',
      currency: 'KRW',
      chargeId: 'c7',
      refundedSeats: '4',
      refundedAmount: '100',
    };
    const restored = { ...refund, purchaseId: 'p7', persisted: p7Record };
    await redis.sadd(keys.checkedIn('p7'), '6:0:scanX');
    const refusals = [
      [{ seatIds: [3] }, { outcome: 'NOT_IN_PURCHASE', seatId: 3 }],
      [{ seatIds: [4] }, { outcome: 'ALREADY_REFUNDED', seatId: 4 }],
      [
        { seatIds: [5], flushed: false },
        { outcome: 'NOT_WRITTEN', ageMs: null },
      ],
      [{ seatIds: [5], persisted: { ...p7Record, prices: '' } }, { outcome: 'NO_PRICES' }],
      [{ seatIds: [6] }, { outcome: 'CHECKED_IN', seatIds: [6] }],
      [{ seatIds: [5], userId: 'u2' }, { outcome: 'NOT_FOUND' }],
    ] as const;
    for (const [ask, answer] of refusals) {
      expect(await refundSeats(redis, keys, { ...restored, ...ask })).toEqual(answer);
      expect(await redis.exists(keys.purchase('p7'))).toBe(0);
    }
    // cancel-purchase.lua counts checked in only the seats the purchase still has: a check-in of seat
    // 4 (refunded and kept sold by an earlier partial refund) is not named, also from PostgreSQL's list.
    await redis.sadd(keys.checkedIn('p7'), '4:0:scanK');
    const p7Cancel = {
      ...cancel,
      purchaseId: 'p7',
      persisted: p7Record,
      mode: 'operator',
      canceledBy: 'operator',
    } as const;
    expect(await cancelPurchase(redis, keys, { ...p7Cancel, checkedIn: [{ seatId: 4, checkIn: 'at:1' }] })).toEqual({
      outcome: 'CHECKED_IN',
      seatIds: [6],
    });
    expect(await redis.exists(keys.purchase('p7'))).toBe(0);
    await redis.del(keys.checkedIn('p7'));
    // A buyer's cancel counts transferred only the seats the purchase still has: of PostgreSQL's
    // list, seat 4 (refunded) is left out and 5 named; a refused cancel leaves no record behind.
    const p7BuyerCancel = { ...p7Cancel, mode: 'buyer', canceledBy: 'buyer', transferredSeatIds: [4, 5] } as const;
    expect(await cancelPurchase(redis, keys, p7BuyerCancel)).toEqual({ outcome: 'TRANSFERRED', seatIds: [5] });
    expect(await redis.exists(keys.purchase('p7'))).toBe(0);
    // Nor does a transfer of p1's refunded seat 2, marked in Redis or read from PostgreSQL, refuse its cancel.
    await redis.sadd(keys.transferred('p1'), '2');
    expect(
      await cancelPurchase(redis, keys, { ...cancel, mode: 'buyer', canceledBy: 'buyer', transferredSeatIds: [2] }),
    ).toMatchObject({
      outcome: 'CANCELED',
      chargeId: 'c1',
      keptSeatIds: [],
    });
    // Its cancel entry carries what it gave back (the amount less the partial refunds before it),
    // which its write records whether or not PostgreSQL has those refunds yet.
    const [[, p1Canceled]] = await redis.xrevrange(keys.purchaseStream, '+', '-', 'COUNT', 1);
    expect(p1Canceled.slice(p1Canceled.indexOf('amount'), p1Canceled.indexOf('amount') + 2)).toEqual(['amount', '100']);
    expect(await redis.hgetall(keys.ticketsBought)).toEqual({});
    expect(await markCheckIn(redis, keys, 'p1', v0, 60)).toEqual({ outcome: 'CANCELED' });
    expect(await markTransfer(redis, keys, 'p1', byT1, 60)).toEqual({ outcome: 'CANCELED' });
    // A canceled purchase's check-ins stand (a refund may have kept their seats): no undo.
    await redis.sadd(keys.checkedIn('p1'), '1:0:scanA');
    expect(await undoCheckIn(redis, keys, 'p1', checkInEntry(1, 'scanA'), ['1:0:scanA'], 60)).toEqual({
      outcome: 'CANCELED',
    });
    expect(await redis.smembers(keys.checkedIn('p1'))).toEqual(['1:0:scanA']);
    expect(await redis.exists(keys.checkInsUndone('p1'))).toBe(0);
    await redis.del(keys.checkedIn('p1'));
    // A same-key retry's sale of the canceled purchase is told so, never replayed as a sale.
    expect(await purchaseHold(redis, keys, purchase)).toEqual({ outcome: 'CANCELED' });
    ran
      .add('boxofficePurchase')
      .add('boxofficeCancelPurchase')
      .add('boxofficeCheckInMark')
      .add('boxofficeCheckInUndo')
      .add('boxofficeTransferMark')
      .add('boxofficeUnmarkTransfers');

    expect(await ensureFlushGroup(redis, keys, 'flusher')).toBe(true);
    // A removed performance (no meta hash) gets no group, and no stream either.
    const removed = performanceKeys(999_999);
    expect(await ensureFlushGroup(redis, removed, 'flusher')).toBe(false);
    expect(await redis.exists(removed.purchaseStream)).toBe(0);
    const entries = await deliverDuePurchases(redis, keys.purchaseStream, {
      group: 'flusher',
      consumer: 'c',
      dueUntil: Date.now() + 60_000,
      count: 10,
    });
    // The sale, the partial refund, the cancel (the buyer's: no operator named).
    expect(entries).toHaveLength(3);
    expect(entries[2][1]).not.toContain('operatorId');
    expect([...(await canceledPurchases(redis, [keys.purchase('p1')])).keys()]).toEqual([0]);
    // The buyer's cancel mark: what it gave back (the amount less the partial refund), no operator.
    expect((await canceledPurchases(redis, [keys.purchase('p1')])).get(0)).toMatchObject({
      canceledBy: 'buyer',
      amount: 100,
      canceledById: null,
    });
    const acknowledged = await ackFlushed(redis, keys.purchaseStream, [keys.purchase('p1')], {
      group: 'flusher',
      retentionMs: 60_000,
      entryIds: entries.map(([id]) => id),
    });
    expect(acknowledged).toBe(3);
    // One slot, so that the int-cluster project can run it too (the flusher calls it on a single Redis only).
    const lists = ['{lua-buyers}:a', '{lua-buyers}:b'];
    await redis.zadd(lists[0], 1, '7:p1', 2, '7:p2');
    await redis.zadd(lists[1], 1, '7:p3');
    expect(await forgetFlushed(redis, lists, ['7:p1', '7:p3'])).toBe(2);
    expect(await redis.zrange(lists[0], 0, -1)).toEqual(['7:p2']);
    expect(await redis.exists(lists[1])).toBe(0);
    ran
      .add('boxofficeForgetFlushed')
      .add('boxofficeEnsureFlushGroup')
      .add('boxofficeDeliverDuePurchases')
      .add('boxofficeCanceledPurchases')
      .add('boxofficeAckFlushed');
  });

  it('waiting room: join, opening shuffle, admission, use, leave', async () => {
    const store = new WaitingRoomStore(redis);
    // A performance no other case registers: with no seat state the room admits (the rebuild comes with the
    // hold); performance 9's one seat is sold above, and a sold-out room admits no one (admission-halt.lua).
    const settings = { admitPerSecond: 100, maxActive: 10, admissionTtlSeconds: 60, sessionTtlSeconds: 600 };
    const room = {
      performanceId: 90,
      opensAt: new Date(Date.now() + 60_000),
      seed: 'ab'.repeat(32),
      updatedAt: new Date(),
    };
    await store.configure({ ...room, ...settings }, 5);
    expect((await store.join(90, 'u1', 't1')).outcome).toBe('WAITING');
    await store.configure({ ...room, ...settings, opensAt: new Date(Date.now() - 1000) }, 5);
    await waitUntil(async () => (await store.admit(90, 10)).admitted.length > 0, 'the ticket admitted', 10_000);
    expect(await store.useAdmission(90, 't1', Number.MAX_SAFE_INTEGER, 'hold')).toBe('OK');
    expect(await store.end(90, 'u1', 't1', 'LEFT')).toEqual({ outcome: 'ENDED' });
    expect(await store.admissionHalted(90)).toBeNull();
    ran
      .add('boxofficeQueueTicket')
      .add('boxofficeQueueOpen')
      .add('boxofficeQueueAdmit')
      .add('boxofficeQueueUseAdmission')
      .add('boxofficeQueueEndTicket')
      .add('boxofficeQueueAdmissionHalted');
  });

  it('section availability: counted per seat-id range, kept, then counted again in steps', async () => {
    const keys = performanceKeys(3);
    const ranges = [
      { firstSeatId: 10, lastSeatId: 12 },
      { firstSeatId: 20, lastSeatId: 21 },
      // Enough seats that Redis keeps the hash as a hash table, which HSCAN walks in steps.
      { firstSeatId: 1000, lastSeatId: 2999 },
    ];
    const kept = { keepMs: 60_000, step: 1, wholeAfterMs: 120_000 };
    expect(await sectionAvailability(redis, keys, kept, ranges)).toBeNull();
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    await registerSeats(
      redis,
      keys,
      [10, 11, 12, 20, 21, ...Array.from({ length: 2000 }, (_, i) => 1000 + i)].map((id) => ({
        id,
        price: 100,
        sold: id === 11 || id === 21,
      })),
    );
    // The first count runs a whole pass at once, whatever the step.
    expect(await sectionAvailability(redis, keys, kept, ranges)).toEqual([2, 1, 2000]);
    await redis.hset(keys.seats, '10', 'S');
    // Kept: the count of a moment ago answers until it is keepMs old.
    expect(await sectionAvailability(redis, keys, kept, ranges)).toEqual([2, 1, 2000]);
    // Past keepMs, each call scans one step and answers the last complete pass until a new one ends.
    const stepping = { keepMs: 0, step: 200, wholeAfterMs: 120_000 };
    const answers: number[][] = [];
    for (let call = 0; call < 100; call += 1) {
      answers.push((await sectionAvailability(redis, keys, stepping, ranges))!);
      if (answers[answers.length - 1][0] === 1) break;
    }
    expect(answers[answers.length - 1]).toEqual([1, 1, 2000]);
    expect(answers.length).toBeGreaterThan(2);
    expect(answers.slice(0, -1).filter((answer) => answer.join() !== '2,1,2000')).toEqual([]);
    // A count older than wholeAfterMs is redone whole in one call.
    await redis.hset(keys.seats, '20', 'S');
    expect(await sectionAvailability(redis, keys, { keepMs: 0, step: 1, wholeAfterMs: 0 }, ranges)).toEqual([
      1, 0, 2000,
    ]);
    // No section given (a layout read while a delete removed its seats): counts nothing, no script error.
    expect(await sectionAvailability(redis, keys, { keepMs: 0, step: 1, wholeAfterMs: 0 }, [])).toEqual([]);
    ran.add('boxofficeSectionAvailability');
  });

  it('seat reconciliation: each kind of repair, checked again against the stream and the holders', async () => {
    const keys = performanceKeys(4);
    await redis.hset(keys.meta, 'salesOpenAt', Date.now() - 60_000, 'currency', 'KRW');
    await registerSeats(
      redis,
      keys,
      [1, 2, 3, 4].map((id) => ({ id, price: 100, sold: false })),
    );
    const request = { userId: 'u1', performanceId: 4, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    // Seat 1 shown sold with nothing behind it; seat 2 held by a hold whose record is gone; seat 3
    // held by hold h3, which PostgreSQL says purchase p3 bought; seat 4 bought by p4 after the snapshot.
    await redis.hset(keys.seats, '1', 'S');
    await redis.hincrby(keys.counts, 'available', -1);
    await redis.hincrby(keys.counts, 'sold', 1);
    await holdSeats(redis, keys, { ...request, holdId: 'h2', seatIds: [2] });
    await redis.del(keys.hold('h2'));
    await holdSeats(redis, keys, { ...request, holdId: 'h3', seatIds: [3] });
    const mark = await streamMark(redis, keys);
    expect(mark).toEqual({ lastId: '0-0', added: 0 });
    await holdSeats(redis, keys, { ...request, holdId: 'h4', seatIds: [4] });
    await purchaseHold(redis, keys, {
      holdId: 'h4',
      userId: 'u1',
      purchaseId: 'p4',
      chargeId: 'c4',
      holdRetentionMs: 1,
    });
    const entry = (await redis.hget(keys.seatHolds, '2'))!;
    const answers = await reconcileSeats(redis, keys, mark, [
      { kind: 'unbacked-sale', seatId: 1 },
      { kind: 'dead-hold', seatId: 2, holderEntry: entry, holdId: 'h2' },
      { kind: 'persisted-sale', seatId: 3, purchaseId: 'p3', holdId: 'h3', buyerId: 'u3', final: false },
      { kind: 'unbacked-sale', seatId: 4 },
    ]);
    expect(answers).toEqual([
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'LEFT' },
    ]);
    expect(await redis.hmget(keys.seats, '1', '2', '3', '4')).toEqual(['A', 'A', 'S', 'S']);
    expect(await redis.hmget(keys.hold('h3'), 'status', 'purchaseId')).toEqual(['PURCHASED', 'p3']);
    expect(await redis.zscore(keys.expiry, 'h3')).toBeNull();
    expect(await redis.hgetall(keys.counts)).toEqual({ total: '4', available: '2', held: '0', sold: '2' });
    // The restored sale is counted for its buyer again (a lost write lost the count with it).
    expect(await redis.hget(keys.ticketsBought, 'u3')).toBe('1');
    expect(await streamMark(redis, keys)).toEqual({ lastId: expect.stringMatching(/^\d+-\d+$/), added: 1 });
    // A sale PostgreSQL still has (ACTIVE tickets) of seats 1 and 2 by p9, whose seat 1 an operator
    // refunded in Redis (refundedSeats) before PostgreSQL heard: seat 1 stays on sale, seat 2 is sold.
    await redis.hset(keys.purchase('p9'), 'userId', 'u9', 'status', 'PAID', 'seats', '2', 'refundedSeats', '11,1');
    const sale = { kind: 'persisted-sale' as const, purchaseId: 'p9', holdId: null, buyerId: 'u9', final: false };
    expect(
      await reconcileSeats(redis, keys, await streamMark(redis, keys), [
        { ...sale, seatId: 1 },
        { ...sale, seatId: 2 },
      ]),
    ).toEqual([{ outcome: 'PENDING_CANCEL' }, { outcome: 'REPAIRED', takenFromHold: null }]);
    expect(await redis.hmget(keys.seats, '1', '2')).toEqual(['A', 'S']);
    expect(await redis.hget(keys.ticketsBought, 'u9')).toBe('1');
    ran.add('boxofficeReconcileSeats').add('boxofficeStreamMark');
  });

  it('best-available seating: layout rebuilt from the letters, then a best-available hold', async () => {
    const keys = performanceKeys(5);
    const hall = drawHall([{ name: 'A', rows: ['x....', '.....'] }]);
    // registerPerformance runs register-seats.lua, writes the layout (write-seating-layout.lua), then
    // rebuild-seating.lua over every row.
    await new SeatStateStore(redis).registerPerformance(hallRegistration(5, hall));
    ran.add('boxofficeRebuildSeating').add('boxofficeSeatingFormat').add('boxofficeWriteSeatingLayout');
    expect(await rebuildSeating(redis, keys, 0, 1, SEATING_FORMAT)).toBe(9);
    // Refused (nothing written) for a format the data is not of, complete or being built.
    expect(await rebuildSeating(redis, keys, 0, 1, SEATING_FORMAT - 1)).toBe(-1);
    // And under a rebuild lease that is not (or no longer) the caller's.
    expect(await rebuildSeating(redis, keys, 0, 1, SEATING_FORMAT, 'lapsed-token')).toBe(-2);
    const request = {
      holdId: 'b1',
      userId: 'u1',
      performanceId: 5,
      quantity: 2,
      together: true,
      accessible: false,
      scope: { kind: 'all' as const },
      lifetimeMs: 60_000,
      userLimit: 4,
      retentionMs: 60_000,
    };
    expect(await holdBestAvailable(redis, keys, request)).toMatchObject({ outcome: 'OK', arrangement: 'TOGETHER' });
    ran.add('boxofficeHoldBestAvailable');
    expect(await seatingDisagreements(redis, 5, hall.places)).toEqual([]);
    // The seat reconciler keeps the seating data in step: a hold whose record was lost gives its
    // seats back, and a sale PostgreSQL knows takes a seat that Redis shows available.
    const [held] = (await redis.hmget(keys.hold('b1'), 'seats'))[0]!.split(',');
    const entry = (await redis.hget(keys.seatHolds, held))!;
    await redis.del(keys.hold('b1'));
    const free = hall.seat('A', 2, 5);
    const answers = await reconcileSeats(redis, keys, await streamMark(redis, keys), [
      { kind: 'dead-hold', seatId: Number(held), holderEntry: entry, holdId: 'b1' },
      { kind: 'persisted-sale', seatId: free, purchaseId: 'p5', holdId: null, buyerId: 'u5', final: true },
    ]);
    expect(answers.map((answer) => answer.outcome)).toEqual(['REPAIRED', 'REPAIRED']);
    expect(await redis.hmget(keys.seats, held, String(free))).toEqual(['A', 'S']);
    // A final sale (its purchase canceled, the checked-in seat kept sold) counts for nobody.
    expect(await redis.hget(keys.ticketsBought, 'u5')).toBeNull();
    expect(await seatingDisagreements(redis, 5, hall.places)).toEqual([]);
  });

  it('free seats from the bitmap: an expired hold passed in KEYS, a wrong bit checked, no index', async () => {
    const keys = performanceKeys(6);
    expect(await freeSeatsAfter(redis, keys, 0, 5, 10)).toBeNull();
    const hall = drawHall([{ name: 'A', rows: ['x....', '..x..'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(6, hall));
    expect(await freeSeatsAfter(redis, keys, 0, 3, 10)).toEqual({ positions: [2, 3, 4], looked: 4 });
    // Positions 2 and 3 held by a hold that expires at once; the sweeper has not run.
    const short = { userId: 'u6', performanceId: 6, lifetimeMs: 1, userLimit: 4, retentionMs: 60_000 };
    const held = await holdSeats(redis, keys, {
      ...short,
      holdId: 'e1',
      seatIds: [hall.places[1].id, hall.places[2].id],
    });
    if (held.outcome !== 'OK') throw new Error(`hold e1: ${held.outcome}`);
    await waitUntil(
      async () => {
        const [seconds, micros] = (await redis.time()).map(Number);
        return seconds * 1000 + micros / 1000 > held.expiresAt;
      },
      'hold e1 expired (Redis time)',
      5_000,
      10,
    );
    expect(await freeSeatsAfter(redis, keys, 1, 10, 10)).toEqual({ positions: [2, 3, 4, 5, 6, 7, 9, 10], looked: 10 });
    ran.add('boxofficeFreeSeatsAfter');
    // A letter written past the scripts (bit still 1) is checked: the seat is not answered.
    await redis.hset(keys.seats, String(hall.places[3].id), 'S');
    expect(await freeSeatsAfter(redis, keys, 3, 2, 10)).toEqual({ positions: [5, 6], looked: 6 });
    // Seating data not built (or of another format): the caller reads the letters.
    await redis.hset(keys.seating, 'ready', '1');
    expect(await freeSeatsAfter(redis, keys, 0, 5, 10)).toBe('NO_INDEX');
  });

  it("blocked seats: A -> B all or none, an expired hold's seat taken, released B -> A, the seating data in step", async () => {
    const keys = performanceKeys(14);
    expect(await blockSeats(redis, keys, [1])).toEqual({ outcome: 'NO_PERFORMANCE' });
    expect(await releaseSeatBlocks(redis, keys, [1])).toEqual({ outcome: 'NO_PERFORMANCE' });
    const hall = drawHall([{ name: 'A', rows: ['x....', '.....'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(14, hall));
    const [sold, a2, a3, a4, a5] = [1, 2, 3, 4, 5].map((n) => hall.seat('A', 1, n));
    const [b1, b2] = [1, 2].map((n) => hall.seat('A', 2, n));
    const request = { userId: 'u14', performanceId: 14, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    expect(await holdSeats(redis, keys, { ...request, holdId: 'k1', seatIds: [a5] })).toMatchObject({ outcome: 'OK' });

    expect(await blockSeats(redis, keys, [a2, a3])).toEqual({ outcome: 'OK', blocked: 2, fromExpiredHolds: 0 });
    ran.add('boxofficeBlockSeats');
    // Blocked again: no change. A held or sold seat refuses all; an unknown seat too.
    expect(await blockSeats(redis, keys, [a2])).toEqual({ outcome: 'OK', blocked: 0, fromExpiredHolds: 0 });
    expect(await blockSeats(redis, keys, [a4, a5, sold])).toEqual({ outcome: 'UNAVAILABLE', held: [a5], sold: [sold] });
    expect(await blockSeats(redis, keys, [a4, 99])).toEqual({ outcome: 'UNKNOWN_SEATS', seatIds: [99] });
    expect(await redis.hmget(keys.seats, String(a2), String(a3), String(a4))).toEqual(['B', 'B', 'A']);
    expect(await holdSeats(redis, keys, { ...request, holdId: 'k2', seatIds: [a2] })).toMatchObject({
      outcome: 'UNAVAILABLE',
    });
    expect(await seatingDisagreements(redis, 14, hall.places)).toEqual([]);

    // A seat of an expired hold is taken from it; the hold's sweep leaves it blocked.
    const short = await holdSeats(redis, keys, { ...request, lifetimeMs: 20, holdId: 'k3', seatIds: [b1, b2] });
    if (short.outcome !== 'OK') throw new Error(`hold k3: ${short.outcome}`);
    await waitUntil(
      async () => {
        const [seconds, micros] = (await redis.time()).map(Number);
        return seconds * 1000 + micros / 1000 > short.expiresAt;
      },
      'hold k3 expired (Redis time)',
      5_000,
      10,
    );
    expect(await blockSeats(redis, keys, [b1])).toEqual({ outcome: 'OK', blocked: 1, fromExpiredHolds: 1 });
    expect(await expireHolds(redis, keys, ['k3'])).toEqual({ holds: 1, seats: 1 });
    expect(await redis.hmget(keys.seats, String(b1), String(b2))).toEqual(['B', 'A']);
    expect(await redis.hgetall(keys.counts)).toEqual({
      total: '10',
      available: '5',
      held: '1',
      sold: '1',
      blocked: '3',
    });

    expect(await releaseSeatBlocks(redis, keys, [a2, a4, b1])).toEqual({ outcome: 'OK', released: 2 });
    ran.add('boxofficeReleaseSeatBlocks');
    expect(await releaseSeatBlocks(redis, keys, [a2, 99])).toEqual({ outcome: 'UNKNOWN_SEATS', seatIds: [99] });
    expect(await redis.hmget(keys.seats, String(a2), String(a3), String(b1))).toEqual(['A', 'B', 'A']);
    expect(await redis.hgetall(keys.counts)).toEqual({
      total: '10',
      available: '7',
      held: '1',
      sold: '1',
      blocked: '1',
    });
    expect(await seatingDisagreements(redis, 14, hall.places)).toEqual([]);
    expect(await holdSeats(redis, keys, { ...request, holdId: 'k4', seatIds: [a2] })).toMatchObject({ outcome: 'OK' });

    // A rebuild registers PostgreSQL's blocks: a free seat becomes B, a held one stays held.
    await registerSeats(redis, keys, [
      { id: a4, price: 100, sold: false, blocked: true },
      { id: a5, price: 100, sold: false, blocked: true },
    ]);
    expect(await redis.hmget(keys.seats, String(a4), String(a5))).toEqual(['B', 'H']);
    expect(await redis.hgetall(keys.counts)).toEqual({
      total: '10',
      available: '5',
      held: '2',
      sold: '1',
      blocked: '2',
    });
    expect(await seatingDisagreements(redis, 14, hall.places)).toEqual([]);
  });

  it('seat reconciliation of blocks: A -> B, B -> A, a sold seat shown B made S, the seating data in step', async () => {
    const keys = performanceKeys(15);
    const hall = drawHall([{ name: 'A', rows: ['.....'] }]);
    await new SeatStateStore(redis).registerPerformance(hallRegistration(15, hall));
    const [a1, a2, a3, a4, a5] = [1, 2, 3, 4, 5].map((n) => hall.seat('A', 1, n));
    const request = { userId: 'u15', performanceId: 15, lifetimeMs: 60_000, userLimit: 4, retentionMs: 60_000 };
    expect(await holdSeats(redis, keys, { ...request, holdId: 'r1', seatIds: [a5] })).toMatchObject({ outcome: 'OK' });
    expect(await blockSeats(redis, keys, [a2, a4])).toMatchObject({ outcome: 'OK', blocked: 2 });
    const mark = await streamMark(redis, keys);
    const answers = await reconcileSeats(redis, keys, mark, [
      { kind: 'seat-block', seatId: a1 },
      { kind: 'seat-release', seatId: a2 },
      { kind: 'seat-release', seatId: a3 },
      { kind: 'persisted-sale', seatId: a4, purchaseId: 'p4', holdId: null, buyerId: 'u4', final: false },
      { kind: 'seat-block', seatId: a5 },
    ]);
    expect(answers).toEqual([
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'LEFT' },
      { outcome: 'REPAIRED', takenFromHold: null },
      { outcome: 'LEFT' },
    ]);
    expect(await redis.hmget(keys.seats, ...[a1, a2, a3, a4, a5].map(String))).toEqual(['B', 'A', 'A', 'S', 'H']);
    expect(await redis.hgetall(keys.counts)).toEqual({
      total: '5',
      available: '2',
      held: '1',
      sold: '1',
      blocked: '1',
    });
    expect(await seatingDisagreements(redis, 15, hall.places)).toEqual([]);
  });

  it('a presale: written into a registered performance only', async () => {
    const store = new PresaleStore(redis);
    const window = { id: '1', name: 'Fans', opensAt: new Date(0), closesAt: new Date(1), codeDigest: 'ab' };
    expect(await store.put(50, window)).toBe(false);
    expect(await redis.exists(performanceKeys(50).meta)).toBe(0);
    await redis.hset(performanceKeys(50).meta, 'salesOpenAt', Date.now(), 'currency', 'KRW');
    expect(await store.put(50, window)).toBe(true);
    expect(await redis.hget(performanceKeys(50).meta, 'presale:1')).toBe('0:1:ab:Fans');
    ran.add('boxofficePutPresale');
  });

  it('left no registered script out of the runs above', () => {
    expect([...ran].sort()).toEqual(TICKETING_SCRIPTS.map((script) => script.name).sort());
  });
});
