import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import {
  InvalidInputError,
  NotFoundError,
  PERFORMANCE_REGISTRY_KEY,
  SalesClosedError,
  WAITING_ROOM_REGISTRY_KEY,
  waitingRoomKeys,
} from '@app/ticketing';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { PurchaseStore } from '../purchases/purchase.store';
import { performanceKeys } from '../redis-keys';
import { SalesClosure } from './sales-closure';

describe('SeatStateStore', () => {
  let fx: TicketingFixture;
  const opened = new Date(Date.now() - 60_000);

  beforeAll(() => {
    fx = ticketingFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('registers seats as available, with counts', async () => {
    expect(await fx.store.isRegistered(1)).toBe(false);
    await fx.store.registerPerformance({
      performanceId: 1,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(10),
    });
    expect(await fx.store.isRegistered(1)).toBe(true);
    expect(await fx.store.counts(1)).toEqual({ total: 10, available: 10, held: 0, sold: 0, blocked: 0 });
    expect(await fx.store.statuses(1, [3, 1, 10])).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    expect(await fx.store.statuses(1, [])).toEqual([]);
  });

  it('registers sold seats as SOLD', async () => {
    await fx.store.registerPerformance({
      performanceId: 2,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(5),
      sold: [2, 4],
    });
    expect(await fx.store.statuses(2, [1, 2, 3, 4, 5])).toEqual([
      'AVAILABLE',
      'SOLD',
      'AVAILABLE',
      'SOLD',
      'AVAILABLE',
    ]);
    expect(await fx.store.counts(2)).toEqual({ total: 5, available: 3, held: 0, sold: 2, blocked: 0 });
  });

  it('re-registering keeps held and sold seats, marks newly sold ones, adds new seats', async () => {
    await fx.store.registerPerformance({
      performanceId: 3,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(6),
      sold: [6],
    });
    await fx.holds.hold('alice', 3, [1, 2]);

    await fx.store.registerPerformance({
      performanceId: 3,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(8),
      sold: [5],
    });

    expect(await fx.store.statuses(3, [1, 2, 3, 4, 5, 6, 7, 8])).toEqual([
      'HELD',
      'HELD',
      'AVAILABLE',
      'AVAILABLE',
      'SOLD',
      'SOLD',
      'AVAILABLE',
      'AVAILABLE',
    ]);
    expect(await fx.store.counts(3)).toEqual({ total: 8, available: 4, held: 2, sold: 2, blocked: 0 });
    const { stored, recomputed } = await fx.truth(3);
    expect(stored).toEqual(recomputed);
  });

  it('state registered before prices were minor units is registered again, keeping every status', async () => {
    await fx.store.registerPerformance({
      performanceId: 5,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(3, 1050),
    });
    await fx.holds.hold('alice', 5, [1]);
    // What the old code left behind: no currency in the metadata, prices scaled by 100.
    await fx.redis.hdel('{perf:5}:meta', 'currency');
    await fx.redis.hset('{perf:5}:prices', '2', '105000');

    expect(await fx.store.isRegistered(5)).toBe(false);
    await expect(fx.holds.hold('bob', 5, [2])).rejects.toBeInstanceOf(NotFoundError);

    await fx.store.registerPerformance({
      performanceId: 5,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(3, 1050),
    });
    expect(await fx.store.statuses(5, [1, 2, 3])).toEqual(['HELD', 'AVAILABLE', 'AVAILABLE']);
    expect(await fx.holds.hold('bob', 5, [2])).toMatchObject({ amount: 1050, currency: 'KRW' });
  });

  it('unknown performances and seats are not found', async () => {
    await expect(fx.store.counts(999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.store.statuses(999, [1])).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.store.statuses(1, [1, 11])).rejects.toMatchObject({ details: { seatIds: [11] } });
  });

  it('refuses malformed registrations', async () => {
    const register = (registration: Partial<Parameters<typeof fx.store.registerPerformance>[0]>) =>
      fx.store.registerPerformance({
        performanceId: 9,
        salesOpenAt: opened,
        currency: 'KRW',
        seats: seatRange(3),
        ...registration,
      });
    await expect(register({ performanceId: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(register({ salesOpenAt: new Date('nonsense') })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      register({
        seats: [
          { id: 1, price: 1 },
          { id: 1, price: 1 },
        ],
      }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(register({ seats: [{ id: 1, price: 10.5 }] })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(register({ seats: [{ id: 1, price: -1 }] })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(register({ currency: 'EURO' })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(register({ sold: [4] })).rejects.toBeInstanceOf(InvalidInputError);
    expect(await fx.store.isRegistered(9)).toBe(false);
  });

  it('a registration cut before the meta hash is written leaves the performance in the registry', async () => {
    // The meta hash is written by the registration's last script (finish-registration.lua): failing
    // it cuts the registration after the seats and the registry, as a crash or a lost connection there would.
    const scripts = (fx.redis as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
    const finishSha = scripts.boxofficeFinishRegistration.sha;
    const sendCommand = fx.redis.sendCommand.bind(fx.redis);
    const cut = vi.spyOn(fx.redis, 'sendCommand').mockImplementation((command, stream) => {
      if (command.name === 'evalsha' && command.args[0] === finishSha) {
        command.reject(new Error('cut before the meta hash'));
        return command.promise;
      }
      return sendCommand(command, stream);
    });
    try {
      await expect(
        fx.store.registerPerformance({ performanceId: 6, salesOpenAt: opened, currency: 'KRW', seats: seatRange(3) }),
      ).rejects.toThrow('cut before the meta hash');
    } finally {
      cut.mockRestore();
    }
    expect(await fx.store.isRegistered(6)).toBe(false);
    // Where the flusher, the sweeper and the reconciler look, so it is not lost to them.
    expect(await fx.redis.smembers(PERFORMANCE_REGISTRY_KEY)).toContain('6');

    await fx.store.registerPerformance({ performanceId: 6, salesOpenAt: opened, currency: 'KRW', seats: seatRange(3) });
    expect(await fx.store.isRegistered(6)).toBe(true);
    expect(await fx.store.counts(6)).toEqual({ total: 3, available: 3, held: 0, sold: 0, blocked: 0 });
  });

  it("a late reopen by an earlier closer leaves a later closer's closure: a delete's survives a time zone change", async () => {
    await fx.store.registerPerformance({ performanceId: 7, salesOpenAt: opened, currency: 'KRW', seats: seatRange(3) });
    // A time zone change closes under the row lock; a delete waiting on that lock closes after it
    // released it, and the change's finally reopens only then.
    const lease = fx.env.SALES_CLOSURE_LEASE_MS;
    expect(await fx.store.closeSales(7, 'zone-change', lease, true)).toMatchObject({ closed: true });
    expect(await fx.store.closeSales(7, 'delete', lease)).toMatchObject({ closed: true });
    await fx.store.reopenSales(7, 'zone-change');
    await expect(fx.holds.hold('alice', 7, [1]), 'hold while the delete runs').rejects.toBeInstanceOf(SalesClosedError);
    // A refused delete reopens its own closure: sales open.
    await fx.store.reopenSales(7, 'delete');
    expect((await fx.holds.hold('alice', 7, [1])).seatIds).toEqual([1]);
  });

  it("a dead closer's closure lapses after its lease (Redis TIME): holds and purchases go through again; a live closer's, renewed, still refuses them", async () => {
    const leaseMs = 500;
    const purchases = new PurchaseStore(fx.redis, fx.redis);
    await fx.store.registerPerformance({ performanceId: 8, salesOpenAt: opened, currency: 'KRW', seats: seatRange(4) });
    await fx.store.registerPerformance({ performanceId: 9, salesOpenAt: opened, currency: 'KRW', seats: seatRange(4) });
    const bought = await fx.holds.hold('bob', 8, [1]);
    const sale = (purchaseId: string) =>
      purchases.sell(
        8,
        { holdId: bought.id, userId: 'bob', purchaseId, chargeId: `charge-${purchaseId}`, holdRetentionMs: 60_000 },
        Date.now(),
      );

    // A delete's closer killed right after closing: never renewed, never reopened.
    const dead = new SalesClosure(fx.store, leaseMs);
    expect(await dead.close(8)).toMatchObject({ closed: true, held: 1 });
    dead.stop();
    // A live closer of another performance, renewing every fifth of its lease (a longer one, so a
    // loaded test host's stalls do not make it lapse).
    const liveLeaseMs = 800;
    const live = new SalesClosure(fx.store, liveLeaseMs);
    try {
      expect(await live.close(9)).toMatchObject({ closed: true });
      await expect(fx.holds.hold('alice', 8, [2]), 'dead closer, lease running').rejects.toBeInstanceOf(
        SalesClosedError,
      );
      expect(await sale('p1'), 'dead closer, lease running').toEqual({ outcome: 'SALES_CLOSED', reason: 'CLOSED' });

      const [, deadline] = (await fx.redis.hget(performanceKeys(8).meta, 'closed'))!.split(':');
      await fx.redisTimePasses(Number(deadline) + liveLeaseMs, 'the dead closer’s lease, and the live one’s first');
      // Lapsed: sales resume as if it had been reopened, and its closer may not commit on it.
      expect((await fx.holds.hold('alice', 8, [2])).seatIds).toEqual([2]);
      expect(await sale('p1')).toMatchObject({ outcome: 'OK', seats: '1' });
      await expect(dead.confirm(true)).rejects.toBeInstanceOf(StoreUnavailableError);
      // The live closer's stands past its first deadline, renewed; it confirms, then reopens.
      await expect(fx.holds.hold('alice', 9, [1]), 'live closer').rejects.toBeInstanceOf(SalesClosedError);
      await live.confirm();
    } finally {
      await live.reopen();
    }
    expect((await fx.holds.hold('alice', 9, [1])).seatIds).toEqual([1]);
    expect(await fx.redis.hget(performanceKeys(9).meta, 'closed')).toBeNull();

    // Confirmed final (a delete about to commit), then failed: its COMMIT may have gone through, so
    // the closure stays, without deadline, for the seat reconciler to settle.
    const deleting = new SalesClosure(fx.store, leaseMs);
    expect(await deleting.close(9)).toMatchObject({ closed: true });
    await deleting.confirm(true);
    await deleting.reopen();
    expect(await fx.store.salesClosers(9)).toEqual([deleting.token]);
    await expect(fx.holds.hold('alice', 9, [2])).rejects.toBeInstanceOf(SalesClosedError);
  });

  it('removes a performance', async () => {
    await fx.store.registerPerformance({ performanceId: 4, salesOpenAt: opened, currency: 'KRW', seats: seatRange(3) });
    await fx.store.removePerformance(4);
    expect(await fx.store.isRegistered(4)).toBe(false);
    await expect(fx.store.counts(4)).rejects.toBeInstanceOf(NotFoundError);
    expect(await fx.redis.smembers('performances')).not.toContain('4');
  });

  it('removes a performance with its waiting room: out of the rooms registry, no key of the room left', async () => {
    await fx.store.registerPerformance({ performanceId: 5, salesOpenAt: opened, currency: 'KRW', seats: seatRange(3) });
    const room = waitingRoomKeys(5);
    await fx.redis.hset(room.config, { opensAt: Date.now(), admitPerSecond: 1, maxActive: 1 });
    await fx.redis.hset(room.state, { tokens: 1, tokensAt: Date.now(), peakActive: 1 });
    await fx.redis.zadd(room.waiting, 1, 'ticket-1');
    await fx.redis.sadd(WAITING_ROOM_REGISTRY_KEY, 5);
    await fx.store.removePerformance(5);
    expect(await fx.redis.smembers(WAITING_ROOM_REGISTRY_KEY)).not.toContain('5');
    expect(await fx.redis.exists(...Object.values(room))).toBe(0);
  });

  it('registers 50,000 seats, and again, quickly', async () => {
    const seats = Array.from({ length: 50_000 }, (_, index) => ({ id: index + 1, price: 2000 + (index % 7) * 550 }));
    const started = performance.now();
    await fx.store.registerPerformance({ performanceId: 50, salesOpenAt: opened, currency: 'KRW', seats });
    const first = performance.now() - started;
    const again = performance.now();
    await fx.store.registerPerformance({ performanceId: 50, salesOpenAt: opened, currency: 'KRW', seats });
    const second = performance.now() - again;
    console.info(`registered 50,000 seats in ${first.toFixed(0)} ms; again in ${second.toFixed(0)} ms`);
    expect(await fx.store.counts(50)).toEqual({ total: 50_000, available: 50_000, held: 0, sold: 0, blocked: 0 });
  });
});
