import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { paymentRefundedMessageId } from '@app/messaging';
import { PaymentAttemptsRepository } from '@app/database';
import { createSession, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';
import { MailStack, purchaseMail, startMailStack } from './support/mail';
import { reconcileUntilSettled } from './support/payments';

/**
 * Ops trial O5: a buyer whose `201` purchase was lost (with Redis's data, before the flush wrote it)
 * is refunded by `batch`'s payment reconciliation and told so, once, by e-mail (reconciler → outbox
 * → RabbitMQ → mailer → SMTP); a refund of a purchase that is in PostgreSQL sends no such notice.
 */
describe('the reconciliation’s refund of a charge whose purchase was lost e-mails its buyer once (real PostgreSQL, Redis, RabbitMQ, SMTP)', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;
  let db: Client;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    }));
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await mailer?.close();
    await close?.();
  });

  it('sends one "could not be completed and has been refunded" e-mail with the amount refunded', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 1050, currency: 'EUR' });
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, performance.seatIds.slice(0, 2));
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchaseId = bought.json().id as string;
    // Lost with Redis's data before the flush wrote it: neither the hold, the purchase nor its stream
    // entry (this performance's only one) is left.
    const keys = performanceKeys(performance.id);
    const redis = api.app.get(Redis);
    await redis.del(keys.hold(held.id), keys.purchase(purchaseId));
    await redis.xtrim(keys.purchaseStream, 'MAXLEN', 0);

    const outcomes = await reconcileUntilSettled(api, db, [purchaseId]);
    expect(outcomes).toContain('refunded');
    expect((await db.query('SELECT status FROM payment_attempts WHERE purchase_id = $1', [purchaseId])).rows).toEqual([
      { status: 'REFUNDED' },
    ]);

    const mailsTo = () => smtp.received.filter((email) => email.to.includes(buyer.email));
    await waitUntil(() => mailsTo().length >= 1, 'refund notice received');
    const messageId = paymentRefundedMessageId(purchaseId);
    await waitUntil(
      async () =>
        (await dataSourceOf(relay).query('SELECT 1 FROM email_deliveries WHERE message_id = $1', [messageId]))
          .length === 1,
      'its delivery recorded',
    );
    // Nothing more is due, and nothing else is on its way.
    expect(await reconcileUntilSettled(api, db, [purchaseId])).toEqual([]);
    expect(mailsTo()).toHaveLength(1);
    const [notice] = mailsTo();
    const [{ title }] = (
      await db.query('SELECT e.title FROM performances pf JOIN events e ON e.id = pf.event_id WHERE pf.id = $1', [
        performance.id,
      ])
    ).rows;
    expect(notice.subject).toBe(`Refunded: your payment for ${title}`);
    expect(notice.messageIdHeader).toContain(`payment-refunded.${purchaseId}`);
    expect(notice.text).toMatch(
      /your payment of €21\.00 for .+ could not be completed and has been refunded; no tickets were issued\./,
    );
    expect(notice.text).toMatch(/^Refund: {4}€21\.00$/m);
    expect(notice.text).toContain(purchaseId);
  });

  it('sends no such notice when the refund is a canceled purchase’s (its cancellation notice tells the buyer)', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 1050, currency: 'EUR' });
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, performance.seatIds.slice(0, 1));
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchaseId = bought.json().id as string;
    await flushPurchases(api.app);
    // Confirmed first: a purchase canceled before the mailer took up its confirmation gets neither
    // e-mail (P5), and this story would race the buyer's cancel against the mailer.
    await purchaseMail(smtp, buyer.email, 'purchase-completed', purchaseId);
    const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
    await flushPurchases(api.app);
    // As if the api's refund had not been recorded: the reconciliation owes it, and makes it.
    await db.query(`UPDATE payment_attempts SET status = 'REFUND_OWED', resolved_at = NULL WHERE purchase_id = $1`, [
      purchaseId,
    ]);
    const notices = vi.spyOn(api.app.get(PaymentAttemptsRepository), 'writeRefundNotice');
    expect(await reconcileUntilSettled(api, db, [purchaseId])).toContain('refunded');
    expect(notices).not.toHaveBeenCalled();
    notices.mockRestore();

    const mailsTo = () => smtp.received.filter((email) => email.to.includes(buyer.email));
    await waitUntil(() => mailsTo().length >= 2, 'confirmation and cancellation notice received');
    expect(mailsTo().map((email) => email.subject)).toEqual([
      expect.stringMatching(/^Your tickets for /),
      expect.stringMatching(/^Canceled: your tickets for /),
    ]);
    const [{ n }] = await dataSourceOf(relay).query(
      'SELECT count(*)::int AS n FROM email_deliveries WHERE message_id = $1',
      [paymentRefundedMessageId(purchaseId)],
    );
    expect(n).toBe(0);
  });
});
