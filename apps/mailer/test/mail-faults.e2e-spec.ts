import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '@app/config';
import { ATTEMPTS_HEADER, topologyOf } from '@app/messaging';
import { createTestEnv, destroyTestEnv, TcpProxy, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { OutboxRelayLoop } from '../../batch/src/loops/outbox-relay.loop';
import { dataSourceOf, handledSince, inspectBroker, mailOutcomes, startMailer, startRelay } from './mail-harness';
import {
  deliveriesByPurchase,
  expectOneEmailEach,
  seedPerformance,
  seedPurchases,
  SeededPurchase,
  unpublishedCount,
} from './purchase-fixture';

/**
 * RabbitMQ "goes down" for the relay and the mailer only: both reach the broker through a TCP
 * proxy that the test cuts and restores. Stopping the shared broker would break the other test
 * files running at the same time.
 */
describe('purchase e-mails when RabbitMQ or SMTP is down (real services)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let proxy: TcpProxy;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let broker: Awaited<ReturnType<typeof inspectBroker>>;
  let performanceId: number;

  const emailCount = (purchase: SeededPurchase) =>
    smtp.received.filter((e) => e.to.includes(purchase.buyerEmail)).length;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    proxy = await TcpProxy.create(5672);
    env = await createTestEnv({
      SMTP_URL: smtp.url,
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      MAIL_MAX_ATTEMPTS: '8',
      MAIL_RETRY_BASE_MS: '100',
      MAIL_RETRY_MAX_MS: '400',
    });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    broker = await inspectBroker(topologyOf(parseEnv(env)));
    performanceId = await seedPerformance(db, 100);
  });
  afterAll(async () => {
    await proxy?.restore();
    await broker?.close();
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await proxy?.cut();
    await destroyTestEnv(env);
  });

  it('keeps purchases in the outbox while RabbitMQ is unreachable, then sends each e-mail once', async () => {
    const before = await mailOutcomes(mailer);
    // Counts the relay's passes: it must have tried, not merely not run yet.
    const passes = vi.spyOn(relay.get(OutboxRelayLoop) as unknown as { step: () => Promise<boolean> }, 'step');
    await proxy.cut();
    const purchases = await seedPurchases(db, performanceId, 20);
    const seeded = passes.mock.calls.length;
    await waitUntil(() => passes.mock.calls.length >= seeded + 3, 'three relay passes while RabbitMQ is down');
    passes.mockRestore();
    expect(await unpublishedCount(db)).toBe(20);
    expect(smtp.received).toHaveLength(0);

    await proxy.restore();
    // Every message finished (sent, or found sent already): no copy is left to send again.
    await waitUntil(
      async () => (await handledSince(mailer, before)) >= purchases.length,
      'all 20 messages handled after the broker is back',
      45_000,
    );
    expect(await unpublishedCount(db)).toBe(0);
    expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
  });

  it('retries with backoff while SMTP is down, then sends each e-mail once', async () => {
    await smtp.stop();
    const before = await mailOutcomes(mailer);
    const purchases = await seedPurchases(db, performanceId, 10);
    // The relay publishes them; every try fails while SMTP is down, so nothing is recorded sent.
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'the outbox relayed', 20_000);
    // Two failed tries per message on average (8 are allowed): the mailer retries, it does not drop.
    await waitUntil(
      async () => (await mailOutcomes(mailer)).retried - before.retried >= 2 * purchases.length,
      'two retries per message while SMTP is down',
      20_000,
    );
    expect((await deliveriesByPurchase(db)).size).toBe(20);
    expect(smtp.received).toHaveLength(20);

    await smtp.start();
    await waitUntil(
      async () => (await handledSince(mailer, before)) >= purchases.length,
      'all 10 messages handled after SMTP is back',
      20_000,
    );
    const after = await mailOutcomes(mailer);
    expect({ sent: after.sent - before.sent, failed: after.failed - before.failed }).toEqual({ sent: 10, failed: 0 });
    expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
  });

  it('parks the message in the dead-letter queue after the last try, having sent nothing', async () => {
    await smtp.stop();
    const [purchase] = await seedPurchases(db, performanceId, 1);
    const dead = topologyOf(parseEnv(env)).purchaseCompletedDeadQueue;
    // 8 tries: waits of 100, 200, then 400 ms five times ≈ 2.3 s.
    const parked: Awaited<ReturnType<typeof broker.drain>> = [];
    await waitUntil(
      async () => {
        parked.push(...(await broker.drain(dead)));
        return parked.length > 0;
      },
      'dead-lettered',
      20_000,
    );
    expect(parked).toHaveLength(1);
    expect(parked[0].properties.messageId).toBe(purchase.messageId);
    expect(parked[0].properties.headers![ATTEMPTS_HEADER]).toBe(8);
    expect(String(parked[0].properties.headers!['x-last-error'])).toMatch(/ECONNREFUSED|connect/i);
    expect((await deliveriesByPurchase(db)).get(purchase.purchaseId)).toBeUndefined();
    await smtp.start();
  });
});

describe('purchase e-mails when the SMTP server answers the message too late (real services)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({
      SMTP_URL: smtp.url,
      SMTP_REPLY_TIMEOUT_MS: '1000',
      MAIL_RETRY_BASE_MS: '100',
      MAIL_RETRY_MAX_MS: '400',
    });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
  });
  afterAll(async () => {
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('records an e-mail the server took but answered after the timeout as uncertain, and never sends it again', async () => {
    // The server queues every message it read, whether or not its reply reaches the sender.
    smtp.holdReplies({ deliverAbandoned: true });
    const [purchase] = await seedPurchases(db, await seedPerformance(db, 1), 1);
    await waitUntil(
      async () =>
        (await db.query('SELECT 1 FROM email_deliveries WHERE message_id = $1 AND uncertain', [purchase.messageId]))
          .length === 1,
      'the delivery recorded as uncertain',
      30_000,
    );
    smtp.releaseReplies();
    // The message was acknowledged with its delivery row committed: a redelivery would find the
    // row. Whatever the server does now, it got the e-mail once.
    const copies = smtp.received.filter((email) => email.to.includes(purchase.buyerEmail));
    expect(copies).toHaveLength(1);
    expect((await deliveriesByPurchase(db)).get(purchase.purchaseId)).toBe(1);
  });
});
