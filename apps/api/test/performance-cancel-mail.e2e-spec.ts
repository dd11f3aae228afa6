import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTING } from '@app/messaging';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { BulkRefund } from '@app/ticketing';
import { dataSourceOf, mailOutcomes, startMailer } from '../../mailer/test/mail-harness';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';
import { MailStack, startMailStack } from './support/mail';
import { completeBulkRefund } from './support/bulk-refund';

describe("a canceled performance's buyers get one cancellation notice with the reason (API → bulk refund → outbox → RabbitMQ → mailer → SMTP)", () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  it('sends each buyer the confirmation, then exactly one notice naming the reason', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyers = await Promise.all([0, 1].map(() => createSession(api.app)));
    const purchaseIds: string[] = [];
    for (const [i, buyer] of buyers.entries()) {
      const held = await hold(api.app, buyer, performance.id, [performance.seatIds[i]]);
      const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
      expect(bought.statusCode).toBe(201);
      purchaseIds.push(bought.json().id as string);
    }
    await flushPurchases(api.app);
    const mailsTo = (buyer: TestSession) => smtp.received.filter((email) => email.to.includes(buyer.email));
    await waitUntil(() => buyers.every((buyer) => mailsTo(buyer).length === 1), 'confirmations received');

    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, {
      session: admin,
      body: { reason: 'The artist is ill.' },
    });
    expect(canceled.statusCode).toBe(202);
    // Two batch processes' worth of steps at once: each purchase is still canceled once.
    const bulk = api.app.get(BulkRefund);
    await Promise.all([bulk.refundOnce(), bulk.refundOnce()]);
    await waitUntil(async () => {
      await bulk.refundOnce();
      return buyers.every((buyer) => mailsTo(buyer).length >= 2);
    }, 'cancellation notices received');
    for (const [i, buyer] of buyers.entries()) {
      const notice = mailsTo(buyer)[1];
      expect(notice.subject).toMatch(/^Canceled: your tickets for /);
      expect(notice.messageIdHeader).toContain(`purchase-canceled.${purchaseIds[i]}`);
      expect(notice.text).toContain('The performance was canceled: The artist is ill.');
    }
    const db = dataSourceOf(relay);
    await waitUntil(
      async () =>
        (
          await db.query('SELECT count(*)::int AS n FROM email_deliveries WHERE purchase_id = ANY($1::uuid[])', [
            purchaseIds,
          ])
        )[0].n === 4,
      'every delivery recorded',
    );
    for (const buyer of buyers) expect(mailsTo(buyer)).toHaveLength(2);
  });
});

describe('a buyer whose purchase the bulk refund canceled before its confirmation went out gets exactly one e-mail: the notice', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack(
      { PURCHASE_FLUSH_AGE_SECONDS: '0' },
      { mailer: false },
    ));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  it('sends the cancellation notice without a confirmation, saying the performance was canceled', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, [performance.seatIds[0]]);
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode).toBe(201);
    const purchaseId = bought.json().id as string;
    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, {
      session: admin,
      body: { reason: 'The artist is ill.' },
    });
    expect(canceled.statusCode).toBe(202);
    await flushPurchases(api.app);
    await completeBulkRefund(api.app);
    // The mailer behind (a backlog of confirmations, or restarting): it reaches this buyer's
    // confirmation and notice only after the bulk refund canceled the purchase.
    mailer = await startMailer(api.env);
    const started = mailer;
    await waitUntil(async () => {
      const outcomes = await mailOutcomes(started);
      return outcomes.canceled === 1 && outcomes.sent === 1;
    }, 'the confirmation dropped and the notice sent');
    const mails = smtp.received.filter((email) => email.to.includes(buyer.email));
    expect(mails).toHaveLength(1);
    expect(mails[0].subject).toMatch(/^Canceled: your tickets for /);
    expect(mails[0].messageIdHeader).toContain(`purchase-canceled.${purchaseId}`);
    expect(mails[0].text).toContain('The performance was canceled: The artist is ill.');
    expect(mails[0].text).toContain('No tickets will be issued for it.');
    const deliveries = await dataSourceOf(relay).query(
      'SELECT message_id FROM email_deliveries WHERE purchase_id = $1',
      [purchaseId],
    );
    expect(deliveries).toEqual([{ message_id: `purchase-canceled:${purchaseId}` }]);
  });

  it("sends no notice to buyers who canceled their unconfirmed purchases themselves, just before or just after the performance's cancel, and the bulk refund's notice to the others", async () => {
    // The mailer behind again: no confirmation goes out until every cancel is in.
    await mailer?.close();
    mailer = undefined;
    const performance = await createPerformance(api.app, admin, 10);
    const [before, after, untouched] = [
      await createSession(api.app),
      await createSession(api.app),
      await createSession(api.app),
    ];
    const buy = async (buyer: TestSession, seatId: number) => {
      const held = await hold(api.app, buyer, performance.id, [seatId]);
      const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
      expect(bought.statusCode, bought.body).toBe(201);
      return bought.json().id as string;
    };
    const ids = {
      before: await buy(before, performance.seatIds[0]),
      after: await buy(after, performance.seatIds[1]),
      untouched: await buy(untouched, performance.seatIds[2]),
    };
    // Confirmed in PostgreSQL (its confirmation queued), then canceled by its buyer moments before the show is.
    await flushPurchases(api.app);
    const own = (buyer: TestSession, id: string) => call('POST', `/purchases/${id}/cancel`, { session: buyer });
    expect((await own(before, ids.before)).statusCode).toBe(200);
    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, {
      session: admin,
      body: { reason: 'Storm warning.' },
    });
    expect(canceled.statusCode).toBe(202);
    // A buyer's own cancel right after it, before the bulk refund got there.
    expect((await own(after, ids.after)).statusCode).toBe(200);
    await completeBulkRefund(api.app);
    const outbox = await dataSourceOf(relay).query(
      `SELECT payload->>'purchaseId' AS id, payload->>'canceledBy' AS by, routing_key FROM outbox
       WHERE payload->>'type' = 'purchase.canceled' AND payload->>'purchaseId' = ANY($1::text[]) ORDER BY 1`,
      [Object.values(ids)],
    );
    // Who canceled travels with each cancellation (rows the relay has not deleted yet), and picks
    // its mail queue: the bulk refund's notice is bulk, a buyer's own cancel urgent.
    for (const row of outbox as { id: string; by: string; routing_key: string }[]) {
      expect({ by: row.by, routingKey: row.routing_key }).toEqual(
        row.id === ids.untouched
          ? { by: 'performance', routingKey: ROUTING.purchaseCanceledByPerformance }
          : { by: 'buyer', routingKey: ROUTING.purchaseCanceled },
      );
    }

    mailer = await startMailer(api.env);
    const started = mailer;
    await waitUntil(async () => {
      const outcomes = await mailOutcomes(started);
      return outcomes.canceled === 3 && outcomes['not-confirmed'] === 2 && outcomes.sent === 1;
    }, 'three confirmations dropped, the two buyers’ notices not sent, the bulk refund’s sent');
    const mailsTo = (buyer: TestSession) => smtp.received.filter((email) => email.to.includes(buyer.email));
    expect(mailsTo(before)).toEqual([]);
    expect(mailsTo(after)).toEqual([]);
    const [notice, ...more] = mailsTo(untouched);
    expect(more).toEqual([]);
    expect(notice.text).toContain('The performance was canceled: Storm warning.');
    expect(notice.text).toContain('No tickets will be issued for it.');
  });
});
