import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@app/testing';
import { drawHall, hallRegistration } from '../../test/halls';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { IdempotencyKeyInUseError } from '../errors';
import { digestOfKey } from '../purchases/idempotency';
import { performanceKeys } from '../redis-keys';
import { Hold, HOLD_RETENTION_MS } from './hold';
import { HoldService } from './hold.service';

/** Redis TIME in epoch ms. */
async function redisNow(fx: TicketingFixture): Promise<number> {
  const [seconds, micros] = (await fx.redis.time()).map(Number);
  return seconds * 1000 + Math.floor(micros / 1000);
}

/**
 * The Idempotency-Key of a buyer's hold in the hold scripts themselves (hold-seats.lua,
 * hold-best-available.lua, lua-includes/hold-taking.lua): its record beside expired holds' records
 * in KEYS (the END_HOLDS rounds), the record's life, and a key refused for another request
 * changing nothing.
 */
describe('hold scripts with an Idempotency-Key', () => {
  let fx: TicketingFixture;
  let shortHolds: HoldService;
  const opened = new Date(Date.now() - 60_000);
  let nextPerformance = 1;

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '300', MAX_SEATS_PER_RESERVATION: '4' });
    shortHolds = fx.connect({ RESERVATION_TTL_SECONDS: '1' }).holds;
  });
  afterAll(async () => {
    await fx.close();
  });

  /** Waits until Redis's clock is past the holds' expiry. */
  async function expired(...holds: Hold[]): Promise<void> {
    const latest = Math.max(...holds.map((hold) => hold.expiresAt.getTime()));
    await waitUntil(async () => (await redisNow(fx)) > latest, 'the holds expired by Redis time', 10_000, 20);
  }

  it('a keyed seat-id hold ends the expired hold on its seats (both records in KEYS), once, and is answered again', async () => {
    const performanceId = nextPerformance++;
    const keys = performanceKeys(performanceId);
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(5) });
    const old = await shortHolds.hold('alice', performanceId, [1, 2]);
    await expired(old);

    const held = await fx.holds.hold('bob', performanceId, [3, 2], 'retry-me');
    expect(held).toMatchObject({ userId: 'bob', seatIds: [3, 2], status: 'HELD' });
    expect(await fx.redis.hget(keys.hold(old.id), 'status')).toBe('EXPIRED');
    const again = await fx.holds.hold('bob', performanceId, [2, 3], 'retry-me');
    expect(again).toEqual(held);
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual({ total: 5, available: 3, held: 2, sold: 0, blocked: 0 });
    expect(stored).toEqual(recomputed);
    expect(await fx.redis.zrange(keys.expiry, 0, -1)).toEqual([held.id]);

    // The record lives as long as the hold's record: 24 h past the hold's expiry.
    const record = keys.holdRequest('bob', digestOfKey('retry-me'));
    expect(await fx.redis.hgetall(record)).toMatchObject({ request: 'seats:2,3', hold: held.id, seats: '3,2' });
    expect(await fx.redis.pexpiretime(record)).toBe(held.expiresAt.getTime() + HOLD_RETENTION_MS);
    expect(await fx.redis.pexpiretime(keys.hold(held.id))).toBe(held.expiresAt.getTime() + HOLD_RETENTION_MS);
  });

  it('a keyed best-available hold ends the expired holds first and answers the same seats again', async () => {
    const performanceId = nextPerformance++;
    const drawn = drawHall([{ name: 'A', rows: ['....', '....'] }]);
    await fx.store.registerPerformance(hallRegistration(performanceId, drawn));
    const keys = performanceKeys(performanceId);
    const request = { performanceId, quantity: 4, together: true, accessible: false, scope: { kind: 'all' as const } };
    const old = [
      await shortHolds.holdBestAvailable('alice', request),
      await shortHolds.holdBestAvailable('carol', request),
    ];
    await expired(...old);

    const held = await fx.holds.holdBestAvailable('bob', request, 'best-retry');
    expect(held.arrangement).toBe('TOGETHER');
    for (const hold of old) expect(await fx.redis.hget(keys.hold(hold.id), 'status')).toBe('EXPIRED');
    expect(await fx.holds.holdBestAvailable('bob', request, 'best-retry')).toEqual(held);
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual({ total: 8, available: 4, held: 4, sold: 0, blocked: 0 });
    expect(stored).toEqual(recomputed);
  });

  it('the key with another request is refused before anything is checked or changed', async () => {
    const performanceId = nextPerformance++;
    const keys = performanceKeys(performanceId);
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(5) });
    const held = await fx.holds.hold('dave', performanceId, [1], 'once');
    const before = await fx.truth(performanceId);
    await expect(fx.holds.hold('dave', performanceId, [2], 'once')).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
    // A seat that does not exist is not looked at either: the key's answer comes first.
    await expect(fx.holds.hold('dave', performanceId, [99], 'once')).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
    await expect(
      fx.holds.holdBestAvailable(
        'dave',
        { performanceId, quantity: 1, together: true, accessible: false, scope: { kind: 'all' } },
        'once',
      ),
    ).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
    expect(await fx.truth(performanceId)).toEqual(before);
    expect(await fx.redis.hkeys(keys.userHolds('dave'))).toEqual([held.id]);
    // Another performance is another key.
    const other = nextPerformance++;
    await fx.store.registerPerformance({
      performanceId: other,
      salesOpenAt: opened,
      currency: 'KRW',
      seats: seatRange(5),
    });
    expect(await fx.holds.hold('dave', other, [2], 'once')).toMatchObject({ performanceId: other, seatIds: [2] });
  });
});
