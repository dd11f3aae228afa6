import { Logger } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, deleteTopology, RABBITMQ_URL, TcpProxy, waitUntil } from '@app/testing';
import { AmqpConnection } from './amqp.connection';
import { retryPolicyOf, topologyOf } from './messaging.module';
import { RetryingConsumer } from './retrying-consumer';
import { ROUTING } from './topology';

/**
 * A consumer whose handler failed publishes a retry copy and awaits the broker's confirm before it
 * acknowledges the original. With the broker stalled (its answers held in a proxy: requests still
 * reach it, no confirm comes back) that await ends at the consumer's confirm bound, the original
 * is handed back, and the consumer goes on: the message is handled once the broker answers again.
 */
describe('RetryingConsumer with a stalled broker (real RabbitMQ behind a proxy)', () => {
  const env = createTestEnvWithoutDatabase();
  const config = parseEnv({ ...env, MAIL_MAX_ATTEMPTS: '3' });
  const topology = topologyOf(config);
  let proxy: TcpProxy | undefined;
  let connection: AmqpConnection | undefined;
  let publisher: AmqpConnection | undefined;
  let consumer: RetryingConsumer | undefined;

  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    proxy?.release();
    await consumer?.stop();
    await connection?.close();
    await publisher?.close();
    await proxy?.cut();
    await deleteTopology(RABBITMQ_URL, topology);
  });

  it('ends the wait for a retry copy’s confirm at its bound, hands the message back, and goes on', async () => {
    const stalling = (proxy = await TcpProxy.create(Number(new URL(RABBITMQ_URL).port)));
    connection = new AmqpConnection(`amqp://guest:guest@127.0.0.1:${stalling.port}`, topology, 'consumer-test');
    // The message goes in straight, not through the proxy.
    publisher = new AmqpConnection(RABBITMQ_URL, topology, 'publisher-test');

    const warnings: string[] = [];
    vi.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const handled: string[] = [];
    consumer = new RetryingConsumer(
      connection,
      retryPolicyOf(config),
      {
        ...topology.purchaseCompletedConsumer,
        prefetch: 1,
        confirmTimeoutMs: 300,
      },
      async (message) => {
        handled.push(String(message.properties.messageId));
        // The first try fails with the broker stalled from now on: its retry copy gets no confirm.
        if (handled.length === 1) {
          stalling.hold();
          throw new Error('first try fails');
        }
      },
    );
    await consumer.start();
    await publisher.publish(ROUTING.purchaseCompleted, { id: 'stalled' }, { messageId: 'stalled-broker' });

    // Without the bound the copy's confirm is awaited for as long as the broker stalls.
    await waitUntil(
      () => warnings.some((w) => w.startsWith('retry copy not confirmed (Error: timeout)')),
      'the retry copy given up at its confirm bound while the broker stalls',
      10_000,
    );
    expect(handled).toEqual(['stalled-broker']);

    // The broker answers again: the message handed back (or its retry copy) is handled.
    stalling.release();
    await waitUntil(() => handled.length >= 2, 'the message handled again once the broker answers', 20_000);
    expect(new Set(handled)).toEqual(new Set(['stalled-broker']));
  });
});
