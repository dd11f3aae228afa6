import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceReschedulesRepository } from '@app/database';
import { createSession, TestSession, waitForValue, waitUntil } from '@app/testing';
import { RescheduleNotices } from '@app/ticketing';
import { mailOutcomes, startMailer } from '../../mailer/test/mail-harness';
import { createPerformance } from './purchase-helpers';
import { buyTickets, MailStack, movePerformance, startMailStack, transferMail } from './support/mail';
import { expectUniform } from './support/http';

interface ListedTicket {
  id: string;
  seat: { section: string; rowLabel: string; number: number };
}

/** An e-mail's text lines (SMTP ends them with CRLF). */
const lines = (mail: { text: string }) => mail.text.split(/\r?\n/);

/** A seat as the e-mails write it. */
const written = (ticket: ListedTicket) =>
  `Section ${ticket.seat.section}, row ${ticket.seat.rowLabel}, seat ${ticket.seat.number}`;

/**
 * Who is told what about a transferred ticket, end to end (API → outbox → RabbitMQ → mailer →
 * SMTP, and `batch`'s fan-out of a move's notices): when its performance moves, the account holding
 * it now gets a new-date notice of its own, naming its seats, once per move, and the buyer's notice
 * names only the seats the buyer still holds; an offer whose show was canceled before its e-mail
 * went out is not mailed, and cannot be accepted.
 */
describe('transferred tickets: the holder is told of a new date, the buyer of its own seats (real services)', () => {
  let { smtp, api, mailer, admin, call, close } = {} as MailStack;
  let db: DataSource;
  let buyer: TestSession;
  let friend: TestSession;
  let third: TestSession;
  let notices: RescheduleNotices;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close } = await startMailStack({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      TICKET_TRANSFER_OFFERS_PER_HOUR: '10000',
    }));
    db = api.app.get(DataSource);
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
    friend = await createSession(api.app, { name: 'Ada Friend' });
    third = await createSession(api.app, { name: 'Lin Third' });
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = ANY($1::uuid[])', [
      [buyer.id, friend.id, third.id],
    ]);
    notices = new RescheduleNotices(api.app.get(PerformanceReschedulesRepository));
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  /** Buys `count` seats of `performance` for the buyer, written to PostgreSQL; its tickets. */
  async function tickets(performance: { id: number; seatIds: number[] }, count: number): Promise<ListedTicket[]> {
    return (await buyTickets<ListedTicket>(api, buyer, performance.id, performance.seatIds.slice(0, count))).tickets;
  }

  /** `from` passes `ticketId` to `to`, who accepts it; once the ticket's e-mail reached `to`. */
  async function passed(ticketId: string, from: TestSession, to: TestSession): Promise<void> {
    const offered = await call('POST', `/tickets/${ticketId}/transfers`, { body: { email: to.email }, session: from });
    expect(offered.statusCode, offered.body).toBe(202);
    const id: string = offered.json().id;
    const accepted = await call('POST', `/ticket-transfers/${id}/accept`, { session: to });
    expect(accepted.statusCode, accepted.body).toBe(200);
    await transferMail(smtp, 'received', id);
  }

  /** Moves the performance as the admin; the move's id (see movePerformance). */
  const move = (performanceId: number, startsAt: Date) => movePerformance(api, admin, performanceId, startsAt);

  /** Queues every open move's notices as `batch` would, a purchase a page. */
  async function queueAllNotices(): Promise<void> {
    while ((await notices.queueOnce(1)) !== null);
  }

  const newDateMailsTo = (session: TestSession, moveId: string) =>
    smtp.received.filter(
      (mail) => mail.to.includes(session.email) && mail.messageIdHeader.includes(`rescheduled.${moveId}.`),
    );

  it('tells each current holder of a transferred ticket the new date with its seats, and the buyer its own, once each under a retried fan-out', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [kept, given, passedOn] = await tickets(performance, 3);
    await passed(given.id, buyer, friend);
    // Passed on twice: the holder at fan-out time is told, not the one between.
    await passed(passedOn.id, buyer, friend);
    await passed(passedOn.id, friend, third);

    const moved = await move(performance.id, new Date('2030-03-08T19:00:00Z'));
    await queueAllNotices();
    const [toFriend] = await waitForValue(
      () => (newDateMailsTo(friend, moved).length > 0 ? newDateMailsTo(friend, moved) : undefined),
      "the friend's new-date notice",
      { timeoutMs: 60_000 },
    );
    const [toThird] = await waitForValue(
      () => (newDateMailsTo(third, moved).length > 0 ? newDateMailsTo(third, moved) : undefined),
      "the third holder's new-date notice",
      { timeoutMs: 60_000 },
    );
    const [toBuyer] = await waitForValue(
      () => (newDateMailsTo(buyer, moved).length > 0 ? newDateMailsTo(buyer, moved) : undefined),
      "the buyer's new-date notice",
      { timeoutMs: 60_000 },
    );
    expect(toFriend.messageIdHeader).toContain(`ticket-transfer-holder-rescheduled.${moved}.${friend.id}`);
    expect(toFriend.subject).toBe('New date: Concert');
    expect(toFriend.text).toContain(
      'it now starts Friday, 8 March 2030, 19:00 UTC (it was to start Friday, 1 March 2030, 19:00 UTC)',
    );
    expect(lines(toFriend)).toContain(`Seats:     ${written(given)}`);
    expect(lines(toThird)).toContain(`Seats:     ${written(passedOn)}`);
    // The buyer: its own seat; the two it passed on named apart; no refund (it may not cancel any more).
    expect(lines(toBuyer)).toContain(`Seats:     ${written(kept)}`);
    expect(lines(toBuyer)).toContain(`Passed on: ${written(given)}; ${written(passedOn)}`);
    expect(toBuyer.text).not.toContain('refund');

    // The move's fan-out run again (a `batch` retrying it): every notice handled again, none mailed again.
    const before = await mailOutcomes(mailer!);
    await db.query('UPDATE performance_reschedules SET notice_cursor = NULL, completed_at = NULL WHERE id = $1', [
      moved,
    ]);
    await queueAllNotices();
    await waitUntil(async () => {
      const after = await mailOutcomes(mailer!);
      return (after['already-sent'] ?? 0) - (before['already-sent'] ?? 0) === 3;
    }, 'the replayed notices handled');
    for (const session of [buyer, friend, third]) expect(newDateMailsTo(session, moved)).toHaveLength(1);
  });

  it('sends no offer e-mail for a show canceled between the offer and its e-mail, and refuses its accept', async () => {
    const performance = await createPerformance(api.app, admin, 4);
    const [ticket] = await tickets(performance, 1);
    await mailer?.close();
    mailer = undefined;
    const offered = await call('POST', `/tickets/${ticket.id}/transfers`, {
      body: { email: friend.email },
      session: buyer,
    });
    expect(offered.statusCode, offered.body).toBe(202);
    const id: string = offered.json().id;
    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(202);
    // No `batch` runs its bulk refund here: the offer stays PENDING, as until the refund reaches it.
    mailer = await startMailer(api.env);
    const started = mailer;
    await waitUntil(async () => ((await mailOutcomes(started)).superseded ?? 0) === 1, 'the offer e-mail handled');
    expect(smtp.received.some((mail) => mail.messageIdHeader.includes(`ticket-transfer-offered.${id}`))).toBe(false);
    // PerformanceCanceled: the accept refuses it too.
    const accept = await call('POST', `/ticket-transfers/${id}/accept`, { session: friend });
    expect(expectUniform(accept, 409).message).toMatch(/has been canceled: its tickets can no longer be transferred/);
  });
});
