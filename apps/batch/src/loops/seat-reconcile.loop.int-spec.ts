import type Redis from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { createRedis } from '@app/redis';
import { PrivateRedis, waitUntil } from '@app/testing';
import type { SeatReconciler } from '@app/ticketing';
import { flushLoopWithPasses } from '../../test/flush-loop-fixture';
import { SeatReconcileLoop } from './seat-reconcile.loop';

/**
 * The batch's seat reconcile loop on a private redis-server it kills and starts again: the pass
 * that repairs seats a Redis without its last writes shows free runs as soon as the client is
 * ready again, not an interval later (the reconciler's own repairs: seat-reconciler.e2e-spec.ts).
 */
describe('SeatReconcileLoop when its Redis comes back', () => {
  let server: PrivateRedis | undefined;
  let redis: Redis | undefined;
  let loop: SeatReconcileLoop | undefined;

  afterAll(async () => {
    await loop?.stop();
    redis?.disconnect();
    await server?.stop();
  });

  it('passes at once after a restart, long before the interval ends, and once only', async () => {
    server = await PrivateRedis.start();
    redis = createRedis({ REDIS_URL: server.url, REDIS_KEY_PREFIX: 'reconcile-loop:' }, 'reconcile-loop-test');
    await waitUntil(() => redis!.status === 'ready', 'the client ready');

    const passes: string[] = [];
    const reconciler = {
      reconcileOnce: vi.fn(async () => {
        passes.push(redis!.status);
        return [];
      }),
    } as unknown as SeatReconciler;
    const { flushLoop } = flushLoopWithPasses();
    // An hour between passes: any second pass within the test is the reconnection's.
    loop = new SeatReconcileLoop(reconciler, { SEAT_RECONCILE_INTERVAL_SECONDS: 3600 } as Env, flushLoop, redis);
    loop.start();
    await waitUntil(() => passes.length === 1, 'the first pass');

    const { port } = server;
    await server.stop();
    await waitUntil(() => redis!.status !== 'ready', 'the client seeing Redis gone');
    expect(passes).toHaveLength(1);

    server = await PrivateRedis.start({ port });
    await waitUntil(() => passes.length === 2, 'a pass once Redis is back', 15_000);
    expect(passes[1]).toBe('ready');
    // Ready again once; no pass more: the next waits out the hour.
    expect(passes).toHaveLength(2);
  });
});
