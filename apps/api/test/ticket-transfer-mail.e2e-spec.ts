import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceReschedulesRepository } from '@app/database';
import { createSession, TestSession, waitForValue, waitUntil } from '@app/testing';
import { RescheduleNotices } from '@app/ticketing';
import { mailOutcomes, startMailer } from '../../mailer/test/mail-harness';
import { createPerformance } from './purchase-helpers';
import { buyTickets, MailStack, movePerformance, startMailStack, transferMail } from './support/mail';

const OFFER_PAGE = 'https://shop.example.com/transfers/{transferId}?from=mail';

/** A time as the e-mails write it in a venue on UTC: `Monday, 7 December 2026, 19:00 UTC`. */
function written(time: Date): string {
  const weekday = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'long' });
  const day = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });
  return `${weekday.format(time)}, ${day.format(time)}, ${time.toISOString().slice(11, 16)} UTC`;
}

/**
 * The e-mails a ticket-transfer offer's recipient gets beyond the offer itself, end to end (API →
 * outbox → RabbitMQ → mailer → SMTP, and `batch`'s fan-out of a move's notices): the link to the
 * shop's page of the offer (TICKET_TRANSFER_URL), and the offer again after its performance moved,
 * once per pending offer and move.
 */
describe('ticket transfer e-mails: the offer link, and the offer again after a move (real services)', () => {
  let { smtp, api, mailer, admin, call, close } = {} as MailStack;
  let db: DataSource;
  let buyer: TestSession;
  let friend: TestSession;
  let notices: RescheduleNotices;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close } = await startMailStack({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      TICKET_TRANSFER_OFFERS_PER_HOUR: '10000',
      TICKET_TRANSFER_URL: OFFER_PAGE,
    }));
    db = api.app.get(DataSource);
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
    friend = await createSession(api.app, { name: 'Ada Friend' });
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = ANY($1::uuid[])', [[buyer.id, friend.id]]);
    notices = new RescheduleNotices(api.app.get(PerformanceReschedulesRepository));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  /** Buys `count` seats of `performance` for the buyer, written to PostgreSQL; its ticket ids. */
  async function tickets(performance: { id: number; seatIds: number[] }, count: number): Promise<string[]> {
    const { tickets: listed } = await buyTickets<{ id: string }>(
      api,
      buyer,
      performance.id,
      performance.seatIds.slice(0, count),
    );
    return listed.map((ticket) => ticket.id);
  }

  /** Offers `ticketId` to `email`; the transfer's id, once its offer e-mail arrived. */
  async function offered(ticketId: string, email = friend.email): Promise<string> {
    const answer = await call('POST', `/tickets/${ticketId}/transfers`, { body: { email }, session: buyer });
    expect(answer.statusCode, answer.body).toBe(202);
    const id: string = answer.json().id;
    await mailOf('offered', id);
    return id;
  }

  /** The e-mail whose Message-ID names `what` of transfer `id` (`offered`, `rescheduled.<move id>`), once it arrived. */
  const mailOf = (what: string, id: string) => transferMail(smtp, what, id);
  const reoffersOf = (id: string) =>
    smtp.received.filter(
      (mail) => mail.messageIdHeader.includes('ticket-transfer-rescheduled.') && mail.messageIdHeader.includes(id),
    );

  /** Moves the performance as the admin; the move's id (see movePerformance). */
  const move = (performanceId: number, startsAt: Date) => movePerformance(api, admin, performanceId, startsAt);

  /** Queues every open move's notices as `batch` would, a purchase a page. */
  async function queueAllNotices(): Promise<void> {
    while ((await notices.queueOnce(1)) !== null);
  }

  it("links the offer e-mail to the shop's page of the offer, and still names the routes", async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [ticket] = await tickets(performance, 1);
    const id = await offered(ticket);
    const mail = await mailOf('offered', id);
    const link = `https://shop.example.com/transfers/${id}?from=mail`;
    expect(mail.to).toEqual([friend.email]);
    expect(mail.text).toContain('then open the offer:');
    // The link on a line of its own, as the mail client shows it.
    expect(mail.text.split(/\r?\n/)).toContain(link);
    expect(mail.text).toContain(`POST /api/v1/ticket-transfers/${id}/accept`);
    expect(mail.text).toContain(`POST /api/v1/ticket-transfers/${id}/decline`);
    expect(mail.html).toContain(`<a href="${link}">${link}</a>`);
    expect(mail.html).toContain(`<code>POST /api/v1/ticket-transfers/${id}/accept</code>`);
  });

  it('re-offers each pending offer once per move with the new start and expiry; none for an offer no longer pending, none twice for a retried move', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [pendingTicket, declinedTicket, canceledTicket, acceptedTicket] = await tickets(performance, 4);
    const pending = await offered(pendingTicket);
    const declined = await offered(declinedTicket);
    const canceled = await offered(canceledTicket, 'someone@example.test');
    const accepted = await offered(acceptedTicket);
    expect((await call('POST', `/ticket-transfers/${declined}/decline`, { session: friend })).statusCode).toBe(200);
    expect((await call('POST', `/ticket-transfers/${canceled}/cancel`, { session: buyer })).statusCode).toBe(200);
    expect((await call('POST', `/ticket-transfers/${accepted}/accept`, { session: friend })).statusCode).toBe(200);
    // The friend holds that ticket now, told its start: the move's notice to it follows (see
    // ticket-holder-reschedule.e2e-spec.ts).
    await mailOf('received', accepted);

    // Sooner than the offers' own expiry (72 h): the start ends them now, as the accept applies it.
    const sooner = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 48 * 3_600_000);
    const firstMove = await move(performance.id, sooner);
    await queueAllNotices();
    const reoffer = await mailOf(`rescheduled.${firstMove}`, pending);
    expect(reoffer.to).toEqual([friend.email]);
    expect(reoffer.subject).toBe('New date: the ticket Grace Buyer offered you for Concert');
    expect(reoffer.text).toContain(
      `it now starts ${written(sooner)}; it was to start Friday, 1 March 2030, 19:00 UTC.`,
    );
    expect(reoffer.text).toContain(`The offer stands until ${written(sooner)}.`);
    const link = `https://shop.example.com/transfers/${pending}?from=mail`;
    expect(reoffer.text).toContain(link);
    expect(reoffer.text).toContain(`POST /api/v1/ticket-transfers/${pending}/accept`);
    expect(reoffer.html).toContain(`<a href="${link}">${link}</a>`);
    const listed = (await call('GET', '/ticket-transfers?limit=100', { session: friend })).json().items;
    expect(listed.find((t: { id: string }) => t.id === pending).expiresAt).toBe(sooner.toISOString());

    // The buyer's new-date notice too, and the e-mails of the decline, the cancel and the accept.
    await waitForValue(
      () => smtp.received.find((mail) => mail.messageIdHeader.includes(`performance-rescheduled.${firstMove}.`)),
      "the buyer's new-date notice",
    );
    for (const [what, id] of [
      ['declined', declined],
      ['withdrawn', canceled],
      ['accepted', accepted],
      ['received', accepted],
    ]) {
      await mailOf(what, id);
    }

    // The move's fan-out run again (a `batch` retrying it): every message queued again, none mailed again.
    const before = await mailOutcomes(mailer!);
    await db.query('UPDATE performance_reschedules SET notice_cursor = NULL, completed_at = NULL WHERE id = $1', [
      firstMove,
    ]);
    await queueAllNotices();
    // The buyer's new-date notice, the pending offer's and the holder's, all handled again: already sent.
    await waitUntil(async () => {
      const after = await mailOutcomes(mailer!);
      return (after['already-sent'] ?? 0) - (before['already-sent'] ?? 0) === 3;
    }, 'the replayed notices handled');
    expect(reoffersOf(pending)).toHaveLength(1);

    // A second move is news again, unless the offer ended before its e-mail went out: accepted here
    // while the mailer was away, so nothing.
    await mailer?.close();
    mailer = undefined;
    const secondMove = await move(performance.id, new Date(sooner.getTime() + 3_600_000));
    await queueAllNotices();
    expect((await call('POST', `/ticket-transfers/${pending}/accept`, { session: friend })).statusCode).toBe(200);
    mailer = await startMailer(api.env);
    const started = mailer;
    await waitUntil(async () => {
      const outcomes = await mailOutcomes(started);
      // The buyer's notice sent (and the accept's two e-mails); the offer's re-offer found it accepted.
      return (outcomes.stale ?? 0) === 1 && (outcomes.sent ?? 0) >= 3;
    }, "the second move's notices handled");
    expect(smtp.received.some((mail) => mail.messageIdHeader.includes(`rescheduled.${secondMove}.${pending}`))).toBe(
      false,
    );
    for (const ended of [declined, canceled, accepted]) expect(reoffersOf(ended)).toEqual([]);
    expect(reoffersOf(pending)).toHaveLength(1);
  });

  it('sends one new-date offer, with the latest start, for two moves made before the notices went out', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [ticket] = await tickets(performance, 1);
    const id = await offered(ticket);
    const before = await mailOutcomes(mailer!);
    await move(performance.id, new Date('2030-03-08T19:00:00Z'));
    await move(performance.id, new Date('2030-03-15T19:00:00Z'));
    await queueAllNotices();
    // Whichever of the two the mailer handles first tells the latest start; the other finds it told.
    await waitUntil(async () => {
      const after = await mailOutcomes(mailer!);
      return (after.superseded ?? 0) - (before.superseded ?? 0) >= 2 && reoffersOf(id).length === 1;
    }, "both moves' new-date offers handled");
    const [reoffer] = reoffersOf(id);
    expect(reoffer.text).toContain(
      'it now starts Friday, 15 March 2030, 19:00 UTC; it was to start Friday, 1 March 2030, 19:00 UTC.',
    );
  });

  it('re-offers nothing for a show canceled after its move, while its bulk refund has not reached the offer', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [ticket] = await tickets(performance, 1);
    const id = await offered(ticket);
    const before = await mailOutcomes(mailer!);
    const moved = await move(performance.id, new Date('2030-03-08T19:00:00Z'));
    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    // No `batch` runs its bulk refund here: the purchase stays PAID, the offer PENDING, as until
    // the refund reaches them. The move's notices are queued meanwhile.
    expect((await db.query('SELECT status FROM ticket_transfers WHERE id = $1', [id]))[0].status).toBe('PENDING');
    await queueAllNotices();
    // The buyer's notice and the offer's: neither says the show goes on.
    await waitUntil(async () => {
      const after = await mailOutcomes(mailer!);
      return (after.superseded ?? 0) - (before.superseded ?? 0) === 2;
    }, "the move's notices handled");
    expect(reoffersOf(id)).toEqual([]);
    expect(smtp.received.some((mail) => mail.messageIdHeader.includes(`performance-rescheduled.${moved}.`))).toBe(
      false,
    );
  });
});
