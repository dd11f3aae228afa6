import { execFileSync } from 'node:child_process';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import {
  createTestEnvWithoutDatabase,
  deleteTopology,
  RABBITMQ_URL,
  TestEnv,
  waitForValue,
  waitUntil,
} from '@app/testing';
import { AmqpConnection } from './amqp.connection';
import { topologyOf } from './messaging.module';
import { ROUTING, Topology } from './topology';

/** The next message of `queue`, polled for up to 15 s. */
function nextMessage(channel: amqp.Channel, queue: string, noAck: boolean): Promise<amqp.GetMessage> {
  return waitForValue(() => channel.get(queue, { noAck }), `a message on ${queue}`, {
    done: (message) => message !== false,
    timeoutMs: 15_000,
  }) as Promise<amqp.GetMessage>;
}

describe('RabbitMQ connection and topology (real broker)', () => {
  let env: TestEnv;
  let topology: Topology;
  let connection: AmqpConnection;
  let inspector: amqp.ChannelModel;
  let channel: amqp.Channel;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    topology = topologyOf(parseEnv(env));
    connection = new AmqpConnection(env.RABBITMQ_URL, topology, `boxoffice-test-${env.RABBITMQ_NAMESPACE}`);
    await connection.channel.waitForConnect();
    inspector = await amqp.connect(RABBITMQ_URL);
    channel = await inspector.createChannel();
  });
  afterAll(async () => {
    await connection.close();
    await inspector.close();
    await deleteTopology(RABBITMQ_URL, env.RABBITMQ_NAMESPACE);
  });

  it('declares durable quorum queues with a dead-letter route', async () => {
    for (const queue of [
      topology.purchaseCompletedQueue,
      ...topology.retryDelaysMs.map((delayMs) => topology.purchaseCompletedRetryQueue(delayMs)),
      topology.purchaseCompletedDeadQueue,
    ]) {
      const info = await channel.checkQueue(queue);
      expect(info.queue).toBe(queue);
    }
    await channel.checkExchange(topology.eventsExchange);
    await channel.checkExchange(topology.deadExchange);
  });

  it('publishes persistently with a broker confirm, routed to the queue', async () => {
    await connection.publish(ROUTING.purchaseCompleted, { purchaseId: 'p-1' }, { messageId: 'p-1' });
    const got = await nextMessage(channel, topology.purchaseCompletedQueue, false);
    expect(JSON.parse(got.content.toString())).toEqual({ purchaseId: 'p-1' });
    expect(got.properties.messageId).toBe('p-1');
    expect(got.properties.deliveryMode).toBe(2);
    // A rejected message is parked in the dead-letter queue, not lost.
    channel.nack(got, false, false);
    const dead = await nextMessage(channel, topology.purchaseCompletedDeadQueue, true);
    expect(JSON.parse(dead.content.toString())).toEqual({ purchaseId: 'p-1' });
  });

  it('reconnects on its own after the broker drops the connection, and publishes again', async () => {
    const name = `boxoffice-test-${env.RABBITMQ_NAMESPACE}`;
    const listing = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
      encoding: 'utf8',
    });
    const pid = listing
      .split('\n')
      .find((line) => line.includes(name))
      ?.split('\t')[0];
    expect(pid).toBeTruthy();
    execFileSync('rabbitmqctl', ['-q', 'close_connection', pid!, 'test: simulated broker drop']);
    await waitUntil(() => !connection.isConnected(), 'the connection dropped', 5000);
    await waitUntil(() => connection.isConnected(), 'the connection back', 15_000);
    await connection.publish(ROUTING.purchaseCompleted, { purchaseId: 'p-2' });
    const message = await nextMessage(channel, topology.purchaseCompletedQueue, true);
    expect(JSON.parse(message.content.toString())).toEqual({ purchaseId: 'p-2' });
  });
});
