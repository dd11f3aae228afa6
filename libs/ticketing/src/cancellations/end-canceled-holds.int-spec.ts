import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hold, performanceKeys, SalesClosedError } from '@app/ticketing';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { CANCELED_HOLDS_PAGE, PerformanceCancellationStore } from './performance-cancellation.store';

/**
 * end-canceled-holds.lua through PerformanceCancellationStore.endHolds, on a real Redis (and a
 * Redis Cluster with --project int-cluster): a canceled performance's live holds end, their seats
 * free, in pages over the hold expiry index; holds racing the cancel end up refused or ended.
 */
describe('ending the live holds of a canceled performance', () => {
  let fx: TicketingFixture;
  let cancellations: PerformanceCancellationStore;
  const opened = new Date(Date.now() - 60_000);

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '300', MAX_SEATS_PER_RESERVATION: '4' });
    cancellations = new PerformanceCancellationStore(fx.redis, fx.redis);
  });
  afterAll(async () => {
    await fx.close();
  });

  const cancelLive = (performanceId: number) =>
    fx.redis.hset(performanceKeys(performanceId).meta, 'status', 'CANCELED');

  /** Calls endHolds with `limit` until a page comes back short; answers the holds ended and the pages. */
  async function endAll(performanceId: number, limit: number): Promise<{ ended: number; pages: number }> {
    let ended = 0;
    let pages = 0;
    for (;;) {
      const page = await cancellations.endHolds(performanceId, limit);
      ended += page.ended;
      pages += 1;
      if (page.entries < limit) return { ended, pages };
    }
  }

  it('changes nothing while the performance is not canceled', async () => {
    await fx.store.registerPerformance({ performanceId: 1, salesOpenAt: opened, currency: 'KRW', seats: seatRange(4) });
    const held = await fx.holds.hold('alice', 1, [1, 2]);
    expect(await cancellations.endHolds(1, CANCELED_HOLDS_PAGE)).toEqual({ entries: 0, ended: 0 });
    expect((await fx.holds.get('alice', held.id)).status).toBe('HELD');
    expect(await fx.store.counts(1)).toMatchObject({ available: 2, held: 2 });
  });

  it('ends every live hold of several buyers in pages: RELEASED, reason PERFORMANCE_CANCELED, seats free; a bought hold and its seats stay', async () => {
    const performanceId = 2;
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(40) });
    const buyers = ['ann', 'bob', 'cyd', 'dee', 'eve'];
    const holds = await Promise.all(
      buyers.map((buyer, i) => fx.holds.hold(buyer, performanceId, [i * 4 + 1, i * 4 + 2, i * 4 + 3])),
    );
    // A purchase turned the first hold into sold seats (as purchase.lua does): left alone.
    const keys = performanceKeys(performanceId);
    const [bought, ...live] = holds;
    await fx.redis
      .multi()
      .hset(keys.hold(bought.id), 'status', 'PURCHASED')
      .zrem(keys.expiry, bought.id)
      .hset(keys.seats, ...bought.seatIds.flatMap((id) => [id, 'S']))
      .hincrby(keys.counts, 'held', -3)
      .hincrby(keys.counts, 'sold', 3)
      .exec();
    await cancelLive(performanceId);

    // Pages of 2 over 4 live holds: 2, 2, then an empty page ends the walk.
    expect(await endAll(performanceId, 2)).toEqual({ ended: 4, pages: 3 });
    for (const hold of live) {
      expect(await fx.holds.get(hold.userId, hold.id)).toMatchObject({
        status: 'RELEASED',
        endReason: 'PERFORMANCE_CANCELED',
      });
      expect(await fx.store.statuses(performanceId, hold.seatIds)).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    }
    expect((await fx.holds.get(bought.userId, bought.id)).status).toBe('PURCHASED');
    expect(await fx.store.statuses(performanceId, bought.seatIds)).toEqual(['SOLD', 'SOLD', 'SOLD']);
    expect(await fx.redis.zcard(keys.expiry)).toBe(0);
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(stored).toMatchObject({ total: 40, available: 37, held: 0, sold: 3 });
    // Again: nothing left, nothing freed twice.
    expect(await cancellations.endHolds(performanceId, 2)).toEqual({ entries: 0, ended: 0 });
  });

  it('marks a hold already past its expiry EXPIRED, as the sweeper would', async () => {
    const performanceId = 3;
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(4) });
    const short = await fx.connect({ RESERVATION_TTL_SECONDS: '1' }).holds.hold('ann', performanceId, [1, 2]);
    await fx.redisTimePasses(short.expiresAt, 'the short hold expired');
    await cancelLive(performanceId);
    expect(await cancellations.endHolds(performanceId, CANCELED_HOLDS_PAGE)).toEqual({ entries: 1, ended: 1 });
    const read = await fx.holds.get('ann', short.id);
    expect(read.status).toBe('EXPIRED');
    expect(read.endReason).toBeUndefined();
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 4, held: 0 });
  });

  it('holds racing the cancel end up refused or ended, none HELD once the walk is done', async () => {
    const performanceId = 4;
    const buyers = 300;
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(buyers * 2),
    });
    // Six clients on connections of their own (as api replicas), each holding one buyer's seats
    // after another: their holds interleave with the cancel's calls.
    const replicas = Array.from({ length: 6 }, () => fx.connect());
    const outcomes: ({ hold: Hold } | { error: unknown })[] = [];
    let next = 0;
    let answered = 0;
    let someIn!: () => void;
    const twentyAnswered = new Promise<void>((resolve) => (someIn = resolve));
    const client = async ({ holds }: (typeof replicas)[number]) => {
      for (let i = next++; i < buyers; i = next++) {
        outcomes.push(
          await holds.hold(`buyer-${i}`, performanceId, [i * 2 + 1, i * 2 + 2]).then(
            (hold: Hold) => ({ hold }),
            (error: unknown) => ({ error }),
          ),
        );
        if (++answered === 20) someIn();
      }
    };
    const clients = Promise.all(replicas.map(client));
    await twentyAnswered;
    await cancelLive(performanceId);
    const { ended } = await endAll(performanceId, 25);
    await clients;

    const made = outcomes.flatMap((outcome) => ('hold' in outcome ? [outcome.hold] : []));
    const refused = outcomes.flatMap((outcome) => ('error' in outcome ? [outcome.error] : []));
    for (const error of refused) {
      expect(error).toBeInstanceOf(SalesClosedError);
      expect((error as SalesClosedError).details).toEqual({ reason: 'CANCELED' });
    }
    // The race happened: holds before the cancel, refusals after it.
    expect(made.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(ended).toBe(made.length);
    for (const hold of made) {
      expect((await fx.holds.get(hold.userId, hold.id)).status).toBe('RELEASED');
    }
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(stored).toMatchObject({ available: buyers * 2, held: 0 });
  });
});
