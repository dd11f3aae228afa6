import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '@app/core';
import { PurchaseRepository } from '@app/database';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys } from '../redis-keys';
import { PurchaseFlusher } from './purchase-flusher';
import { PurchaseFlushStore } from './purchase-flush.store';

/**
 * A performance deleted while a flush pass visits it (real Redis): its purchase stream is simply
 * gone, which is no failure of the pass; a stream gone under a performance still registered is one.
 */
describe('PurchaseFlusher and a deleted performance (real Redis)', () => {
  let fx: TicketingFixture;
  let flusher: PurchaseFlusher;
  const opened = new Date('2020-01-01T00:00:00Z');
  const batches: unknown[] = [];

  beforeAll(() => {
    fx = ticketingFixture({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    const repository = {
      writeBatch: async (batch: unknown) => {
        batches.push(batch);
        return [];
      },
    } as unknown as PurchaseRepository;
    flusher = new PurchaseFlusher(new PurchaseFlushStore(fx.redis, fx.redis), fx.env, repository, new SystemClock());
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await fx?.close();
  });

  /** Every key left under the performance's hash tag (without the deployment's prefix). */
  async function keysOf(performanceId: number): Promise<string[]> {
    const prefix = fx.redis.options.keyPrefix ?? '';
    return (await fx.redis.keys(`${prefix}${performanceKeys(performanceId).everyKey}`)).sort();
  }

  /** A performance with only a hold, visited once by the flusher (its stream and group made). */
  async function heldPerformance(performanceId: number): Promise<void> {
    await fx.store.registerPerformance({ performanceId, salesOpenAt: opened, currency: 'KRW', seats: seatRange(4) });
    await fx.holds.hold('alice', performanceId, [1, 2]);
    expect(await flusher.flushOnce()).toBe(0);
  }

  it('passes quietly over a performance deleted after the pass read the registry, whatever the flusher knew of it', async () => {
    await heldPerformance(16);
    await heldPerformance(17);
    // The pass reads the registry just before the deletions (the race the operator met).
    const registry = await fx.redis.smembers(PERFORMANCE_REGISTRY_KEY);
    await fx.store.removePerformance(16);
    await fx.store.removePerformance(17);
    vi.spyOn(fx.redis, 'smembers').mockResolvedValueOnce(registry);
    await expect(flusher.flushOnce()).resolves.toBe(0);
    // A flusher that never visited them (another batch process) passes quietly too.
    const other = new PurchaseFlusher(
      new PurchaseFlushStore(fx.redis, fx.redis),
      fx.env,
      {} as PurchaseRepository,
      new SystemClock(),
    );
    vi.spyOn(fx.redis, 'smembers').mockResolvedValueOnce(registry);
    await expect(other.flushOnce()).resolves.toBe(0);
    expect(batches).toEqual([]);
    // Nothing of the deleted performances is left in Redis: the flusher that had to make the group
    // (XGROUP CREATE … MKSTREAM) left an empty purchase stream behind before ensure-flush-group.lua
    // checked the meta hash.
    expect(await keysOf(16)).toEqual([]);
    expect(await keysOf(17)).toEqual([]);
  });

  it('still fails a pass whose stream is gone under a performance still registered, and recovers on the next', async () => {
    await heldPerformance(18);
    await fx.redis.unlink(performanceKeys(18).purchaseStream);
    await expect(flusher.flushOnce()).rejects.toThrow(/performance 18: NOGROUP/);
    await expect(flusher.flushOnce()).resolves.toBe(0);
  });
});
