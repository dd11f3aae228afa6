import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import Redis, { Command } from 'ioredis';
import { waitUntil } from '@app/testing';
import { PerformanceRepository, PresalesRepository, PurchaseRepository, SeatBlocksRepository } from '@app/database';
import { DrawnHall, drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { SeatingUpgradingError } from '../errors';
import { HoldDesk } from '../holds/hold-desk';
import { performanceKeys } from '../redis-keys';
import { WaitingRoomService } from '../waiting-room/waiting-room.service';
import { buildSeatingLayout, SEATING_FORMAT, SeatPlace } from './seating-layout';
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

  /**
   * A replica of the api: its HoldDesk, its connection and store, and a spy counting its seating
   * builds. PostgreSQL, as its rebuilder reads it, has the seats `places` (the hall's by default)
   * of an on-sale performance with nothing sold, blocked or presold.
   */
  function replica(hall: DrawnHall, places = hall.places, noOrphanSeats = false) {
    const { redis, holds } = fx.connect({ MAX_SEATS_PER_RESERVATION: '8' });
    const store = new SeatStateStore(redis);
    const builds = vi.spyOn(store, 'registerSeating');
    const row = (id: number) => ({
      id,
      salesOpenAt: new Date(Date.now() - 60_000),
      startsAt: new Date(Date.now() + 3_600_000),
      salesCloseAt: null,
      cancelUntil: null,
      status: 'ON_SALE',
      noOrphanSeats,
      maxTicketsPerBuyer: null,
      currency: 'KRW',
    });
    const performances = {
      seatPlaces: async () => places.map((place) => ({ ...place, price: 100 })),
      findById: async (id: number) => row(id),
      whileRowShared: async <T>(id: number, work: (manager: undefined) => Promise<T>) => work(undefined),
    };
    const rebuilder = new SeatStateRebuilder(
      performances as unknown as PerformanceRepository,
      { activeSeatIds: async () => [], ticketsBoughtByBuyer: async () => [] } as unknown as PurchaseRepository,
      store,
      { restore: async () => 'off' } as unknown as WaitingRoomService,
      { blockedSeatIds: async () => [] } as unknown as SeatBlocksRepository,
      { list: async () => [] } as unknown as PresalesRepository,
    );
    return { desk: new HoldDesk(holds, rebuilder), redis, store, builds };
  }

  /**
   * Holds back every command `redis` sends once its seating build's `begin` step went out
   * (seating-format.lua's ARGV 'begin'), until `release` sends them in order: a replica paused
   * mid-build (a long GC pause, a stalled connection) while its rebuild lease runs out.
   */
  function pauseAfterBegin(redis: Redis) {
    const send = redis.sendCommand.bind(redis);
    const held: Command[] = [];
    let begun = false;
    let released = false;
    vi.spyOn(redis, 'sendCommand').mockImplementation((command: Command) => {
      if (begun && !released) {
        held.push(command);
        return command.promise;
      }
      if (command.args.some((arg) => arg === 'begin')) begun = true;
      return send(command);
    });
    return {
      held: () => held.length,
      release() {
        released = true;
        for (const command of held) void send(command);
      },
    };
  }

  /** The static layout (fields but `ready` and the live ones, and the seat info) as bytes. */
  async function staticLayout(performanceId: number) {
    const keys = performanceKeys(performanceId);
    const fields = await fx.redis.hgetallBuffer(keys.seating);
    for (const field of Object.keys(fields)) if (/^(ready|dirty|w\d+)$/.test(field)) delete fields[field];
    return { fields, seatInfo: await fx.redis.getBuffer(keys.seatInfo) };
  }

  /** The static layout buildSeatingLayout makes of `places`, as staticLayout reads it. */
  function layoutOf(places: SeatPlace[]) {
    const layout = buildSeatingLayout(places);
    const fields = Object.fromEntries(
      [...layout.fields].map(([field, value]) => [field, Buffer.isBuffer(value) ? value : Buffer.from(value)]),
    );
    return { fields, seatInfo: layout.seatInfo };
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
      expect(await store.registerSeating(performanceId, hall.places)).toBe('FORMAT_MOVED');
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

  it.each(['its rebuild lease lapsed and another replica rebuilt', 'a newer version began its format'])(
    'a build paused after its begin while %s: it writes none of its layout, its request is answered as the others',
    async (meanwhile) => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { performanceId, hall, keys } = await performance();
      await fx.redis.hset(keys.seating, 'ready', String(SEATING_FORMAT - 1));
      // The stale replica read other seat qualities (PostgreSQL before an operator's change): a
      // layout of its own would place parties by them.
      const staleHall = hall.places.map((place) => ({ ...place, quality: 1000 - place.quality }));
      const stale = replica(hall, staleHall);
      const paused = pauseAfterBegin(stale.redis);
      const staleHold = stale.desk.holdBestAvailable(randomUUID(), pair(performanceId)).then(
        (hold) => hold,
        (error: unknown) => error,
      );
      await waitUntil(
        async () => paused.held() > 0 && (await fx.redis.hget(keys.seating, 'ready')) === `building ${SEATING_FORMAT}`,
        'the stale build began and waits to write',
        10_000,
        5,
      );

      let expected: Awaited<ReturnType<typeof staticLayout>>;
      if (meanwhile.startsWith('its rebuild lease')) {
        // Its lease runs out (the renewals are held back with the rest), another replica builds.
        await fx.redis.pexpire(keys.rebuildLease, 1);
        await waitUntil(async () => (await fx.redis.exists(keys.rebuildLease)) === 0, 'the lease lapsed', 5_000, 5);
        const fresh = replica(hall);
        expect((await fresh.desk.holdBestAvailable(randomUUID(), pair(performanceId))).seatIds).toHaveLength(2);
        expect(fresh.builds).toHaveBeenCalledTimes(1);
        expected = layoutOf(hall.places);
        expect(await staticLayout(performanceId)).toEqual(expected);
      } else {
        // A newer version's replica begins its own format (it takes no lease of this version).
        await fx.redis.hset(keys.seating, 'ready', `building ${SEATING_FORMAT + 1}`, 'r0', 'newer');
        expected = await staticLayout(performanceId);
      }
      paused.release();
      const answer = await staleHold;

      expect(await staticLayout(performanceId)).toEqual(expected);
      if (meanwhile.startsWith('its rebuild lease')) {
        // The retry found the newer build's data: a pair from it, no seat twice.
        expect(answer).toMatchObject({ status: 'HELD', seatIds: expect.any(Array) });
        expect(await fx.redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
        expect(await seatingDisagreements(fx.redis, performanceId, hall.places)).toEqual([]);
        const { stored, recomputed } = await fx.truth(performanceId);
        expect(stored).toEqual(recomputed);
        expect(stored.held).toBe(4);
      } else {
        expect(answer).toBeInstanceOf(SeatingUpgradingError);
        expect(await fx.redis.hget(keys.seating, 'ready')).toBe(`building ${SEATING_FORMAT + 1}`);
      }
    },
  );

  it.each([String(SEATING_FORMAT + 1), `building ${SEATING_FORMAT + 1}`])(
    'a performance not registered in Redis meeting seating data of a newer format (ready %s): 503 like a registered one, the rest rebuilt',
    async (ready) => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { performanceId, hall, keys } = await performance(true);
      await fx.redis.hset(keys.seating, 'ready', ready);
      const before = await seatingSnapshot(performanceId);
      // Its meta hash lost (what makes it registered): the next request rebuilds it from PostgreSQL.
      await fx.redis.del(keys.meta);
      const { desk, store } = replica(hall, hall.places, true);
      expect(await store.isRegistered(performanceId)).toBe(false);

      const refused = await desk.holdBestAvailable(randomUUID(), pair(performanceId)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SeatingUpgradingError);
      expect(refused).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1 });
      expect(await store.isRegistered(performanceId)).toBe(true);
      expect(await seatingSnapshot(performanceId)).toEqual(before);

      // The same for a seat-id hold under noOrphanSeats, on a performance lost again.
      await fx.redis.del(keys.meta);
      await expect(desk.hold(randomUUID(), performanceId, [hall.seat('Floor', 1, 1)])).rejects.toBeInstanceOf(
        SeatingUpgradingError,
      );
      expect((await fx.truth(performanceId)).stored.held).toBe(0);
      expect(await seatingSnapshot(performanceId)).toEqual(before);
    },
  );
});
