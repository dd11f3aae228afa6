import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, deleteTopology, RABBITMQ_URL } from '@app/testing';
import { topologyOf } from './messaging.module';
import { ATTEMPTS_HEADER, LAST_ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER } from './retrying-consumer';
import { ROUTING } from './topology';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'mail-queues.mjs');

/**
 * scripts/mail-queues.mjs, the operator's tool of docs/guide/e-mail.md (steps 6 and 11): a parked
 * message replayed under its original routing key, and the rollback of the bulk mail queue, on a
 * namespace of this file's own.
 */
describe('scripts/mail-queues.mjs (real broker)', () => {
  const env = createTestEnvWithoutDatabase();
  const config = parseEnv({ ...env, MAIL_MAX_ATTEMPTS: '3', MAIL_RETRY_BASE_MS: '1000', MAIL_RETRY_MAX_MS: '2000' });
  const topology = topologyOf(config);
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;

  const run = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [SCRIPT, ...args, '--namespace', topology.namespace],
      {
        env: {
          RABBITMQ_URL,
          MAIL_MAX_ATTEMPTS: '3',
          MAIL_RETRY_BASE_MS: '1000',
          MAIL_RETRY_MAX_MS: '2000',
        },
      },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  };
  const drain = async (queue: string) => {
    const messages: amqp.GetMessage[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) return messages;
      messages.push(message);
    }
  };
  const publish = async (exchange: string, key: string, id: string, headers: Record<string, unknown> = {}) => {
    channel.publish(exchange, key, Buffer.from(JSON.stringify({ id })), { persistent: true, messageId: id, headers });
    await channel.waitForConfirms();
  };

  beforeAll(async () => {
    connection = await amqp.connect(RABBITMQ_URL);
    channel = await connection.createConfirmChannel();
    await topology.declare(channel);
  });
  afterAll(async () => {
    await connection.close();
    await deleteTopology(RABBITMQ_URL, topology);
  });

  it('replays a parked bulk notice to the events exchange under its original key, its tries reset', async () => {
    await publish(topology.deadExchange, 'mail.bulk', 'parked', {
      [ORIGINAL_ROUTING_KEY_HEADER]: ROUTING.purchaseRescheduled,
      [ATTEMPTS_HEADER]: 3,
      [LAST_ERROR_HEADER]: 'smtp down',
    });
    expect(await run('replay', topology.bulkMailDeadQueue)).toEqual({
      queue: topology.bulkMailDeadQueue,
      moved: 1,
      left: 0,
    });
    const back = await drain(topology.bulkMailQueue);
    expect(back.map((m) => [m.properties.messageId, m.fields.routingKey])).toEqual([
      ['parked', ROUTING.purchaseRescheduled],
    ]);
    expect(back[0].properties.headers).toMatchObject({ [ORIGINAL_ROUTING_KEY_HEADER]: ROUTING.purchaseRescheduled });
    expect(back[0].properties.headers).not.toHaveProperty(ATTEMPTS_HEADER);
    expect(back[0].properties.headers).not.toHaveProperty(LAST_ERROR_HEADER);
    expect(await drain(topology.bulkMailDeadQueue)).toEqual([]);
  });

  it('rolls the bulk queue back into the urgent one: bindings first, then its messages, then the queues', async () => {
    await publish(topology.eventsExchange, ROUTING.purchaseCanceledByPerformance, 'queued');
    await publish('', topology.bulkMailRetryQueue(2000), 'waiting-retry');
    await publish(topology.deadExchange, 'mail.bulk', 'dead');

    const answer = await run('rollback');
    expect(answer.moved).toEqual({
      [topology.bulkMailRetryQueue(1000)]: 0,
      [topology.bulkMailRetryQueue(2000)]: 1,
      [topology.bulkMailQueue]: 1,
      [topology.bulkMailDeadQueue]: 1,
    });
    expect((await drain(topology.purchaseCompletedQueue)).map((m) => m.properties.messageId)).toEqual([
      'waiting-retry',
      'queued',
    ]);
    expect((await drain(topology.purchaseCompletedDeadQueue)).map((m) => m.properties.messageId)).toEqual(['dead']);

    // Gone, and both bulk keys reach the urgent queue now.
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    await expect(probe.checkQueue(topology.bulkMailQueue)).rejects.toThrow(/NOT_FOUND/);
    await publish(topology.eventsExchange, ROUTING.purchaseCanceledByPerformance, 'after-1');
    await publish(topology.eventsExchange, ROUTING.purchaseRescheduled, 'after-2');
    expect((await drain(topology.purchaseCompletedQueue)).map((m) => m.properties.messageId)).toEqual([
      'after-1',
      'after-2',
    ]);
  });
});
