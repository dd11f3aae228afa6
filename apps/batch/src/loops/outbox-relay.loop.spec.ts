import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AmqpConnection, OutboxRelay, RelayResult } from '@app/messaging';
import type { PurchaseFlusher } from '@app/ticketing';
import { OutboxRelayLoop, RELAY_CONNECT_GRACE_MS, RELAY_YIELD_MAX_MS } from './outbox-relay.loop';
import { flushLoopWithPasses, settle } from '../../test/flush-loop-fixture';
import { PurchaseFlushLoop } from './purchase-flush.loop';

/**
 * A flush loop whose passes the test ends (`endPass`), and a relay loop beside it whose passes
 * are counted: the relay of a batch process starts its passes between the flusher's.
 */
function loops() {
  const { flushLoop, passes } = flushLoopWithPasses();
  const relayOnce = vi.fn(async (): Promise<RelayResult> => ({ published: 0, failed: 0 }));
  const relayLoop = new OutboxRelayLoop(
    { relayOnce } as unknown as OutboxRelay,
    { isConnected: () => true } as unknown as AmqpConnection,
    flushLoop,
  );
  return { flushLoop, relayLoop, relayOnce, passes };
}

describe('OutboxRelayLoop beside the purchase flush loop', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await stop?.();
  });

  it('starts no relay pass while a flush pass is in progress, and one as soon as it ends', async () => {
    const { flushLoop, relayLoop, relayOnce, passes } = loops();
    flushLoop.start(60_000);
    await settle();
    expect(passes).toHaveLength(1);
    relayLoop.start(60_000);
    await settle();
    expect(relayOnce).not.toHaveBeenCalled();

    passes[0].resolve(0); // nothing written: the flush loop pauses
    await vi.waitFor(() => expect(relayOnce).toHaveBeenCalledTimes(1));
    stop = async () => {
      await relayLoop.stop();
      await flushLoop.stop();
    };
  });

  it('relays at once while the flush loop pauses between passes', async () => {
    vi.useFakeTimers();
    const { flushLoop, relayLoop, relayOnce, passes } = loops();
    flushLoop.start(60_000);
    await settle();
    passes[0].resolve(0); // nothing written: the flush loop pauses a minute
    await settle();
    relayLoop.start(60_000);
    await settle();
    expect(relayOnce).toHaveBeenCalledTimes(1);
    expect(passes).toHaveLength(1);
    stop = async () => {
      await relayLoop.stop();
      await flushLoop.stop();
    };
  });

  it('starts no relay pass once stopped while it waited for a flush pass', async () => {
    vi.useFakeTimers();
    const { flushLoop, relayLoop, relayOnce, passes } = loops();
    flushLoop.start(60_000);
    await settle();
    relayLoop.start(60_000);
    await settle();
    const stopped = relayLoop.stop();
    passes[0].resolve(0);
    await vi.advanceTimersByTimeAsync(RELAY_YIELD_MAX_MS);
    await stopped;
    expect(relayOnce).not.toHaveBeenCalled();
    stop = () => flushLoop.stop();
  });

  it('still relays every RELAY_YIELD_MAX_MS while a flush pass never ends (a backlog that does not clear)', async () => {
    vi.useFakeTimers();
    const { flushLoop, relayLoop, relayOnce, passes } = loops();
    flushLoop.start(60_000);
    await settle();
    relayLoop.start(60_000);
    await vi.advanceTimersByTimeAsync(RELAY_YIELD_MAX_MS - 1);
    expect(relayOnce).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(relayOnce).toHaveBeenCalledTimes(1);
    passes[0].resolve(0);
    stop = async () => {
      await relayLoop.stop();
      await flushLoop.stop();
    };
  });
});

describe('OutboxRelayLoop while RabbitMQ is not connected', () => {
  afterEach(() => vi.useRealTimers());

  it('says nothing while the first connection is being made, and warns once the grace has passed', async () => {
    vi.useFakeTimers();
    const relayOnce = vi.fn();
    const loop = new OutboxRelayLoop(
      { relayOnce } as unknown as OutboxRelay,
      { isConnected: () => false } as unknown as AmqpConnection,
      new PurchaseFlushLoop({} as PurchaseFlusher),
    );
    const warn = vi.spyOn((loop as unknown as { logger: { warn: (message: string) => void } }).logger, 'warn');
    warn.mockImplementation(() => undefined);
    loop.start(200);
    await vi.advanceTimersByTimeAsync(RELAY_CONNECT_GRACE_MS - 200);
    expect(warn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(400);
    expect(warn).toHaveBeenCalledWith('outbox relay: RabbitMQ is unreachable; outbox messages wait in PostgreSQL');
    expect(relayOnce).not.toHaveBeenCalled();
    const stopped = loop.stop();
    await vi.advanceTimersByTimeAsync(1);
    await stopped;
  });
});
