import { execFileSync } from 'node:child_process';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import {
  createTestEnvWithoutDatabase,
  deleteTopology,
  RABBITMQ_URL,
  TcpProxy,
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

  it('publishes a batch in order with one wait for its confirms, each message persistent with its id', async () => {
    const ids = Array.from({ length: 50 }, (_, index) => `batch-${index}`);
    const outcomes = await connection.publishAll(
      ids.map((id) => ({
        routingKey: ROUTING.purchaseCompleted,
        content: Buffer.from(JSON.stringify({ purchaseId: id })),
        messageId: id,
      })),
    );
    expect(outcomes).toEqual(ids.map(() => null));
    const got: amqp.GetMessage[] = [];
    await waitUntil(async () => {
      const message = await channel.get(topology.purchaseCompletedQueue, { noAck: true });
      if (message !== false) got.push(message);
      return got.length === ids.length;
    }, 'every message of the batch on the queue');
    expect(got.map((m) => m.properties.messageId)).toEqual(ids);
    expect(got.map((m) => JSON.parse(m.content.toString()).purchaseId)).toEqual(ids);
    expect(got.map((m) => [m.properties.messageId, m.properties.deliveryMode, m.properties.contentType])).toEqual(
      ids.map((id) => [id, 2, 'application/json']),
    );
  });

  it('reports a message no queue takes unroutable (returned, then confirmed), the others confirmed', async () => {
    const message = (id: string, routingKey: string) => ({
      routingKey,
      content: Buffer.from(JSON.stringify({ purchaseId: id })),
      messageId: id,
    });
    const outcomes = await connection.publishAll([
      message('routed-1', ROUTING.purchaseCompleted),
      message('nowhere-1', 'nothing.bound.here'),
      message('routed-2', ROUTING.purchaseCompleted),
    ]);
    expect(outcomes.map((outcome) => outcome?.message ?? null)).toEqual([
      null,
      'unroutable: no queue is bound to routing key nothing.bound.here',
      null,
    ]);
    // The return was forgotten with its confirm: the same id, routed now, is confirmed.
    expect(await connection.publishAll([message('nowhere-1', ROUTING.purchaseCompleted)])).toEqual([null]);
    const got: string[] = [];
    await waitUntil(async () => {
      const delivered = await channel.get(topology.purchaseCompletedQueue, { noAck: true });
      if (delivered !== false) got.push(String(delivered.properties.messageId));
      return got.length === 3;
    }, 'the three routed messages on the queue');
    expect(got).toEqual(['routed-1', 'routed-2', 'nowhere-1']);
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

/**
 * A batch the broker does not confirm in time, and one whose connection is lost before the
 * confirms: each message is reported failed (so the relay keeps its row), none confirmed.
 */
describe('publishAll with a stalled or lost broker (real RabbitMQ behind a proxy)', () => {
  let env: TestEnv;
  let topology: Topology;
  let proxy: TcpProxy;
  let connection: AmqpConnection;
  const batch = (count: number, tag: string) =>
    Array.from({ length: count }, (_, index) => ({
      routingKey: ROUTING.purchaseCompleted,
      content: Buffer.from(JSON.stringify({ purchaseId: `${tag}-${index}` })),
      messageId: `${tag}-${index}`,
    }));

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    topology = topologyOf(parseEnv(env));
    proxy = await TcpProxy.create(Number(new URL(RABBITMQ_URL).port));
    connection = new AmqpConnection(`amqp://guest:guest@127.0.0.1:${proxy.port}`, topology, 'publish-all-test');
    await connection.channel.waitForConnect();
  });
  afterAll(async () => {
    proxy.release();
    await connection.close();
    await proxy.cut();
    await deleteTopology(RABBITMQ_URL, env.RABBITMQ_NAMESPACE);
  });

  it('reports every message not confirmed within the bound as timed out, then publishes again', async () => {
    proxy.hold();
    const outcomes = await connection.publishAll(batch(3, 'stalled'), 300);
    expect(outcomes.map((outcome) => outcome?.message)).toEqual(['timeout', 'timeout', 'timeout']);
    proxy.release();
    expect(await connection.publishAll(batch(2, 'after-stall'))).toEqual([null, null]);
  });

  it('reports a batch whose connection is lost before its confirms as failed, then publishes again', async () => {
    proxy.hold();
    const outcomes = connection.publishAll(batch(20, 'lost'), 60_000);
    // Sent, but the broker's confirms wait in the proxy; then the connection is dropped.
    await proxy.cut();
    const failures = (await outcomes).map((outcome) => outcome?.message);
    expect(failures).toHaveLength(20);
    // Failed by the channel's close, not left to the bound.
    expect(failures.filter((failure) => failure === undefined || failure === 'timeout')).toEqual([]);
    proxy.release();
    await proxy.restore();
    await waitUntil(() => connection.isConnected(), 'the connection back');
    // Published on the new channel once it has declared the topology.
    expect(await connection.publishAll(batch(2, 'reconnected'))).toEqual([null, null]);
  });
});
