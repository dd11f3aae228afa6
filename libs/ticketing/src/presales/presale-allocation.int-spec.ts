import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawHall, hallRegistration } from '../../test/halls';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { PresaleAllocationExhaustedError } from '../errors';
import { endCanceledHolds, holdSeats, releaseHold } from '../holds/hold-scripts';
import { cancelPurchase, purchaseHold, refundSeats } from '../purchases/purchase-scripts';
import { performanceKeys } from '../redis-keys';
import { accessCodeDigest } from './access-code';
import { PresaleWindow } from './presale-fields';
import { PresaleStore } from './presale.store';

/** Redis TIME in epoch ms: the clock the hold scripts compare presale windows with. */
async function redisNow(fx: TicketingFixture): Promise<number> {
  const [seconds, micros] = (await fx.redis.time()).map(Number);
  return seconds * 1000 + Math.floor(micros / 1000);
}

const CODE = 'FANS-2027';

/**
 * A presale's allocation in the scripts themselves (the presale-allocation include): the hold
 * scripts count a presale hold's seats in the run that takes them and refuse what does not fit;
 * every script that ends a presale hold or cancels or refunds a presale purchase gives its seats
 * back, once; a rebuild's registration starts the count from the sales.
 */
describe('presale allocations in the scripts (presale trial 2026-12-07, M2)', () => {
  let fx: TicketingFixture;
  let presales: PresaleStore;
  let nextPerformance = 1;

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '300', MAX_SEATS_PER_RESERVATION: '4' });
    presales = new PresaleStore(fx.redis);
  });
  afterAll(async () => {
    await fx.close();
  });

  /** A performance before its on-sale with presale '7' ("Fans", code CODE) open now, allocation `maxSeats`. */
  async function presaleShow(maxSeats: number | null, seats = 10) {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    const presale: PresaleWindow = {
      id: '7',
      name: 'Fans',
      opensAt: new Date(now - 60_000),
      closesAt: new Date(now + 1_800_000),
      codeDigest: accessCodeDigest(performanceId, CODE),
      maxSeats,
    };
    const drawn = drawHall([{ name: 'A', rows: ['.'.repeat(seats)] }]);
    await fx.store.registerPerformance({
      ...hallRegistration(performanceId, drawn),
      salesOpenAt: new Date(now + 3_600_000),
      lifecycle: { status: 'ON_SALE', salesCloseAt: new Date(now + 7_200_000), cancelUntil: new Date(now + 7_200_000) },
      presales: [presale],
    });
    const keys = performanceKeys(performanceId);
    const taken = async () => fx.redis.hget(keys.meta, 'presale-taken:7');
    return { performanceId, keys, presale, seatIds: drawn.places.map((place) => place.id), taken };
  }

  /** A hold by the scripts' wrapper with the code, `lifetimeMs` long. */
  function codeHold(
    show: Awaited<ReturnType<typeof presaleShow>>,
    userId: string,
    holdId: string,
    seatIds: number[],
    lifetimeMs = 300_000,
  ) {
    return holdSeats(fx.redis, show.keys, {
      holdId,
      userId,
      performanceId: show.performanceId,
      lifetimeMs,
      userLimit: 4,
      retentionMs: 600_000,
      seatIds,
      accessCodeDigest: accessCodeDigest(show.performanceId, CODE),
    });
  }

  it('counts seat-id and best-available holds, refuses what does not fit (nothing held, never fewer), and a release gives back once', async () => {
    const show = await presaleShow(5);
    expect(await show.taken()).toBe('0');
    const first = await fx.holds.hold('alice', show.performanceId, show.seatIds.slice(0, 3), undefined, CODE);
    expect(await show.taken()).toBe('3');
    const before = await fx.truth(show.performanceId);

    // 3 + 3 > 5: refused by seat ids and by best available alike, with what is left.
    const bySeats = await fx.holds.hold('bob', show.performanceId, show.seatIds.slice(3, 6), undefined, CODE).then(
      () => expect.unreachable('held'),
      (error: unknown) => error,
    );
    expect(bySeats).toBeInstanceOf(PresaleAllocationExhaustedError);
    expect(bySeats).toMatchObject({
      kind: 'conflict',
      code: 'PresaleAllocationExhausted',
      details: {
        code: 'PresaleAllocationExhausted',
        presale: { id: '7', name: 'Fans' },
        maxSeats: 5,
        seatsTaken: 3,
        seatsLeft: 2,
        requested: 3,
      },
    });
    const request = {
      performanceId: show.performanceId,
      quantity: 3,
      together: false,
      accessible: false,
      scope: { kind: 'all' as const },
      accessCode: CODE,
    };
    await expect(fx.holds.holdBestAvailable('bob', request)).rejects.toMatchObject({
      code: 'PresaleAllocationExhausted',
      details: { seatsLeft: 2, requested: 3 },
    });
    expect(await fx.truth(show.performanceId)).toEqual(before);
    expect(await show.taken()).toBe('3');

    // What fits is held, by best available too; then nothing is left.
    const second = await fx.holds.holdBestAvailable('bob', { ...request, quantity: 2 });
    expect(second.seatIds).toHaveLength(2);
    expect(await show.taken()).toBe('5');
    await expect(fx.holds.hold('carol', show.performanceId, [show.seatIds[9]], undefined, CODE)).rejects.toMatchObject({
      code: 'PresaleAllocationExhausted',
      details: { seatsLeft: 0, requested: 1 },
    });
    // A hold without the code before the on-sale is refused as before; the count is not read for it.
    await expect(fx.holds.hold('carol', show.performanceId, [show.seatIds[9]])).rejects.toMatchObject({
      code: 'SalesNotOpen',
    });

    expect(await releaseHold(fx.redis, show.keys, first.id, 'alice')).toBe('RELEASED');
    expect(await show.taken()).toBe('2');
    expect(await releaseHold(fx.redis, show.keys, first.id, 'alice')).toBe('ALREADY_RELEASED');
    expect(await show.taken()).toBe('2');
    expect(await fx.holds.hold('carol', show.performanceId, show.seatIds.slice(6, 9), undefined, CODE)).toMatchObject({
      status: 'HELD',
    });
    expect(await show.taken()).toBe('5');
  });

  it('gives an expired hold back once: by the sweep, or by the hold that ends it on its seats', async () => {
    const show = await presaleShow(3);
    const short = await codeHold(show, 'alice', 'h1', show.seatIds.slice(0, 2), 300);
    const other = await codeHold(show, 'bob', 'h2', [show.seatIds[2]], 300);
    if (short.outcome !== 'OK' || other.outcome !== 'OK') throw new Error(`holds: ${short.outcome} ${other.outcome}`);
    expect(await show.taken()).toBe('3');
    await fx.redisTimePasses(Math.max(short.expiresAt, other.expiresAt), 'the short holds expired');

    // A hold of h1's seats ends it (its record passed in KEYS) and gives its 2 back before counting its own.
    expect(await codeHold(show, 'carol', 'h3', show.seatIds.slice(0, 2))).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('3');
    // The sweep ends h2 (expire-holds.lua) and gives its seat back; a second sweep gives nothing.
    expect(await fx.sweeper.sweepOnce()).toBe(1);
    expect(await show.taken()).toBe('2');
    expect(await fx.sweeper.sweepOnce()).toBe(0);
    expect(await show.taken()).toBe('2');
  });

  it('keeps a bought hold counted; a cancel and a refund give its seats back, also from the record PostgreSQL keeps', async () => {
    const show = await presaleShow(4);
    const held = await codeHold(show, 'alice', 'h1', show.seatIds.slice(0, 3));
    expect(held.outcome).toBe('OK');
    const sale = { holdId: 'h1', userId: 'alice', purchaseId: 'p1', chargeId: 'ch1', holdRetentionMs: 60_000 };
    // The answer names the presale as the hash does (the 201 shows it before any read); a replay too.
    expect(await purchaseHold(fx.redis, show.keys, sale)).toMatchObject({ outcome: 'OK', presale: '7' });
    expect(await purchaseHold(fx.redis, show.keys, sale)).toMatchObject({ outcome: 'OK', presale: '7' });
    expect(await fx.redis.hget(show.keys.purchase('p1'), 'presale')).toBe('7');
    expect(await show.taken()).toBe('3');

    const refund = {
      purchaseId: 'p1',
      userId: 'alice',
      mode: 'operator' as const,
      checkedIn: [],
      refundId: '00000000-0000-4000-8000-000000000001',
      seatIds: [show.seatIds[0]],
      flushed: true,
      persisted: null,
      operatorId: '00000000-0000-4000-8000-000000000002',
    };
    expect(await refundSeats(fx.redis, show.keys, refund)).toMatchObject({ outcome: 'REFUNDED' });
    expect(await show.taken()).toBe('2');

    // Written to PostgreSQL long ago: the record comes back from there, with its presale.
    const record = await fx.redis.hgetall(show.keys.purchase('p1'));
    await fx.redis.del(show.keys.purchase('p1'));
    const cancel = {
      purchaseId: 'p1',
      userId: 'alice',
      mode: 'buyer' as const,
      canceledBy: 'buyer' as const,
      checkedIn: [],
      transferredSeatIds: [],
      persisted: record,
    };
    expect(await cancelPurchase(fx.redis, show.keys, cancel)).toMatchObject({ outcome: 'CANCELED' });
    expect(await show.taken()).toBe('0');
    expect(await cancelPurchase(fx.redis, show.keys, cancel)).toEqual({ outcome: 'CANCELED_BY_BUYER' });
    expect(await show.taken()).toBe('0');
  });

  it("an older version's presale holds and purchases, never counted, give nothing back (upgrade trial U2)", async () => {
    const show = await presaleShow(3);
    /** A hold as an older version wrote it: the presale on its record, its seats not counted. */
    async function olderHold(userId: string, holdId: string, seatIds: number[], lifetimeMs?: number) {
      const held = await codeHold(show, userId, holdId, seatIds, lifetimeMs);
      if (held.outcome !== 'OK') throw new Error(`hold: ${held.outcome}`);
      await fx.redis.hdel(show.keys.hold(holdId), 'presaleCounted');
      await fx.redis.hincrby(show.keys.meta, 'presale-taken:7', -seatIds.length);
      return held;
    }
    await olderHold('old-1', 'o1', show.seatIds.slice(0, 2));
    await olderHold('old-2', 'o2', [show.seatIds[2]]);
    const short = await olderHold('old-3', 'o3', [show.seatIds[3]], 300);
    expect(await show.taken()).toBe('0');
    // Today's holds fill the allocation.
    expect(await codeHold(show, 'alice', 'h1', show.seatIds.slice(4, 6))).toMatchObject({ outcome: 'OK' });
    expect(await codeHold(show, 'bob', 'h2', [show.seatIds[6]])).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('3');

    // Released, bought and canceled, swept: none of the older holds takes seats off today's count.
    expect(await releaseHold(fx.redis, show.keys, 'o1', 'old-1')).toBe('RELEASED');
    const sale = { holdId: 'o2', userId: 'old-2', purchaseId: 'op2', chargeId: 'ch-o2', holdRetentionMs: 60_000 };
    expect(await purchaseHold(fx.redis, show.keys, sale)).toMatchObject({ outcome: 'OK', presale: '7' });
    const cancel = {
      purchaseId: 'op2',
      userId: 'old-2',
      mode: 'buyer' as const,
      canceledBy: 'buyer' as const,
      checkedIn: [],
      transferredSeatIds: [],
      persisted: null,
    };
    expect(await cancelPurchase(fx.redis, show.keys, cancel)).toMatchObject({ outcome: 'CANCELED' });
    await fx.redisTimePasses(short.expiresAt, 'the older short hold expired');
    expect(await fx.sweeper.sweepOnce()).toBe(1);
    expect(await show.taken()).toBe('3');
    await expect(fx.holds.hold('carol', show.performanceId, [show.seatIds[7]], undefined, CODE)).rejects.toMatchObject({
      code: 'PresaleAllocationExhausted',
      details: { seatsTaken: 3, seatsLeft: 0 },
    });

    // Today's hold still gives its own back, and so does its purchase.
    expect(await releaseHold(fx.redis, show.keys, 'h2', 'bob')).toBe('RELEASED');
    expect(await show.taken()).toBe('2');
    const bought = { holdId: 'h1', userId: 'alice', purchaseId: 'p1', chargeId: 'ch-p1', holdRetentionMs: 60_000 };
    expect(await purchaseHold(fx.redis, show.keys, bought)).toMatchObject({ outcome: 'OK' });
    expect(await cancelPurchase(fx.redis, show.keys, { ...cancel, purchaseId: 'p1', userId: 'alice' })).toMatchObject({
      outcome: 'CANCELED',
    });
    expect(await show.taken()).toBe('0');
  });

  it("an older version's expired hold ended by a hold on its seats, and its purchase's refund, give nothing back (upgrade trial U2)", async () => {
    const show = await presaleShow(4);
    const older = await codeHold(show, 'old-1', 'o1', show.seatIds.slice(0, 2), 300);
    const olderSold = await codeHold(show, 'old-2', 'o2', show.seatIds.slice(2, 4));
    if (older.outcome !== 'OK' || olderSold.outcome !== 'OK') throw new Error('older holds');
    for (const holdId of ['o1', 'o2']) await fx.redis.hdel(show.keys.hold(holdId), 'presaleCounted');
    await fx.redis.hset(show.keys.meta, 'presale-taken:7', '0');
    const sale = { holdId: 'o2', userId: 'old-2', purchaseId: 'op2', chargeId: 'ch-o2', holdRetentionMs: 60_000 };
    expect(await purchaseHold(fx.redis, show.keys, sale)).toMatchObject({ outcome: 'OK' });
    expect(await codeHold(show, 'alice', 'h1', show.seatIds.slice(4, 6))).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('2');

    // A hold of o1's seats ends it (expired) and counts only its own 2.
    await fx.redisTimePasses(older.expiresAt, 'the older hold expired');
    expect(await codeHold(show, 'bob', 'h2', show.seatIds.slice(0, 2))).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('4');
    const refund = {
      purchaseId: 'op2',
      userId: 'old-2',
      mode: 'operator' as const,
      checkedIn: [],
      refundId: '00000000-0000-4000-8000-000000000003',
      seatIds: [show.seatIds[2]],
      flushed: true,
      persisted: null,
      operatorId: '00000000-0000-4000-8000-000000000002',
    };
    expect(await refundSeats(fx.redis, show.keys, refund)).toMatchObject({ outcome: 'REFUNDED' });
    expect(await show.taken()).toBe('4');
  });

  it("gives back a canceled performance's holds; a deleted presale's count stays gone; a lowered allocation stops holds", async () => {
    const show = await presaleShow(4);
    expect(await codeHold(show, 'alice', 'h1', show.seatIds.slice(0, 2))).toMatchObject({ outcome: 'OK' });
    expect(await codeHold(show, 'bob', 'h2', show.seatIds.slice(2, 4))).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('4');

    // Lowered to 3, below the 4 taken: nothing is taken back, no hold is let in.
    expect(await presales.put(show.performanceId, { ...show.presale, maxSeats: 3 })).toBe(true);
    expect(await show.taken()).toBe('4');
    expect(await codeHold(show, 'carol', 'h3', [show.seatIds[5]])).toEqual({
      outcome: 'PRESALE_EXHAUSTED',
      presale: { id: '7', name: 'Fans' },
      maxSeats: 3,
      seatsTaken: 4,
    });
    // Removed: the hall is the limit again, and the count is kept.
    expect(await presales.put(show.performanceId, { ...show.presale, maxSeats: null })).toBe(true);
    expect(await codeHold(show, 'carol', 'h3', [show.seatIds[5]])).toMatchObject({ outcome: 'OK' });
    expect(await show.taken()).toBe('5');

    await fx.redis.hset(show.keys.meta, 'status', 'CANCELED');
    expect(await endCanceledHolds(fx.redis, show.keys, ['h1'])).toMatchObject({ outcome: 'OK', holds: 1 });
    expect(await show.taken()).toBe('3');

    // A deleted presale: its holds' ends write no count back.
    await presales.remove(show.performanceId, '7');
    expect(await endCanceledHolds(fx.redis, show.keys, ['h2', 'h3'])).toMatchObject({ outcome: 'OK', holds: 2 });
    expect(await fx.redis.hexists(show.keys.meta, 'presale-taken:7')).toBe(0);
    expect(await fx.redis.hexists(show.keys.meta, 'presale-max:7')).toBe(0);
  });

  it("a registration (a rebuild) starts each presale's count from its sales and writes its allocation", async () => {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    const window = (id: string, maxSeats: number | null): PresaleWindow => ({
      id,
      name: `P${id}`,
      opensAt: new Date(now - 60_000),
      closesAt: new Date(now + 1_800_000),
      codeDigest: accessCodeDigest(performanceId, `CODE-${id}-X`),
      maxSeats,
    });
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: new Date(now + 3_600_000),
      currency: 'KRW',
      seats: seatRange(10),
      sold: [1, 2, 3],
      presales: [window('21', 3), window('22', null)],
      presaleSeatsSold: new Map([['21', 3]]),
    });
    const keys = performanceKeys(performanceId);
    expect(
      await fx.redis.hmget(keys.meta, 'presale-max:21', 'presale-taken:21', 'presale-max:22', 'presale-taken:22'),
    ).toEqual(['3', '3', null, '0']);
    expect(await presales.seatsTaken(performanceId, ['21', '22', '23'])).toEqual([3, 0, 0]);
  });
});
