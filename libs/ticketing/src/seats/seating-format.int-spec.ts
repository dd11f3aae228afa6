import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { PerformanceRepository, PresalesRepository, PurchaseRepository, SeatBlocksRepository } from '@app/database';
import { DrawnHall, drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { SeatingUpgradingError } from '../errors';
import { HoldDesk } from '../holds/hold-desk';
import { performanceKeys } from '../redis-keys';
import { WaitingRoomService } from '../waiting-room/waiting-room.service';
import { SEATING_FORMAT } from './seating-layout';
import { SeatStateRebuilder } from './seat-state-rebuilder';
import { SeatStateStore } from './seat-state.store';

/**
 * Building the best-available seating data again when its stored format (the layout's `ready`)
 * is not this version's SEATING_FORMAT, on the real Redis. Each "replica" is a HoldDesk with its
 * own connection, store and SeatStateRebuilder (PostgreSQL's seat places given from the drawn
 * hall): an older format is built once across replicas however many best-available holds ask at
 * once (the rebuild lease and one build per process); a newer one, left by a newer version
 * during a rolling deploy, is never built back: 503 with Retry-After, seat data untouched.
 */
describe('seating data of another format', () => {
  let fx: TicketingFixture;
  let next = 1;

  beforeAll(() => {
    fx = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '8' });
  });
  afterAll(() => fx.close());
  afterEach(() => vi.restoreAllMocks());

  /** A replica of the api: its HoldDesk, its store, and a spy counting its seating builds. */
  function replica(hall: DrawnHall) {
    const { redis, holds } = fx.connect({ MAX_SEATS_PER_RESERVATION: '8' });
    const store = new SeatStateStore(redis);
    const builds = vi.spyOn(store, 'registerSeating');
    const performances = {
      seatPlaces: async () => hall.places.map((place) => ({ ...place, price: 100 })),
      findById: async (id: number) => ({ id }),
    };
    const rebuilder = new SeatStateRebuilder(
      performances as unknown as PerformanceRepository,
      {} as PurchaseRepository,
      store,
      {} as WaitingRoomService,
      {} as SeatBlocksRepository,
      {} as PresalesRepository,
    );
    return { desk: new HoldDesk(holds, rebuilder), store, builds };
  }

  async function performance(noOrphanSeats = false) {
    const performanceId = next++;
    const hall = drawHall([{ name: 'Floor', rows: Array.from({ length: 10 }, () => '.'.repeat(20)) }]);
    await fx.store.registerPerformance({
      ...hallRegistration(performanceId, hall),
      lifecycle: {
        status: 'ON_SALE',
        salesCloseAt: new Date(Date.now() + 3_600_000),
        cancelUntil: null,
        noOrphanSeats,
      },
    });
    return { performanceId, hall, keys: performanceKeys(performanceId) };
  }

  const pair = (performanceId: number) => ({
    performanceId,
    quantity: 2,
    together: true,
    accessible: false,
    scope: { kind: 'all' as const },
  });

  /** Everything of the seating data, as bytes: the layout hash, bitmap, slots and seat info. */
  async function seatingSnapshot(performanceId: number) {
    const keys = performanceKeys(performanceId);
    const replies = (await fx.redis
      .multi()
      .hgetallBuffer(keys.seating)
      .getBuffer(keys.free)
      .getBuffer(keys.runs)
      .getBuffer(keys.seatInfo)
      .exec())!;
    return replies.map(([, value]) => value);
  }

  it('an older format under many concurrent best-available holds: built once, every hold answered, no seat twice', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { performanceId, hall, keys } = await performance();
    await fx.redis.hset(keys.seating, 'ready', String(SEATING_FORMAT - 1));
    const replicas = [replica(hall), replica(hall), replica(hall)];

    const holds = await Promise.all(
      replicas.flatMap(({ desk }) =>
        Array.from({ length: 15 }, () => desk.holdBestAvailable(randomUUID(), pair(performanceId))),
      ),
    );

    expect(replicas.reduce((sum, { builds }) => sum + builds.mock.calls.length, 0)).toBe(1);
    expect(await fx.redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
    const seatIds = holds.flatMap((hold) => hold.seatIds);
    expect(holds.every((hold) => hold.seatIds.length === 2)).toBe(true);
    expect(new Set(seatIds).size).toBe(seatIds.length);
    const { stored, recomputed, letters } = await fx.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(seatIds.filter((id) => letters[id] !== 'H')).toEqual([]);
    expect(stored.held).toBe(seatIds.length);
    expect(await seatingDisagreements(fx.redis, performanceId, hall.places)).toEqual([]);
  });

  it('this format left half built (a build cut off): built again once', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { performanceId, hall, keys } = await performance();
    await fx.redis.hset(keys.seating, 'ready', `building ${SEATING_FORMAT}`);
    const { desk, builds } = replica(hall);
    expect((await desk.holdBestAvailable(randomUUID(), pair(performanceId))).seatIds).toHaveLength(2);
    expect(builds).toHaveBeenCalledTimes(1);
    expect(await fx.redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
  });

  it.each([String(SEATING_FORMAT + 1), `building ${SEATING_FORMAT + 1}`])(
    'a newer format (ready %s): best-available answers 503 and builds nothing; seat-id holds and releases go on',
    async (ready) => {
      const { performanceId, hall, keys } = await performance();
      await fx.redis.hset(keys.seating, 'ready', ready);
      const { desk, store, builds } = replica(hall);
      const before = await seatingSnapshot(performanceId);

      const refused = await desk.holdBestAvailable(randomUUID(), pair(performanceId)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SeatingUpgradingError);
      expect(refused).toMatchObject({
        kind: 'unavailable',
        retryAfterSeconds: 1,
        message: 'a newer version is upgrading the seat data; retry shortly',
      });
      expect(builds).not.toHaveBeenCalled();
      // Asked directly, the store refuses too, writing nothing.
      expect(await store.registerSeating(performanceId, hall.places)).toBe(false);
      expect(await seatingSnapshot(performanceId)).toEqual(before);

      // Seat-id holds and releases read the letters, not the slots' format: they go on.
      const user = randomUUID();
      const seats = [hall.seat('Floor', 1, 1), hall.seat('Floor', 1, 2)];
      const hold = await desk.hold(user, performanceId, seats);
      await expect(desk.hold(randomUUID(), performanceId, seats)).rejects.toThrow();
      await desk.release(user, hold.id);
      const { stored, recomputed } = await fx.truth(performanceId);
      expect(stored).toEqual(recomputed);
      expect(stored.held).toBe(0);
      expect(await fx.redis.hget(keys.seating, 'ready')).toBe(ready);
    },
  );

  it("a roll back (README's reset): the newer format's `ready` deleted, the older version builds its own once and holds", async () => {
    const { performanceId, hall, keys } = await performance();
    await fx.redis.hset(keys.seating, 'ready', String(SEATING_FORMAT + 1));
    const { desk, builds } = replica(hall);
    await expect(desk.holdBestAvailable(randomUUID(), pair(performanceId))).rejects.toBeInstanceOf(
      SeatingUpgradingError,
    );
    await fx.redis.hdel(keys.seating, 'ready');
    expect((await desk.holdBestAvailable(randomUUID(), pair(performanceId))).seatIds).toHaveLength(2);
    expect(builds).toHaveBeenCalledTimes(1);
    expect(await fx.redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
    expect(await seatingDisagreements(fx.redis, performanceId, hall.places)).toEqual([]);
  });

  it('a newer format with the noOrphanSeats rule: a seat-id hold answers 503, nothing held', async () => {
    const { performanceId, hall, keys } = await performance(true);
    await fx.redis.hset(keys.seating, 'ready', String(SEATING_FORMAT + 1));
    const { desk, builds } = replica(hall);
    await expect(desk.hold(randomUUID(), performanceId, [hall.seat('Floor', 1, 1)])).rejects.toBeInstanceOf(
      SeatingUpgradingError,
    );
    expect(builds).not.toHaveBeenCalled();
    expect((await fx.truth(performanceId)).stored.held).toBe(0);
  });
});
