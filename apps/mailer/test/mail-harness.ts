import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import amqp from 'amqplib';
import { DataSource } from 'typeorm';
import { EnvSource } from '@app/config';
import { createLogger } from '@app/logging';
import { Topology } from '@app/messaging';
import { RABBITMQ_URL } from '@app/testing';
import { PurchaseMailConsumer } from '../src/purchase-mail.consumer';
import { BatchModule } from '../../batch/src/batch.module';
import { OutboxRelayLoop } from '../../batch/src/loops/outbox-relay.loop';
import { MailerModule } from '../src/mailer.module';

/** The mailer in this process, consuming. */
export async function startMailer(env: EnvSource & { LOG_DIR: string }): Promise<INestApplicationContext> {
  const logger = createLogger({ app: 'mailer', level: 'info', dir: env.LOG_DIR, console: 'none' });
  const app = await NestFactory.createApplicationContext(MailerModule.forRoot(env), { logger });
  await app.init();
  await app.get(PurchaseMailConsumer).start();
  return app;
}

/** A batch process's outbox relay in this process, relaying every 50 ms. */
export async function startRelay(env: EnvSource & { LOG_DIR: string }): Promise<INestApplicationContext> {
  const logger = createLogger({ app: 'batch', level: 'info', dir: env.LOG_DIR, console: 'none' });
  const app = await NestFactory.createApplicationContext(BatchModule.forRoot(env), { logger });
  await app.init();
  app.get(OutboxRelayLoop).start(50);
  return app;
}

/**
 * How many messages the in-process mailer finished with each outcome: `sent`, `already-sent`,
 * `canceled`, `uncertain`, or `retried` / `failed` when a try threw (its deliveries counter).
 */
export async function mailOutcomes(mailer: INestApplicationContext): Promise<Record<string, number>> {
  const { values } = await mailer.get(PurchaseMailConsumer).deliveries.get();
  return Object.fromEntries(values.map((value) => [String(value.labels.outcome), value.value]));
}

/** Messages the mailer finished for good (every outcome but a retry), counted since `before`. */
export async function handledSince(mailer: INestApplicationContext, before: Record<string, number>): Promise<number> {
  const now = await mailOutcomes(mailer);
  return Object.keys(now)
    .filter((outcome) => outcome !== 'retried')
    .reduce((sum, outcome) => sum + now[outcome] - (before[outcome] ?? 0), 0);
}

export function dataSourceOf(app: INestApplicationContext): DataSource {
  return app.get(DataSource);
}

/** A plain broker connection for the test to look into queues and publish by hand. */
export async function inspectBroker(topology: Topology) {
  const connection = await amqp.connect(RABBITMQ_URL);
  const channel = await connection.createConfirmChannel();
  return {
    channel,
    messageCount: async (queue: string) => (await channel.checkQueue(queue)).messageCount,
    /** Publishes like the relay does (persistent, with the message id), and waits for the confirm. */
    publishPurchaseCompleted: async (body: unknown, messageId?: string) => {
      channel.publish(topology.eventsExchange, 'purchase.completed', Buffer.from(JSON.stringify(body)), {
        persistent: true,
        contentType: 'application/json',
        messageId,
      });
      await channel.waitForConfirms();
    },
    /** Takes every message in a queue. */
    drain: async (queue: string) => {
      const messages: amqp.GetMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) return messages;
        messages.push(message);
      }
    },
    close: () => connection.close(),
  };
}
