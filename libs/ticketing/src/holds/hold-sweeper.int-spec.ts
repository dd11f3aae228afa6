import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigModule } from '@app/config';
import { RedisModule } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, waitUntil } from '@app/testing';
import {
  HoldExpiredError,
  HoldService,
  HoldSweeper,
  performanceKeys,
  SeatStateStore,
  TicketingModule,
} from '@app/ticketing';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';

describe('hold expiry and HoldSweeper', () => {
  let fx: TicketingFixture;
  let shortHolds: HoldService;
  const opened = new Date(Date.now() - 60_000);

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '300', MAX_SEATS_PER_RESERVATION: '4' });
    shortHolds = fx.connect({ RESERVATION_TTL_SECONDS: '1' }).holds;
  });
  afterAll(async () => {
    await fx.close();
  });

  it('shows a hold EXPIRED once its time has passed, before and after the sweep', async () => {
    await fx.store.registerPerformance({ performanceId: 1, salesOpenAt: opened, currency: 'KRW', seats: seatRange(5) });
    const hold = await shortHolds.hold('alice', 1, [1, 2]);
    expect((await fx.holds.get('alice', hold.id)).status).toBe('HELD');

    await waitUntil(
      async () => (await fx.holds.get('alice', hold.id)).status === 'EXPIRED',
      'hold expired',
      10_000,
      10,
    );
    await expect(fx.holds.release('alice', hold.id)).rejects.toBeInstanceOf(HoldExpiredError);
    // Shown free already; still held in Redis until the sweep (or a hold of these seats) ends it.
    expect(await fx.store.statuses(1, [1, 2])).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(await fx.store.counts(1)).toMatchObject({ available: 3, held: 2 });

    expect(await fx.sweeper.sweepOnce()).toBe(1);
    expect(await fx.sweeper.sweepOnce()).toBe(0);
    expect((await fx.holds.get('alice', hold.id)).status).toBe('EXPIRED');
    await expect(fx.holds.release('alice', hold.id)).rejects.toBeInstanceOf(HoldExpiredError);
    expect(await fx.store.statuses(1, [1, 2])).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(await fx.store.counts(1)).toEqual({ total: 5, available: 5, held: 0, sold: 0, blocked: 0 });
    // An expired hold no longer counts against the user's limit.
    expect((await fx.holds.hold('alice', 1, [1, 2, 3, 4])).status).toBe('HELD');
  });

  it('two sweepers at once end each hold, and free each seat, exactly once', async () => {
    const performanceId = 3;
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(400) });
    const short = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        shortHolds.hold(`buyer-${index}`, performanceId, [index * 4 + 1, index * 4 + 2, index * 4 + 3, index * 4 + 4]),
      ),
    );
    // A purchase (issue 6) turns a hold into sold seats; the sweeper must leave those alone.
    const bought = short[0];
    const keys = performanceKeys(performanceId);
    await fx.redis
      .multi()
      .hset(keys.hold(bought.id), 'status', 'PURCHASED')
      .hset(keys.seats, ...bought.seatIds.flatMap((id) => [id, 'S']))
      .hincrby(keys.counts, 'held', -4)
      .hincrby(keys.counts, 'sold', 4)
      .exec();
    // Expiry is judged by the Redis clock: once the last hold to expire shows EXPIRED, all have.
    const last = short.slice(1).reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a));
    await waitUntil(
      async () => (await fx.holds.get(last.userId, last.id)).status === 'EXPIRED',
      'every short hold expired',
      10_000,
      10,
    );

    const sweepUntilDone = async (sweeper: HoldSweeper): Promise<number> => {
      let ended = 0;
      for (let batch = await sweeper.sweepOnce(7); batch > 0; batch = await sweeper.sweepOnce(7)) ended += batch;
      return ended;
    };
    const [first, second] = await Promise.all([
      sweepUntilDone(fx.connect().sweeper),
      sweepUntilDone(fx.connect().sweeper),
    ]);

    expect(first + second).toBe(99);
    expect(await fx.redis.zcard(keys.expiry)).toBe(0);
    expect(await fx.store.counts(performanceId)).toEqual({ total: 400, available: 396, held: 0, sold: 4, blocked: 0 });
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(await fx.store.statuses(performanceId, bought.seatIds)).toEqual(['SOLD', 'SOLD', 'SOLD', 'SOLD']);
  });
});

describe('TicketingModule', () => {
  it('wires the services into a Nest application', async () => {
    const env = createTestEnvWithoutDatabase({ RESERVATION_TTL_SECONDS: '1' });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(env), RedisModule, TicketingModule],
    }).compile();
    const app = await moduleRef.init();
    try {
      await app.get(SeatStateStore).registerPerformance({
        performanceId: 1,
        salesOpenAt: new Date(Date.now() - 1000),
        currency: 'KRW',
        seats: seatRange(3),
      });
      const hold = await app.get(HoldService).hold('alice', 1, [1]);
      await waitUntil(
        async () => (await app.get(HoldService).get('alice', hold.id)).status === 'EXPIRED',
        'hold expired',
      );
      expect(await app.get(HoldSweeper).sweepOnce()).toBe(1);
      // The counts, which only a sweep moves for a hold nobody touched after it expired.
      expect(await app.get(SeatStateStore).counts(1)).toEqual({ total: 3, available: 3, held: 0, sold: 0, blocked: 0 });
    } finally {
      await app.close();
      await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
    }
  });
});
