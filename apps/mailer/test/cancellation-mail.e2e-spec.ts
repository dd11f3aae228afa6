import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env } from '@app/config';
import { PurchaseRepository } from '@app/database';
import { purchaseCanceledMessageId, ROUTING } from '@app/messaging';
import { createTestEnv, destroyTestEnv, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { OutboxRelayLoop } from '../../batch/src/loops/outbox-relay.loop';
import { PurchaseMailConsumer } from '../src/purchase-mail.consumer';
import { dataSourceOf, startMailer, startRelay } from './mail-harness';
import { EVENT_TITLE, seedPerformance, seedPurchases, VENUE } from './purchase-fixture';

describe('cancellation notices: outbox → RabbitMQ → mailer → SMTP (real services)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let performanceId: number;

  /** Writes cancellations as the purchase flusher does (the same call, replayable). */
  const flushCancellation = (purchaseId: string) =>
    relay
      .get(PurchaseRepository)
      .writeBatch(
        { purchases: [], cancellations: [{ purchaseId, canceledAt: new Date(), canceledBy: 'operator' }] },
        { statementTimeoutMs: relay.get(Env).PURCHASE_BATCH_STATEMENT_TIMEOUT_MS },
      );
  const mailsTo = (address: string) => smtp.received.filter((email) => email.to.includes(address));
  const relayLoop = () => relay.get(OutboxRelayLoop);
  /** The outbox rows of a purchase's cancellation notice (routing key and payload). */
  const cancellationRows = (purchaseId: string) =>
    db.query('SELECT routing_key, payload FROM outbox WHERE message_id = $1', [purchaseCanceledMessageId(purchaseId)]);
  const outcomes = async (outcome: string) =>
    (await mailer.get(PurchaseMailConsumer).deliveries.get()).values.find((v) => v.labels.outcome === outcome)?.value ??
    0;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({ SMTP_URL: smtp.url });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    performanceId = await seedPerformance(db, 10);
  });
  afterAll(async () => {
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('follows a sent confirmation with one cancellation notice (HTML and plain text), also when the cancellation is replayed', async () => {
    const [purchase] = await seedPurchases(db, performanceId, 1);
    await waitUntil(() => mailsTo(purchase.buyerEmail).length === 1, 'confirmation received');

    // The relay is held while the cancellation is written twice, so the test sees the outbox as
    // the writes left it (the relay deletes a row once its message is confirmed).
    await relayLoop().stop();
    await flushCancellation(purchase.purchaseId);
    await flushCancellation(purchase.purchaseId);
    expect(await cancellationRows(purchase.purchaseId)).toEqual([
      {
        routing_key: ROUTING.purchaseCanceled,
        payload: {
          type: 'purchase.canceled',
          purchaseId: purchase.purchaseId,
          canceledAt: expect.any(String),
          canceledBy: 'operator',
        },
      },
    ]);
    relayLoop().start(50);

    await waitUntil(() => mailsTo(purchase.buyerEmail).length === 2, 'cancellation notice received');
    const notice = mailsTo(purchase.buyerEmail)[1];
    expect(notice.subject).toBe(`Canceled: your tickets for ${EVENT_TITLE}`);
    expect(notice.messageIdHeader).toContain(`purchase-canceled.${purchase.purchaseId}`);
    for (const part of [notice.text, notice.html]) {
      expect(part).toContain('was canceled by the box office and its amount refunded');
      expect(part).toContain(purchase.purchaseId);
      expect(part).toContain('Section B, row A, seat 1');
    }
    expect(notice.html).toMatch(/^<!doctype html>/);

    // The mailer commits its delivery row after the SMTP server answered: the mail can arrive first.
    const delivered = async (): Promise<string[]> =>
      (
        await db.query('SELECT message_id FROM email_deliveries WHERE purchase_id = $1 ORDER BY 1', [
          purchase.purchaseId,
        ])
      ).map((row: { message_id: string }) => row.message_id);
    await waitUntil(async () => (await delivered()).length === 2, 'both deliveries recorded');
    expect(await delivered()).toEqual([
      `purchase-canceled:${purchase.purchaseId}`,
      `purchase-completed:${purchase.purchaseId}`,
    ]);
    // Nothing more comes: the replayed cancellation made no second outbox row, neither while the
    // first waited nor after the relay deleted it.
    await waitUntil(async () => (await cancellationRows(purchase.purchaseId)).length === 0, 'notice row deleted');
    await relayLoop().stop();
    await flushCancellation(purchase.purchaseId);
    expect(await cancellationRows(purchase.purchaseId)).toEqual([]);
    relayLoop().start(50);
    await waitUntil(async () => (await outcomes('sent')) >= 2, 'both deliveries counted');
    expect(mailsTo(purchase.buyerEmail)).toHaveLength(2);
  });

  it('sends neither e-mail for a purchase canceled before its confirmation went out', async () => {
    const [purchase] = await seedPurchases(db, performanceId, 1, { withOutbox: false });
    await flushCancellation(purchase.purchaseId);
    await waitUntil(async () => (await outcomes('not-confirmed')) === 1, 'notice skipped');

    // The confirmation message arrives late (relayed after the cancellation): it confirms nothing.
    await db.query('INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, $2, $3)', [
      purchase.messageId,
      ROUTING.purchaseCompleted,
      purchase.message,
    ]);
    await waitUntil(async () => (await outcomes('canceled')) === 1, 'confirmation skipped');
    expect(mailsTo(purchase.buyerEmail)).toEqual([]);
    const deliveries = await db.query('SELECT count(*)::int AS count FROM email_deliveries WHERE purchase_id = $1', [
      purchase.purchaseId,
    ]);
    expect(deliveries).toEqual([{ count: 0 }]);
  });

  it("shows the start on the venue's wall clock with its offset in the confirmation and the cancellation notice", async () => {
    // 19:30 UTC on 14 March 2027 is after New York's change to daylight saving time that morning.
    const newYork = await seedPerformance(db, 1, 'KRW', 'America/New_York');
    const [purchase] = await seedPurchases(db, newYork, 1);
    await waitUntil(() => mailsTo(purchase.buyerEmail).length === 1, 'confirmation received');
    await flushCancellation(purchase.purchaseId);
    await waitUntil(() => mailsTo(purchase.buyerEmail).length === 2, 'cancellation notice received');

    for (const email of mailsTo(purchase.buyerEmail)) {
      for (const part of [email.text, email.html]) {
        expect(part).toContain(EVENT_TITLE);
        expect(part).toContain(VENUE);
        expect(part).toContain('Sunday, 14 March 2027, 15:30 UTC-04:00 (America/New_York)');
      }
    }
  });
});
