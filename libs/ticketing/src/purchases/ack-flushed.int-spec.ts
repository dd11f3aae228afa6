import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys, PerformanceKeys } from '../redis-keys';
import { ackFlushed, deliverDuePurchases, ensureFlushGroup } from './purchase-scripts';

/**
 * ack-flushed.lua trims the acknowledged head of the purchase stream (XTRIM MINID) and deletes the
 * rest one by one: whatever the order flushers acknowledge in, every acknowledged entry is gone at
 * once, and no entry still pending or not yet delivered ever is (P4).
 */
describe('ack-flushed.lua (real Redis)', () => {
  let fx: TicketingFixture;
  let redis: Redis;
  const group = 'flusher';
  const retentionMs = 60_000;

  beforeAll(() => {
    // Its stores define the ticketing scripts on its client.
    fx = ticketingFixture();
    redis = fx.redis;
  });
  afterAll(() => fx?.close());

  /** A registered performance's stream with `count` purchase entries and the flushers' group; their ids. */
  async function streamOf(performanceId: number, count: number): Promise<{ keys: PerformanceKeys; ids: string[] }> {
    const keys = performanceKeys(performanceId);
    await redis.hset(keys.meta, 'currency', 'KRW');
    expect(await ensureFlushGroup(redis, keys, group)).toBe(true);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push((await redis.xadd(keys.purchaseStream, '*', 'type', 'purchase', 'id', `p${i}`)) as string);
    }
    return { keys, ids };
  }

  async function deliver(keys: PerformanceKeys, consumer: string, count: number): Promise<string[]> {
    const entries = await deliverDuePurchases(redis, keys.purchaseStream, {
      group,
      consumer,
      dueUntil: Date.now() + 60_000,
      count,
    });
    return entries.map(([id]) => id);
  }

  const ack = (keys: PerformanceKeys, entryIds: string[]) =>
    ackFlushed(redis, keys.purchaseStream, [], { group, retentionMs, entryIds });

  async function left(keys: PerformanceKeys): Promise<string[]> {
    return (await redis.xrange(keys.purchaseStream, '-', '+')).map(([id]) => id);
  }

  it('acknowledged out of order: each ack removes its own entries, never a pending or undelivered one', async () => {
    const { keys, ids } = await streamOf(9101, 7);
    const first = await deliver(keys, 'a', 2);
    const second = await deliver(keys, 'b', 3);
    expect([...first, ...second]).toEqual(ids.slice(0, 5));
    // The later batch first: the earlier one is still pending before it.
    expect(await ack(keys, second)).toBe(3);
    expect(await left(keys)).toEqual([...first, ...ids.slice(5)]);
    expect(await ack(keys, first)).toBe(2);
    // The two undelivered entries stay, with their group still to read them.
    expect(await left(keys)).toEqual(ids.slice(5));
    expect(await redis.xlen(keys.purchaseStream)).toBe(2);
    const last = await deliver(keys, 'a', 10);
    expect(last).toEqual(ids.slice(5));
    // A replay of an acknowledged batch is harmless.
    expect(await ack(keys, first)).toBe(0);
    expect(await left(keys)).toEqual(ids.slice(5));
    expect(await ack(keys, last)).toBe(2);
    expect(await left(keys)).toEqual([]);
  });

  it('an acknowledgement of part of a batch leaves the rest of it pending in the stream', async () => {
    const { keys, ids } = await streamOf(9102, 1500);
    const delivered = await deliver(keys, 'a', 1500);
    expect(delivered).toEqual(ids);
    // Acknowledged in the middle, then the head (more than one slice of the script), then the tail.
    expect(await ack(keys, ids.slice(600, 900))).toBe(300);
    expect(await left(keys)).toEqual([...ids.slice(0, 600), ...ids.slice(900)]);
    expect(await ack(keys, ids.slice(0, 600))).toBe(600);
    expect(await left(keys)).toEqual(ids.slice(900));
    expect(await ack(keys, ids.slice(900))).toBe(600);
    expect(await redis.xlen(keys.purchaseStream)).toBe(0);
  });

  it('a stream without its group, or gone, has the given entries deleted as before', async () => {
    const { keys, ids } = await streamOf(9103, 3);
    // ioredis puts no key prefix on XGROUP's key.
    await redis.xgroup('DESTROY', `${redis.options.keyPrefix ?? ''}${keys.purchaseStream}`, group);
    expect(await ack(keys, ids.slice(0, 2))).toBe(0);
    expect(await left(keys)).toEqual(ids.slice(2));
    await redis.del(keys.purchaseStream);
    expect(await ack(keys, ids.slice(2))).toBe(0);
    expect(await redis.exists(keys.purchaseStream)).toBe(0);
  });
});
