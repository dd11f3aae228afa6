import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, waitUntil } from '@app/testing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { createPerformance, hold, flushPurchases } from './purchase-helpers';
import { MailStack, startMailStack } from './support/mail';

describe('an admin refund e-mails the buyer one cancellation notice (API → flusher → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    }));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  it('sends the confirmation, then after two concurrent refunds exactly one cancellation notice', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, performance.seatIds.slice(0, 2));
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode).toBe(201);
    const purchaseId = bought.json().id as string;
    await flushPurchases(api.app);
    const mailsTo = () => smtp.received.filter((email) => email.to.includes(buyer.email));
    await waitUntil(() => mailsTo().length === 1, 'confirmation received');

    const answers = await Promise.all([
      call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin }),
      call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    await flushPurchases(api.app);
    await flushPurchases(api.app);
    await waitUntil(() => mailsTo().length >= 2, 'cancellation notice received');
    const notice = mailsTo()[1];
    expect(notice.subject).toMatch(/^Canceled: your tickets for /);
    expect(notice.messageIdHeader).toContain(`purchase-canceled.${purchaseId}`);
    expect(notice.text).toContain(purchaseId);

    // Every outbox row relayed and delivered: nothing more is on its way.
    const db = dataSourceOf(relay);
    await waitUntil(
      async () =>
        (await db.query('SELECT count(*)::int AS n FROM email_deliveries WHERE purchase_id = $1', [purchaseId]))[0]
          .n === 2,
      'both deliveries recorded',
    );
    expect(mailsTo()).toHaveLength(2);
  });
});
