import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performanceKeys } from '../redis-keys';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { SeatReconcileStore } from './seat-reconcile.store';

describe('SeatReconcileStore.streamSnapshot', () => {
  let fx: TicketingFixture;
  let store: SeatReconcileStore;

  beforeAll(() => {
    fx = ticketingFixture();
    store = new SeatReconcileStore(fx.redis);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('answers no seats and mark 0-0 for a performance without a stream', async () => {
    expect(await store.streamSnapshot(900)).toEqual({ mark: { lastId: '0-0', added: 0 }, seats: new Set() });
  });

  it('answers the seats of every purchase entry up to the mark, over pages, and nothing of other entries', async () => {
    const stream = performanceKeys(901).purchaseStream;
    // 2,500 entries: three pages of the snapshot's 1,000. As purchase.lua appends them (fields after
    // the type), with a cancellation (no seats) and an entry of some other type among them.
    const pipeline = fx.redis.pipeline();
    for (let i = 0; i < 2500; i += 1) {
      if (i === 10) pipeline.xadd(stream, '*', 'type', 'cancel', 'purchaseId', 'p-0', 'userId', 'u', 'canceledAt', '1');
      else if (i === 1500) pipeline.xadd(stream, '*', 'type', 'other', 'seats', '99999');
      else
        pipeline.xadd(
          stream,
          '*',
          'type',
          'purchase',
          'id',
          `p-${i}`,
          'seats',
          i === 2 ? '7,3' : String(10_000 + i),
          'amount',
          '1',
        );
    }
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const { mark, seats } = await store.streamSnapshot(901);
    expect(mark).toEqual({ lastId: ids[ids.length - 1], added: 2500 });
    const expected = new Set<string>(['7', '3']);
    for (let i = 0; i < 2500; i += 1) if (i !== 2 && i !== 10 && i !== 1500) expected.add(String(10_000 + i));
    expect(seats).toEqual(expected);
  });
});
