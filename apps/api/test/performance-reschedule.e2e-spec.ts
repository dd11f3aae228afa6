import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceReschedulesRepository } from '@app/database';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { RescheduleNotices } from '@app/ticketing';
import { dataSourceOf, mailOutcomes, startMailer } from '../../mailer/test/mail-harness';
import { createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { MailStack, startMailStack } from './support/mail';

describe('a performance that moves: its confirmed buyers get one new-date notice each (PATCH → batch → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;
  let notices: RescheduleNotices;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    notices = new RescheduleNotices(api.app.get(PerformanceReschedulesRepository));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  const mailsTo = (buyer: TestSession) => smtp.received.filter((email) => email.to.includes(buyer.email));

  async function buy(performance: { id: number; seatIds: number[] }, buyer: TestSession, seat: number) {
    const held = await hold(api.app, buyer, performance.id, [performance.seatIds[seat]]);
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode).toBe(201);
    return bought.json().id as string;
  }

  async function move(performanceId: number, startsAt: string) {
    const moved = await call('PATCH', `/performances/${performanceId}`, { session: admin, body: { startsAt } });
    expect(moved.statusCode).toBe(200);
  }

  /** Queues every open move's notices as two `batch` processes would, a purchase a page; answers how many. */
  async function queueAllNotices(): Promise<number> {
    let queued = 0;
    for (;;) {
      const steps = await Promise.all([notices.queueOnce(1), notices.queueOnce(1)]);
      if (steps.every((step) => step === null)) return queued;
      for (const step of steps) queued += step?.queued ?? 0;
    }
  }

  it('tells confirmed buyers once; a canceled purchase and a confirmation sent after the move get no notice', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => createSession(api.app)));
    const purchaseA = await buy(performance, a, 0);
    await buy(performance, b, 1);
    const purchaseC = await buy(performance, c, 2);
    await flushPurchases(api.app);
    await waitUntil(() => [a, b, c].every((buyer) => mailsTo(buyer).length === 1), 'confirmations received');
    expect((await call('POST', `/purchases/${purchaseC}/cancel`, { session: c })).statusCode).toBe(200);
    await flushPurchases(api.app);
    await waitUntil(() => mailsTo(c).length === 2, "c's cancellation notice received");

    // The mailer behind: d's confirmation is handled only after the move, so it shows the new time.
    await mailer?.close();
    mailer = undefined;
    await buy(performance, d, 3);
    await flushPurchases(api.app);
    await move(performance.id, '2030-03-08T19:00:00Z');
    // a, b and d: c's purchase is canceled.
    expect(await queueAllNotices()).toBe(3);
    const db = dataSourceOf(relay);
    const [move1] = await db.query(
      'SELECT notice_cursor IS NOT NULL AS paged, completed_at IS NOT NULL AS completed FROM performance_reschedules WHERE performance_id = $1',
      [performance.id],
    );
    expect(move1).toEqual({ paged: true, completed: true });

    mailer = await startMailer(api.env);
    const started = mailer;
    // a's and b's notices and d's confirmation sent; d's notice found no confirmation before it, or
    // one that told the new time already (the two race on the mail lock).
    await waitUntil(async () => {
      const outcomes = await mailOutcomes(started);
      return outcomes.sent === 3 && (outcomes['not-confirmed'] ?? 0) + (outcomes.superseded ?? 0) === 1;
    }, 'notices handled');
    for (const buyer of [a, b]) {
      const mails = mailsTo(buyer);
      expect(mails).toHaveLength(2);
      expect(mails[1].subject).toBe('New date: Concert');
      expect(mails[1].text).toContain('it now starts Friday, 8 March 2030, 19:00 UTC');
      expect(mails[1].text).toContain('it was to start Friday, 1 March 2030, 19:00 UTC');
      expect(mails[1].text).toContain('Your tickets stay valid for the new time');
    }
    expect(mailsTo(a)[1].messageIdHeader).toContain(`performance-rescheduled.`);
    expect(mailsTo(a)[1].messageIdHeader).toContain(purchaseA);
    expect(mailsTo(c)).toHaveLength(2);
    const [confirmationD] = mailsTo(d);
    expect(mailsTo(d)).toHaveLength(1);
    expect(confirmationD.text).toContain('8 March 2030, 19:00 UTC');
    expect(confirmationD.text).not.toContain('1 March 2030');
  });

  it('offers the refund only to a buyer who can still cancel: not once a ticket was checked in', async () => {
    const doors = doorsOpenNow();
    const performance = await createPerformance(api.app, admin, 10, doors);
    const [scanned, waiting] = await Promise.all([createSession(api.app), createSession(api.app)]);
    const scannedPurchase = await buy(performance, scanned, 0);
    await buy(performance, waiting, 1);
    await flushPurchases(api.app);
    await waitUntil(() => [scanned, waiting].every((buyer) => mailsTo(buyer).length === 1), 'confirmations received');
    const tickets = await call('GET', `/purchases/${scannedPurchase}/tickets`, { session: scanned });
    const checkIn = await call('POST', '/check-in', { session: admin, body: { code: tickets.json().items[0].code } });
    expect(checkIn.statusCode).toBe(200);

    await move(performance.id, new Date(doors.startsAt.getTime() + 3_600_000).toISOString());
    expect(await queueAllNotices()).toBe(2);
    await waitUntil(() => [scanned, waiting].every((buyer) => mailsTo(buyer).length === 2), 'notices received');
    expect(mailsTo(waiting)[1].text).toContain('you may cancel the purchase for a full refund until');
    expect(mailsTo(scanned)[1].subject).toBe('New date: Concert');
    expect(mailsTo(scanned)[1].text).not.toContain('refund');
    const cancel = await call('POST', `/purchases/${scannedPurchase}/cancel`, { session: scanned });
    expect(cancel.statusCode).toBe(409);
  });

  it('sends one notice for two moves made before the notices went out, and another for a move back', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    await buy(performance, buyer, 0);
    await flushPurchases(api.app);
    await waitUntil(() => mailsTo(buyer).length === 1, 'confirmation received');

    await move(performance.id, '2030-03-08T19:00:00Z');
    await move(performance.id, '2030-03-15T19:00:00Z');
    await queueAllNotices();
    await waitUntil(() => mailsTo(buyer).length === 2, 'notice received');
    const notice = mailsTo(buyer)[1];
    expect(notice.text).toContain('it now starts Friday, 15 March 2030, 19:00 UTC');
    expect(notice.text).toContain('it was to start Friday, 1 March 2030, 19:00 UTC');

    await move(performance.id, '2030-03-01T19:00:00Z');
    await queueAllNotices();
    await waitUntil(() => mailsTo(buyer).length === 3, 'second notice received');
    expect(mailsTo(buyer)[2].text).toContain('it now starts Friday, 1 March 2030, 19:00 UTC');
    expect(mailsTo(buyer)[2].text).toContain('it was to start Friday, 15 March 2030, 19:00 UTC');
    // Every notice message handled (three moves): one skipped, two sent, after the confirmation;
    // the delivery rows commit after the SMTP server answered, so wait for them too.
    const db = dataSourceOf(relay);
    await waitUntil(async () => {
      const [{ n }] = await db.query(
        `SELECT count(*)::int AS n FROM email_deliveries d JOIN purchases p ON p.id = d.purchase_id
          WHERE p.performance_id = $1`,
        [performance.id],
      );
      return n === 3 && ((await mailOutcomes(mailer!)).superseded ?? 0) >= 1;
    }, 'every notice handled');
    expect(mailsTo(buyer)).toHaveLength(3);
  });

  it('tells a buyer whose confirmation recorded no start (an earlier version sent it) what they were told', async () => {
    const db = dataSourceOf(relay);
    const [undone, moved] = await Promise.all([0, 1].map(() => createPerformance(api.app, admin, 10)));
    const [undoneBuyer, movedBuyer] = await Promise.all([0, 1].map(() => createSession(api.app)));
    const purchases = [await buy(undone, undoneBuyer, 0), await buy(moved, movedBuyer, 0)];
    await flushPurchases(api.app);
    await waitUntil(
      async () =>
        (await db.query('SELECT 1 FROM email_deliveries WHERE purchase_id = ANY($1::uuid[])', [purchases])).length ===
        2,
      'confirmations recorded',
    );
    await db.query('UPDATE email_deliveries SET starts_at = NULL WHERE purchase_id = ANY($1::uuid[])', [purchases]);
    const before = await mailOutcomes(mailer!);

    // Moved and moved back before the notices went out: told 1 March, it is 1 March: nothing to say.
    await move(undone.id, '2030-03-08T19:00:00Z');
    await move(undone.id, '2030-03-01T19:00:00Z');
    await move(moved.id, '2030-03-08T19:00:00Z');
    await move(moved.id, '2030-03-15T19:00:00Z');
    await queueAllNotices();
    await waitUntil(async () => {
      const outcomes = await mailOutcomes(mailer!);
      const handled = (outcome: string) => (outcomes[outcome] ?? 0) - (before[outcome] ?? 0);
      return handled('sent') === 1 && handled('superseded') === 3;
    }, 'four notices handled');
    expect(mailsTo(undoneBuyer)).toHaveLength(1);
    expect(mailsTo(movedBuyer)).toHaveLength(2);
    expect(mailsTo(movedBuyer)[1].text).toContain('it now starts Friday, 15 March 2030, 19:00 UTC');
    expect(mailsTo(movedBuyer)[1].text).toContain('it was to start Friday, 1 March 2030, 19:00 UTC');
  });

  it('records no move when startsAt is given unchanged, and none for a refused PATCH', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    await move(performance.id, '2030-03-01T20:00:00+01:00');
    const refused = await call('PATCH', `/performances/${performance.id}`, {
      session: admin,
      body: { startsAt: '2030-03-20T19:00:00Z', cancelUntil: '2030-03-25T19:00:00Z' },
    });
    expect(refused.statusCode).toBe(400);
    const rows = await dataSourceOf(relay).query('SELECT 1 FROM performance_reschedules WHERE performance_id = $1', [
      performance.id,
    ]);
    expect(rows).toEqual([]);
  });

  it('refuses a move of a sold show to a time already past: 400, nothing moved, no buyer told', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const buyer = await createSession(api.app);
    await buy(performance, buyer, 0);
    const before = (await call('GET', `/performances/${performance.id}`)).json().startsAt;
    for (const startsAt of [new Date(Date.now() - 60_000).toISOString(), '2020-01-01T00:00:00Z']) {
      const refused = await call('PATCH', `/performances/${performance.id}`, { session: admin, body: { startsAt } });
      expect(refused.statusCode, refused.body).toBe(400);
      expect(refused.json().message).toMatch(
        /^startsAt must be in the future: a performance is not moved to a time already past/,
      );
    }
    // The start sent back as it is stays no move, and is answered.
    const unchanged = await call('PATCH', `/performances/${performance.id}`, {
      session: admin,
      body: { startsAt: before },
    });
    expect(unchanged.statusCode, unchanged.body).toBe(200);
    expect((await call('GET', `/performances/${performance.id}`)).json().startsAt).toBe(before);
    const rows = await dataSourceOf(relay).query('SELECT 1 FROM performance_reschedules WHERE performance_id = $1', [
      performance.id,
    ]);
    expect(rows).toEqual([]);
    expect(await queueAllNotices()).toBe(0);
  });
});
