import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import type { SeatReconciler } from '@app/ticketing';
import { flushLoopWithPasses, settle } from '../../test/flush-loop-fixture';
import { SeatReconcileLoop } from './seat-reconcile.loop';

const INTERVAL_MS = 10_000;

/**
 * A flush loop whose passes the test ends (`endPass`), and a seat reconcile loop beside it over
 * performances 7 and 8, recording each performance it reconciles: the reconciler awaits its pace
 * before each performance, as SeatReconciler.reconcileOnce does.
 */
function loops() {
  const { flushLoop, passes } = flushLoopWithPasses();
  const reconciled: number[] = [];
  const reconcileOnce = vi.fn(async (pace?: () => Promise<boolean>) => {
    for (const performanceId of [7, 8]) {
      if (pace && !(await pace())) break;
      reconciled.push(performanceId);
    }
    return [];
  });
  const reconcileLoop = new SeatReconcileLoop(
    { reconcileOnce } as unknown as SeatReconciler,
    { SEAT_RECONCILE_INTERVAL_SECONDS: INTERVAL_MS / 1000 } as Env,
    flushLoop,
    // Only the client's connection events are used here (seat-reconcile.loop.int-spec.ts: a real Redis restarted).
    Object.assign(new EventEmitter(), { status: 'ready' }) as unknown as Redis,
  );
  const stopBoth = async () => {
    await reconcileLoop.stop();
    await flushLoop.stop();
  };
  return { flushLoop, reconcileLoop, reconciled, passes, stopBoth };
}

describe('SeatReconcileLoop beside the purchase flush loop', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await stop?.();
    stop = undefined;
  });

  it('reconciles no performance while a flush pass is in progress, and goes on as soon as it ends', async () => {
    const { flushLoop, reconcileLoop, reconciled, passes, stopBoth } = loops();
    stop = stopBoth;
    flushLoop.start(60_000);
    await settle();
    expect(passes).toHaveLength(1);
    reconcileLoop.start();
    await settle();
    expect(reconciled).toEqual([]);

    passes[0].resolve(0); // nothing written: the flush loop pauses
    await vi.waitFor(() => expect(reconciled).toEqual([7, 8]));
  });

  it('reconciles at once while the flush loop pauses between passes', async () => {
    vi.useFakeTimers();
    const { flushLoop, reconcileLoop, reconciled, passes, stopBoth } = loops();
    stop = stopBoth;
    flushLoop.start(60_000);
    await settle();
    passes[0].resolve(0);
    await settle();
    reconcileLoop.start();
    await settle();
    expect(reconciled).toEqual([7, 8]);
  });

  it('waits for the flush pass again before the next performance', async () => {
    const { flushLoop, reconcileLoop, reconciled, passes, stopBoth } = loops();
    stop = stopBoth;
    flushLoop.start(60_000);
    await settle();
    reconcileLoop.start();
    passes[0].resolve(1); // one written: the next flush pass starts at once
    await vi.waitFor(() => expect(passes).toHaveLength(2));
    await settle();
    // Performance 7 went between the two passes; 8 waits for the second.
    expect(reconciled).toEqual([7]);
    passes[1].resolve(0);
    await vi.waitFor(() => expect(reconciled).toEqual([7, 8]));
  });

  it('waits at most one interval in all while a flush pass never ends (a backlog that does not clear)', async () => {
    vi.useFakeTimers();
    const { flushLoop, reconcileLoop, reconciled, passes, stopBoth } = loops();
    flushLoop.start(60_000);
    await settle();
    reconcileLoop.start();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(reconciled).toEqual([]);
    // Then every performance without another wait: the pass's budget is spent.
    await vi.advanceTimersByTimeAsync(1);
    expect(reconciled).toEqual([7, 8]);
    passes[0].resolve(0);
    stop = stopBoth;
  });

  it('ends its pass when stopped while it waited for a flush pass', async () => {
    const { flushLoop, reconcileLoop, reconciled, passes } = loops();
    flushLoop.start(60_000);
    await settle();
    reconcileLoop.start();
    await settle();
    const stopped = reconcileLoop.stop();
    passes[0].resolve(0);
    await stopped;
    expect(reconciled).toEqual([]);
    stop = () => flushLoop.stop();
  });
});
