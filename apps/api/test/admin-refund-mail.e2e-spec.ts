import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PurchaseRepository } from '@app/database';
import { purchaseCanceledMessageId, purchaseRefundedMessageId } from '@app/messaging';
import { createSession, waitUntil } from '@app/testing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { createPerformance, doorsOpenNow, hold, flushPurchases } from './purchase-helpers';
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

  it('names the checked-in seats a refund kept sold (resellCheckedInSeats: false) apart in its notice, written by the api or by the flush', async () => {
    const performance = await createPerformance(api.app, admin, 10, doorsOpenNow());
    const buyer = await createSession(api.app);
    const mailsTo = () => smtp.received.filter((email) => email.to.includes(buyer.email));
    const db = dataSourceOf(relay);
    const seatName = async (seatId: number) => {
      const [seat] = await db.query('SELECT section, row_label, "number" FROM seats WHERE id = $1', [seatId]);
      return `Section ${seat.section}, row ${seat.row_label}, seat ${seat.number}`;
    };

    // Two purchases of two seats, one ticket of each checked in. The first refund's cancellation is
    // written by the api (the purchase is in PostgreSQL); the second's by the flush from its cancel
    // entry, the api's write failing.
    for (const [index, writtenBy] of (['api', 'flush'] as const).entries()) {
      const seatIds = performance.seatIds.slice(index * 2, index * 2 + 2);
      const held = await hold(api.app, buyer, performance.id, seatIds);
      const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
      expect(bought.statusCode, bought.body).toBe(201);
      const purchaseId = bought.json().id as string;
      await flushPurchases(api.app);
      await waitUntil(() => mailsTo().length === index * 2 + 1, `confirmation ${index + 1} received`);
      const tickets = (await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer })).json().items as {
        seat: { id: number };
        code: string;
      }[];
      const [used, unused] = tickets;
      const checkedIn = await call('POST', '/check-in', { body: { code: used.code }, session: admin });
      expect(checkedIn.statusCode, checkedIn.body).toBe(200);

      if (writtenBy === 'flush') {
        vi.spyOn(api.app.get(PurchaseRepository), 'cancelWritten').mockRejectedValueOnce(new Error('PostgreSQL away'));
      }
      const refunded = await call('POST', `/admin/purchases/${purchaseId}/refund`, {
        body: { resellCheckedInSeats: false },
        session: admin,
      });
      expect(refunded.statusCode, refunded.body).toBe(200);
      expect(refunded.json()).toMatchObject({ status: 'CANCELED', keptSeatIds: [used.seat.id] });
      await flushPurchases(api.app);
      await waitUntil(() => mailsTo().length >= index * 2 + 2, `notice ${index + 1} received`);
      const notice = mailsTo()[index * 2 + 1];
      expect(notice.messageIdHeader, writtenBy).toContain(`purchase-canceled.${purchaseId}`);
      const kept = await seatName(used.seat.id);
      const voided = await seatName(unused.seat.id);
      for (const part of [notice.text, notice.html]) {
        expect(part, writtenBy).toContain(
          `The ticket for ${kept} was checked in at the door and its seat is kept: not sold again. ` +
            'The other ticket no longer admits anyone: its QR code is void.',
        );
        expect(part, writtenBy).not.toContain('Its tickets no longer admit anyone');
      }
      // SMTP carries the text with CRLF line ends.
      const text = notice.text.replace(/\r\n/g, '\n');
      expect(text, writtenBy).toContain(`Seats:     ${voided}\n`);
      expect(text, writtenBy).toContain(`Kept:      ${kept} (checked in, not resold)\n`);
      await waitUntil(
        async () =>
          (
            await db.query('SELECT 1 FROM email_deliveries WHERE message_id = $1', [
              purchaseCanceledMessageId(purchaseId),
            ])
          ).length === 1,
        `delivery ${index + 1} recorded`,
      );
    }
    expect(mailsTo()).toHaveLength(4);
  });

  it('e-mails one notice a partial refund, naming its seats and amount; the purchase keeps its other tickets', async () => {
    const performance = await createPerformance(api.app, admin, 10, { price: 1200 });
    const buyer = await createSession(api.app);
    const mailsTo = () => smtp.received.filter((email) => email.to.includes(buyer.email));
    const db = dataSourceOf(relay);
    const [s0, s1, s2] = performance.seatIds;
    const held = await hold(api.app, buyer, performance.id, [s0, s1, s2]);
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchaseId = bought.json().id as string;
    await flushPurchases(api.app);
    await waitUntil(() => mailsTo().length === 1, 'confirmation received');

    const refunded = await call('POST', `/admin/purchases/${purchaseId}/refund`, {
      body: { seatIds: [s1] },
      session: admin,
    });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const refundId = (await db.query('SELECT id FROM purchase_refunds WHERE purchase_id = $1', [purchaseId]))[0]
      .id as string;
    // The flush replays the refund's stream entry: still one outbox row, one notice.
    await flushPurchases(api.app);
    await waitUntil(() => mailsTo().length >= 2, 'partial refund notice received');
    const notice = mailsTo()[1];
    expect(notice.subject).toMatch(/^Refunded: a seat of your tickets for /);
    expect(notice.messageIdHeader).toContain(`purchase-refunded.${refundId}`);
    const [seat] = await db.query('SELECT section, row_label, "number" FROM seats WHERE id = $1', [s1]);
    const text = notice.text.replace(/\r\n/g, '\n');
    expect(text).toContain(`Section ${seat.section}, row ${seat.row_label}, seat ${seat.number}`);
    expect(text).toMatch(/Refund: +\S*1,200\b/);
    await waitUntil(
      async () =>
        (await db.query('SELECT 1 FROM email_deliveries WHERE message_id = $1', [purchaseRefundedMessageId(refundId)]))
          .length === 1,
      'delivery recorded',
    );
    expect(mailsTo()).toHaveLength(2);
  });
});
