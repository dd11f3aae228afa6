import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { ConfirmChannel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { RABBITMQ_URL } from '@app/testing';
import { ROUTING } from './contracts/routing';
import { Topology } from './topology';

/**
 * The first declaration of the bulk queue's version, on a broker an earlier version set up (the
 * urgent queue bound to `purchase.rescheduled`, no bulk queue yet): a new-date notice an old
 * `batch` relays at any moment of it must match a queue. Were the key unbound from the urgent queue
 * before the bulk queue is bound, a notice relayed in between would match none, and the broker
 * would confirm it all the same (no `mandatory`), the relay delete its outbox row: gone. Published
 * here with `mandatory`, such a notice comes back (`return`, before its confirm).
 */
describe('Topology.declare upgrading an earlier broker', () => {
  const topology = new Topology(`upgrade-gap-${randomUUID().slice(0, 8)}`, [1000]);
  let connection: amqp.ChannelModel | undefined;

  afterAll(async () => {
    if (!connection) return;
    const channel = await connection.createConfirmChannel();
    await topology.destroy(channel).catch(() => undefined);
    await connection.close();
  });

  it('leaves no moment in which a purchase.rescheduled message is routed to no queue', async () => {
    connection = await amqp.connect(RABBITMQ_URL);
    const setup = await connection.createConfirmChannel();
    // The earlier version's topology: one mail queue, bound to the new-date notices too.
    await setup.assertExchange(topology.eventsExchange, 'topic', { durable: true });
    await setup.assertQueue(topology.purchaseCompletedQueue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': topology.deadExchange,
        'x-dead-letter-routing-key': ROUTING.purchaseCompleted,
      },
    });
    await setup.bindQueue(topology.purchaseCompletedQueue, topology.eventsExchange, ROUTING.purchaseRescheduled);

    const publisher = await connection.createConfirmChannel();
    const returned: string[] = [];
    publisher.on('return', (message: amqp.Message) => returned.push(String(message.properties.messageId)));
    const publishNotice = async (id: string) => {
      publisher.publish(topology.eventsExchange, ROUTING.purchaseRescheduled, Buffer.from('{}'), {
        messageId: id,
        mandatory: true,
        persistent: true,
      });
      await publisher.waitForConfirms();
    };

    // The new version's declaration; an old relay publishes one notice after each of its calls.
    const real = await connection.createConfirmChannel();
    let step = 0;
    const channel = new Proxy(real, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || !['assertQueue', 'bindQueue', 'unbindQueue'].includes(String(property))) {
          return value;
        }
        return async (...args: unknown[]) => {
          const answer = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await publishNotice(`after ${String(property)}#${(step += 1)} ${String(args[0])} ${String(args[2] ?? '')}`);
          return answer;
        };
      },
    }) as ConfirmChannel;
    await topology.declare(channel);

    // amqplib emits a channel's 'return' before the confirm of the same message, which each
    // publishNotice awaited: every notice that matched no queue is in `returned` by now.
    expect(step).toBeGreaterThan(0);
    expect(returned).toEqual([]);
    // And the declaration ends with the bulk key on the bulk queue alone.
    const before = await Promise.all([
      real.checkQueue(topology.purchaseCompletedQueue),
      real.checkQueue(topology.bulkMailQueue),
    ]);
    await publishNotice('after the declaration');
    const after = await Promise.all([
      real.checkQueue(topology.purchaseCompletedQueue),
      real.checkQueue(topology.bulkMailQueue),
    ]);
    expect(after.map((queue, index) => queue.messageCount - before[index].messageCount)).toEqual([0, 1]);
  });
});
