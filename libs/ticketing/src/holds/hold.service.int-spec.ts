import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Hold,
  holdPointerKey,
  HoldLimitExceededError,
  HoldReleasedError,
  idWithPerformance,
  InvalidInputError,
  NotFoundError,
  performanceKeys,
  performanceOfId,
  SalesNotOpenError,
  SeatsUnavailableError,
} from '@app/ticketing';
import { isCluster } from '@app/redis';
import { holdTheOldWay } from '../../test/previous-version';
import { userHoldPerformancesKey } from '../redis-keys';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';

/** A small deterministic generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('HoldService', () => {
  let fx: TicketingFixture;
  const opened = new Date(Date.now() - 60_000);
  let nextPerformance = 100;
  const newPerformance = async (seats = 20, salesOpenAt = opened): Promise<number> => {
    const performanceId = nextPerformance++;
    await fx.store.registerPerformance({ performanceId, salesOpenAt, currency: 'KRW', seats: seatRange(seats) });
    return performanceId;
  };

  beforeAll(() => {
    fx = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '4', RESERVATION_TTL_SECONDS: '300' });
  });
  afterAll(async () => {
    await fx.close();
  });

  it('a hold made shortly before salesCloseAt expires at salesCloseAt, seat-id and best-available alike', async () => {
    const performanceId = nextPerformance++;
    // Whole seconds: salesCloseAt is kept in Redis in epoch ms, as PostgreSQL's timestamp gives it.
    const salesCloseAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(5),
      lifecycle: { status: 'ON_SALE', salesCloseAt, cancelUntil: null, noOrphanSeats: false },
    });
    const hold = await fx.holds.hold('carol', performanceId, [1]);
    // RESERVATION_TTL_SECONDS is 300: past the close, when nothing could buy the hold any more.
    expect(hold.expiresAt).toEqual(salesCloseAt);
    const keys = performanceKeys(performanceId);
    expect(await fx.redis.zscore(keys.expiry, hold.id)).toBe(String(salesCloseAt.getTime()));
    expect(await fx.redis.hget(keys.seatHolds, '1')).toBe(`${salesCloseAt.getTime()}:${hold.id}`);
    expect(await fx.holds.get('carol', hold.id)).toMatchObject({ expiresAt: salesCloseAt });
  });

  it('holds seats, records the hold and updates the counts', async () => {
    const performanceId = nextPerformance++;
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: opened,
      currency: 'EUR',
      seats: [
        { id: 1, price: 2010 },
        { id: 2, price: 3020 },
        { id: 3, price: 1000 },
      ],
    });
    const before = Date.now();
    const hold = await fx.holds.hold('alice', performanceId, [2, 1]);

    expect(hold).toMatchObject({ performanceId, userId: 'alice', seatIds: [2, 1], status: 'HELD' });
    // Minor units as registered, summed, not scaled: 3020 + 2010 cents.
    expect(hold).toMatchObject({ amount: 5030, currency: 'EUR' });
    expect(hold.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(hold.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 299_000);
    expect(hold.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 301_000);
    expect(await fx.holds.get('alice', hold.id)).toEqual(hold);
    expect(await fx.store.statuses(performanceId, [1, 2, 3])).toEqual(['HELD', 'HELD', 'AVAILABLE']);
    expect(await fx.store.counts(performanceId)).toEqual({ total: 3, available: 1, held: 2, sold: 0, blocked: 0 });
    expect(await fx.redis.zscore(performanceKeys(performanceId).expiry, hold.id)).toBe(
      String(hold.expiresAt.getTime()),
    );
  });

  it("lists a hold through the user's index of performances with holds; a refused hold adds no entry on a single Redis", async () => {
    const [first, second, third] = [await newPerformance(), await newPerformance(), await newPerformance()];
    const user = `index-${randomUUID()}`;
    const held = [await fx.holds.hold(user, first, [1]), await fx.holds.hold(user, second, [2, 3])];
    await fx.holds.hold('someone-else', third, [4]);
    await expect(fx.holds.hold(user, third, [4])).rejects.toThrow(SeatsUnavailableError);

    expect((await fx.holds.listLive(user)).map((hold) => hold.id).sort()).toEqual(held.map((hold) => hold.id).sort());
    const index = await fx.redis.zrange(userHoldPerformancesKey(user), 0, -1, 'WITHSCORES');
    const entries = new Map<string, number>();
    for (let i = 0; i < index.length; i += 2) entries.set(index[i], Number(index[i + 1]));
    // Each entry counts past its hold's expiry (by the clock slack), and the key lives as long.
    for (const hold of held) expect(entries.get(String(hold.performanceId))).toBeGreaterThan(hold.expiresAt.getTime());
    expect(await fx.redis.pexpiretime(userHoldPerformancesKey(user))).toBe(Math.max(...entries.values()));
    // On a Cluster index-hold.lua writes the entry before the hold script runs (another slot);
    // on a single Redis the hold script writes it only with a hold it made.
    if (!isCluster(fx.redis)) expect(entries.has(String(third))).toBe(false);
  });

  it('refuses a taken seat, naming it, and holds none of the others', async () => {
    const performanceId = await newPerformance();
    await fx.holds.hold('alice', performanceId, [3]);
    const attempt = fx.holds.hold('bob', performanceId, [1, 2, 3]);
    await expect(attempt).rejects.toBeInstanceOf(SeatsUnavailableError);
    await expect(attempt).rejects.toMatchObject({ kind: 'conflict', details: { seatIds: [3] } });
    expect(await fx.store.statuses(performanceId, [1, 2, 3])).toEqual(['AVAILABLE', 'AVAILABLE', 'HELD']);
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 19, held: 1 });
  });

  it('releases for the owner only; others and unknown ids get NotFound', async () => {
    const performanceId = await newPerformance();
    const hold = await fx.holds.hold('alice', performanceId, [1, 2]);

    await expect(fx.holds.get('mallory', hold.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.holds.release('mallory', hold.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.holds.get('alice', randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.holds.get('alice', 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.holds.release('alice', 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
    expect(await fx.store.statuses(performanceId, [1, 2])).toEqual(['HELD', 'HELD']);

    await fx.holds.release('alice', hold.id);
    await expect(fx.holds.release('alice', hold.id)).rejects.toBeInstanceOf(HoldReleasedError);
    expect(await fx.holds.get('alice', hold.id)).toMatchObject({ status: 'RELEASED', seatIds: [1, 2] });
    expect(await fx.store.statuses(performanceId, [1, 2])).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(await fx.store.counts(performanceId)).toEqual({ total: 20, available: 20, held: 0, sold: 0, blocked: 0 });
    expect(await fx.redis.zcard(performanceKeys(performanceId).expiry)).toBe(0);

    const again = await fx.holds.hold('bob', performanceId, [1, 2]);
    expect(again.status).toBe('HELD');
  });

  it('finds a hold by its id alone, which carries the performance, with no pointer key', async () => {
    const performanceId = await newPerformance();
    const hold = await fx.holds.hold('alice', performanceId, [1, 2]);
    expect(performanceOfId(hold.id)).toBe(performanceId);
    expect(await fx.redis.exists(holdPointerKey(hold.id))).toBe(0);
    // Another replica, with its own client, reads and releases it by the id alone.
    const replica = fx.connect();
    expect(await replica.holds.get('alice', hold.id)).toEqual(hold);
    // The same random part under another performance is another id: not found.
    const elsewhere = await newPerformance();
    const forged = idWithPerformance(elsewhere, hold.id);
    expect(performanceOfId(forged)).toBe(elsewhere);
    await expect(replica.holds.get('alice', forged)).rejects.toBeInstanceOf(NotFoundError);
    await replica.holds.release('alice', hold.id);
    expect(await fx.store.statuses(performanceId, [1, 2])).toEqual(['AVAILABLE', 'AVAILABLE']);
    // No performance id beyond a PostgreSQL integer exists, nor fits an id.
    await expect(fx.holds.hold('alice', 2 ** 40, [1])).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads and releases a hold the previous version made (v4 id, pointer key) during a rolling upgrade', async () => {
    const performanceId = await newPerformance();
    const holdId = await holdTheOldWay(fx.redis, fx.env, 'alice', performanceId, [3, 4]);
    expect(performanceOfId(holdId)).toBeNull();
    expect(await fx.holds.get('alice', holdId)).toMatchObject({
      id: holdId,
      performanceId,
      seatIds: [3, 4],
      status: 'HELD',
    });
    await expect(fx.holds.get('mallory', holdId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fx.holds.release('mallory', holdId)).rejects.toBeInstanceOf(NotFoundError);
    await fx.holds.release('alice', holdId);
    expect(await fx.holds.get('alice', holdId)).toMatchObject({ status: 'RELEASED' });
    expect(await fx.store.statuses(performanceId, [3, 4])).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 20, held: 0 });
  });

  it('refuses holds before sales open, holding nothing', async () => {
    const salesOpenAt = new Date(Date.now() + 3_600_000);
    const performanceId = await newPerformance(5, salesOpenAt);
    const attempt = fx.holds.hold('alice', performanceId, [1]);
    await expect(attempt).rejects.toBeInstanceOf(SalesNotOpenError);
    await expect(attempt).rejects.toMatchObject({
      kind: 'forbidden',
      details: { salesOpenAt: salesOpenAt.toISOString() },
    });
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 5, held: 0 });

    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(5) });
    expect((await fx.holds.hold('alice', performanceId, [1])).status).toBe('HELD');
  });

  it('limits the seats one user holds on a performance across holds', async () => {
    const performanceId = await newPerformance();
    const first = await fx.holds.hold('alice', performanceId, [1, 2, 3]);
    const attempt = fx.holds.hold('alice', performanceId, [4, 5]);
    await expect(attempt).rejects.toBeInstanceOf(HoldLimitExceededError);
    await expect(attempt).rejects.toMatchObject({
      kind: 'conflict',
      details: { limit: 4, alreadyHeld: 3, requested: 2 },
    });
    expect(await fx.store.statuses(performanceId, [4, 5])).toEqual(['AVAILABLE', 'AVAILABLE']);

    await fx.holds.hold('alice', performanceId, [4]);
    await expect(fx.holds.hold('alice', performanceId, [5])).rejects.toBeInstanceOf(HoldLimitExceededError);
    expect((await fx.holds.hold('bob', performanceId, [5, 6, 7, 8])).status).toBe('HELD');

    await fx.holds.release('alice', first.id);
    expect((await fx.holds.hold('alice', performanceId, [9, 10, 11])).status).toBe('HELD');
    const other = await newPerformance();
    expect((await fx.holds.hold('alice', other, [1, 2, 3, 4])).status).toBe('HELD');
  });

  it('refuses malformed input before touching Redis', async () => {
    const performanceId = await newPerformance();
    const cases: [string, number, unknown][] = [
      ['alice', performanceId, []],
      ['alice', performanceId, [1, 1]],
      ['alice', performanceId, [0]],
      ['alice', performanceId, [-1]],
      ['alice', performanceId, [1.5]],
      ['alice', performanceId, ['1']],
      ['alice', performanceId, [Number.NaN]],
      ['alice', performanceId, 'not a list'],
      ['alice', 0, [1]],
      ['alice', 1.5, [1]],
      ['', performanceId, [1]],
    ];
    for (const [userId, perf, seatIds] of cases) {
      await expect(fx.holds.hold(userId, perf, seatIds as number[]), JSON.stringify(seatIds)).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    }
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 20, held: 0 });
  });

  it('treats more seats than a hold may have as the hold limit, holding nothing', async () => {
    const performanceId = await newPerformance();
    await expect(fx.holds.hold('alice', performanceId, [1, 2, 3, 4, 5])).rejects.toBeInstanceOf(HoldLimitExceededError);
    expect(await fx.store.counts(performanceId)).toMatchObject({ available: 20, held: 0 });
  });

  it('answers NotFound for unknown performances and seats, holding nothing', async () => {
    const performanceId = await newPerformance(5);
    await expect(fx.holds.hold('alice', 99_999, [1])).rejects.toBeInstanceOf(NotFoundError);
    const attempt = fx.holds.hold('alice', performanceId, [1, 6, 7]);
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    await expect(attempt).rejects.toMatchObject({ details: { seatIds: [6, 7] } });
    expect(await fx.store.statuses(performanceId, [1])).toEqual(['AVAILABLE']);
  });

  it('500 users at once on the same seat: exactly one holds it', async () => {
    const performanceId = await newPerformance(10);
    const clients = Array.from({ length: 10 }, () => fx.connect({ MAX_SEATS_PER_RESERVATION: '4' }).holds);
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, (_, index) =>
        clients[index % clients.length].hold(`user-${index}`, performanceId, [7]),
      ),
    );

    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.filter((result) => result.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(499);
    for (const result of lost) {
      expect(result.reason).toBeInstanceOf(SeatsUnavailableError);
      expect((result.reason as SeatsUnavailableError).details).toEqual({ seatIds: [7] });
    }
    expect(await fx.store.statuses(performanceId, [7])).toEqual(['HELD']);
    expect(await fx.redis.zcard(performanceKeys(performanceId).expiry)).toBe(1);
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual({ total: 10, available: 9, held: 1, sold: 0, blocked: 0 });
    expect(stored).toEqual(recomputed);
  });

  it('300 overlapping multi-seat holds at once: no seat twice, no partial hold', async () => {
    const performanceId = await newPerformance(40);
    const clients = Array.from({ length: 8 }, () => fx.connect({ MAX_SEATS_PER_RESERVATION: '4' }).holds);
    const next = random(42);
    const requests = Array.from({ length: 300 }, (_, index) => {
      const wanted = new Set<number>();
      const size = 1 + Math.floor(next() * 4);
      while (wanted.size < size) wanted.add(1 + Math.floor(next() * 40));
      return { userId: `user-${index}`, seatIds: [...wanted] };
    });
    const results = await Promise.allSettled(
      requests.map((request, index) =>
        clients[index % clients.length].hold(request.userId, performanceId, request.seatIds),
      ),
    );

    const holderOf = new Map<number, Hold>();
    const refused: { seatIds: number[]; unavailable: number[] }[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        expect(result.value.seatIds).toEqual(requests[index].seatIds);
        for (const seatId of result.value.seatIds) {
          expect(holderOf.has(seatId), `seat ${seatId} held twice`).toBe(false);
          holderOf.set(seatId, result.value);
        }
      } else {
        expect(result.reason).toBeInstanceOf(SeatsUnavailableError);
        const unavailable = (result.reason as SeatsUnavailableError).details?.seatIds as number[];
        expect(unavailable.length).toBeGreaterThan(0);
        refused.push({ seatIds: requests[index].seatIds, unavailable });
      }
    });
    expect(holderOf.size).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);

    // Nothing was released, so every seat named unavailable belongs to a successful hold.
    for (const { seatIds, unavailable } of refused) {
      for (const seatId of unavailable) {
        expect(seatIds).toContain(seatId);
        expect(holderOf.has(seatId), `seat ${seatId} named unavailable but held by no successful hold`).toBe(true);
      }
    }
    // The held seats in Redis are exactly the seats of the successful holds: no partial hold.
    const { letters, stored, recomputed } = await fx.truth(performanceId);
    const heldInRedis = Object.entries(letters)
      .filter(([, letter]) => letter === 'H')
      .map(([seatId]) => Number(seatId))
      .sort((a, b) => a - b);
    expect(heldInRedis).toEqual([...holderOf.keys()].sort((a, b) => a - b));
    expect(stored).toEqual(recomputed);
    expect(stored.held).toBe(holderOf.size);

    const winners = [...new Set(holderOf.values())];
    expect(await fx.redis.zcard(performanceKeys(performanceId).expiry)).toBe(winners.length);
    for (const hold of winners) {
      expect(await fx.holds.get(hold.userId, hold.id)).toEqual(hold);
    }
  });
});
