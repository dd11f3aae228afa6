import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import {
  ATTEMPTS_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  purchaseCompletedMessageId,
  ROUTING,
  topologyOf,
} from '@app/messaging';
import { createTestEnv, destroyTestEnv, TestEnv, TestSmtpServer, waitForValue, waitUntil } from '@app/testing';
import { dataSourceOf, handledSince, inspectBroker, mailOutcomes, startMailer, startRelay } from './mail-harness';
import {
  deliveriesByPurchase,
  EVENT_TITLE,
  expectOneEmailEach,
  seedPerformance,
  seedPurchases,
  unpublishedCount,
  VENUE,
} from './purchase-fixture';

describe('purchase e-mails: outbox → RabbitMQ → mailer → SMTP (real services)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let broker: Awaited<ReturnType<typeof inspectBroker>>;
  let performanceId: number;
  const topology = () => topologyOf(parseEnv(env));

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({
      SMTP_URL: smtp.url,
      MAIL_MAX_ATTEMPTS: '4',
      MAIL_RETRY_BASE_MS: '100',
      MAIL_RETRY_MAX_MS: '400',
    });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    broker = await inspectBroker(topology());
    performanceId = await seedPerformance(db, 300);
  });
  afterAll(async () => {
    await broker?.close();
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('relays an outbox row and sends exactly one e-mail with the purchase in it', async () => {
    const [purchase] = await seedPurchases(db, performanceId, 1);
    await waitUntil(async () => (await deliveriesByPurchase(db)).get(purchase.purchaseId) === 1, 'delivery recorded');
    await waitUntil(() => smtp.received.some((e) => e.to.includes(purchase.buyerEmail)), 'e-mail received');

    const emails = smtp.received.filter((e) => e.to.includes(purchase.buyerEmail));
    expect(emails).toHaveLength(1);
    const [email] = emails;
    expect(email.subject).toBe(`Your tickets for ${EVENT_TITLE}`);
    expect(email.from).toContain('tickets@boxoffice.local');
    expect(email.messageIdHeader).toContain(purchase.purchaseId);
    for (const body of [email.text, email.html]) {
      expect(body).toContain(EVENT_TITLE);
      expect(body).toContain(VENUE);
      expect(body).toContain('Sunday, 14 March 2027, 19:30 UTC');
      for (const seat of purchase.seats) {
        expect(body).toContain(`Section ${seat.section}, row ${seat.rowLabel}, seat ${seat.number}`);
      }
      // Two seats of 1050 KRW (minor units, and KRW has none below the won).
      expect(body).toContain('₩2,100');
      expect(body).toContain(purchase.purchaseId);
    }

    const [delivery] = await db.query('SELECT * FROM email_deliveries WHERE message_id = $1', [purchase.messageId]);
    expect(delivery).toMatchObject({ purchase_id: purchase.purchaseId, recipient: purchase.buyerEmail });
    expect(delivery.smtp_message_id).toBeTruthy();
    // The broker confirmed the message, so the relay deletes its row (the mailer may have the
    // message before the relay's delete commits).
    await waitUntil(
      async () => (await db.query('SELECT 1 FROM outbox WHERE message_id = $1', [purchase.messageId])).length === 0,
      'outbox row deleted',
    );
  });

  it('sends nothing more when the message comes again (published twice, outbox row published again)', async () => {
    const before = await mailOutcomes(mailer);
    const [purchase] = await seedPurchases(db, performanceId, 1);
    await waitUntil(async () => (await deliveriesByPurchase(db)).get(purchase.purchaseId) === 1, 'first delivery');

    await broker.publishPurchaseCompleted(purchase.message, purchase.messageId);
    await broker.publishPurchaseCompleted(purchase.message, purchase.messageId);
    // As if a relay crashed between the broker's confirm and the commit of its delete: the row is
    // still there and is published again (apps/batch's outbox-relay e2e makes that crash happen).
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'the first copy relayed and its row deleted');
    await db.query('INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, $2, $3)', [
      purchase.messageId,
      ROUTING.purchaseCompleted,
      purchase.message,
    ]);
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'outbox published again');
    // The three copies reached the mailer and each was recognised as sent already.
    await waitUntil(
      async () => (await mailOutcomes(mailer))['already-sent'] - before['already-sent'] >= 3,
      'three copies handled as already sent',
    );

    await waitUntil(async () => (await mailOutcomes(mailer)).sent > before.sent, 'the first copy counted as sent');
    const after = await mailOutcomes(mailer);
    expect({ alreadySent: after['already-sent'] - before['already-sent'], sent: after.sent - before.sent }).toEqual({
      alreadySent: 3,
      sent: 1,
    });
    expect(smtp.received.filter((e) => e.to.includes(purchase.buyerEmail))).toHaveLength(1);
    expect((await deliveriesByPurchase(db)).get(purchase.purchaseId)).toBe(1);
  });

  it('sends each of many purchases exactly once', async () => {
    const before = await mailOutcomes(mailer);
    const purchases = await seedPurchases(db, performanceId, 40);
    // Every message finished (sent, or found sent already): no copy is left to send again.
    await waitUntil(async () => (await handledSince(mailer, before)) >= purchases.length, 'all 40 messages handled');
    const emailsTo = (p: { buyerEmail: string }) => smtp.received.filter((e) => e.to.includes(p.buyerEmail)).length;
    expectOneEmailEach(purchases, emailsTo, await deliveriesByPurchase(db));
  });

  it('shows the amount in the currency of the event: 2100 EUR minor units are €21.00', async () => {
    const euroPerformance = await seedPerformance(db, 1, 'EUR');
    const [purchase] = await seedPurchases(db, euroPerformance, 1);
    expect(purchase.message).toMatchObject({ amount: 2100, currency: 'EUR' });
    await waitUntil(() => smtp.received.some((e) => e.to.includes(purchase.buyerEmail)), 'e-mail received');
    const [email] = smtp.received.filter((e) => e.to.includes(purchase.buyerEmail));
    expect(email.text).toContain('Amount:    €21.00');
    expect(email.html).toContain('€21.00');
  });

  it('retries a message whose purchase is not in the database yet, and sends once it is', async () => {
    const purchaseId = randomUUID();
    const before = await mailOutcomes(mailer);
    await broker.publishPurchaseCompleted(
      {
        purchaseId,
        userId: randomUUID(),
        performanceId,
        seatIds: [1],
        amount: 1,
        currency: 'KRW',
        createdAt: new Date().toISOString(),
      },
      purchaseCompletedMessageId(purchaseId),
    );
    // The purchase arrives once the message was tried without it, while it waits in a retry queue.
    await waitUntil(async () => (await mailOutcomes(mailer)).retried > before.retried, 'a try without the purchase');
    const [purchase] = await seedPurchases(db, performanceId, 1, { withOutbox: false, purchaseIds: [purchaseId] });
    await waitUntil(async () => (await deliveriesByPurchase(db)).get(purchaseId) === 1, 'late delivery');
    expect(smtp.received.filter((e) => e.to.includes(purchase.buyerEmail))).toHaveLength(1);
  });

  it('parks a malformed message in the dead-letter queue at once, and one never found after the last try', async () => {
    const dead = topology().purchaseCompletedDeadQueue;
    await broker.publishPurchaseCompleted({ hello: 'world' }, 'garbage');
    const missing = {
      purchaseId: '00000000-0000-4000-8000-0000000000ff',
      userId: '00000000-0000-4000-8000-0000000000fe',
      performanceId,
      seatIds: [1],
      amount: 1,
      currency: 'KRW',
      createdAt: new Date().toISOString(),
    };
    await broker.publishPurchaseCompleted(missing, 'purchase-completed:missing');
    // 4 tries with waits of 100, 200, 400 ms.
    const parked: Awaited<ReturnType<typeof broker.drain>> = [];
    await waitUntil(
      async () => {
        parked.push(...(await broker.drain(dead)));
        return parked.length >= 2;
      },
      'both dead-lettered',
      15_000,
    );
    expect(parked).toHaveLength(2);
    const byId = new Map(parked.map((m) => [m.properties.messageId as string, m]));
    expect(byId.get('garbage')!.properties.headers![ATTEMPTS_HEADER]).toBe(1);
    expect(String(byId.get('garbage')!.properties.headers![LAST_ERROR_HEADER])).toContain('malformed');
    expect(byId.get('purchase-completed:missing')!.properties.headers![ATTEMPTS_HEADER]).toBe(4);
    expect(JSON.parse(byId.get('purchase-completed:missing')!.content.toString())).toEqual(missing);
    // The key each was published with, kept through the retry copies (which come back by the queue's name).
    for (const id of ['garbage', 'purchase-completed:missing']) {
      expect(byId.get(id)!.properties.headers![ORIGINAL_ROUTING_KEY_HEADER]).toBe(ROUTING.purchaseCompleted);
    }
  });

  it('parks a bulk notice under mail.bulk with the routing key it was published with', async () => {
    const dead = topology().bulkMailDeadQueue;
    broker.channel.publish(topology().eventsExchange, ROUTING.purchaseRescheduled, Buffer.from('{"hello":"bulk"}'), {
      persistent: true,
      contentType: 'application/json',
      messageId: 'garbage-bulk',
    });
    await broker.channel.waitForConfirms();
    const parked = await waitForValue(() => broker.drain(dead), 'the bulk notice dead-lettered', {
      done: (messages) => messages.length > 0,
      timeoutMs: 15_000,
    });
    expect(parked.map((m) => [m.properties.messageId, m.fields.routingKey])).toEqual([['garbage-bulk', 'mail.bulk']]);
    expect(parked[0].properties.headers![ORIGINAL_ROUTING_KEY_HEADER]).toBe(ROUTING.purchaseRescheduled);
  });
});
