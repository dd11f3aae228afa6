import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, ReceivedEmail, TestSession, waitForValue, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';
import { buyTickets, MailStack, startMailStack, transferMail } from './support/mail';

interface TicketBody {
  id: string;
  code: string;
  status: string;
  seat: { id: number };
}

/**
 * Re-sending a purchase's tickets by e-mail (`POST /purchases/:id/tickets/resend`, the buyer's;
 * `POST /admin/purchases/:id/resend-tickets`, an operator's), API → outbox → relay → RabbitMQ →
 * mailer → SMTP: the e-mail arrives with the tickets' current codes (none transferred away), the
 * buyer's requests are limited (429, Retry-After), and the refusals change nothing.
 */
describe('re-sending tickets by e-mail (real PostgreSQL, RabbitMQ, mailer and SMTP)', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));

  /** The e-mail of resend request `resendId`, once it arrived. */
  const resentMail = (resendId: string): Promise<ReceivedEmail> =>
    waitForValue(
      () => smtp.received.find((mail) => mail.messageIdHeader.includes(`purchase-tickets-resent.${resendId}`)),
      `the resent tickets of request ${resendId}`,
      { timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    performance = await createPerformance(api.app, admin, 100);
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  it('e-mails the buyer the tickets with their codes as they are now (a ticket transferred away left out)', async () => {
    const buyer = await createSession(api.app, { name: 'Grace Buyer' });
    const friend = await createSession(api.app, { name: 'Ada Friend' });
    await dataSourceOf(relay).query('UPDATE users SET email_verified_at = now() WHERE id = ANY($1::uuid[])', [
      [buyer.id, friend.id],
    ]);
    const { purchaseId, tickets } = await buyTickets<TicketBody>(api, buyer, performance.id, seats(3));
    const confirmation = await waitForValue(
      () => smtp.received.find((mail) => mail.messageIdHeader.includes(`purchase-completed.${purchaseId}`)),
      'the confirmation',
      { timeoutMs: 60_000 },
    );

    // The first ticket goes to a friend (a new code, theirs); the buyer then asks for the tickets again.
    const offer = await call('POST', `/tickets/${tickets[0].id}/transfers`, {
      session: buyer,
      body: { email: friend.email },
    });
    expect(offer.statusCode, offer.body).toBe(202);
    const accepted = await call('POST', `/ticket-transfers/${offer.json().id}/accept`, { session: friend });
    expect(accepted.statusCode, accepted.body).toBe(200);
    await transferMail(smtp, 'received', offer.json().id);

    const resent = await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer });
    expect(resent.statusCode, resent.body).toBe(202);
    expect(resent.json()).toEqual({
      purchaseId,
      resendId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ticketIds: [tickets[1].id, tickets[2].id],
    });
    const mail = await resentMail(resent.json().resendId);
    expect(mail.to).toEqual([buyer.email]);
    expect(mail.subject).toBe(`${confirmation.subject}, sent again`);
    expect(mail.subject).toMatch(/^Your tickets for /);
    expect(mail.text).toContain('As you asked, here are your tickets for');
    // Its seats are the tickets it carries; the one given away is named apart, not as the buyer's.
    const seatsLine = mail.text.split('\n').find((line) => line.startsWith('Seats:'));
    expect(seatsLine?.split(';')).toHaveLength(2);
    expect(mail.text).toMatch(/^Passed on: Section .*\(its holder has it\)$/m);
    const now = (await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer })).json()
      .items as TicketBody[];
    expect(now.map((ticket) => ticket.status)).toEqual(['TRANSFERRED', 'ACTIVE', 'ACTIVE']);
    for (const ticket of now.slice(1)) expect(mail.text).toContain(ticket.code);
    // The code the buyer had for the ticket given away is void, and not sent again.
    expect(confirmation.text).toContain(tickets[0].code);
    expect(mail.text).not.toContain(tickets[0].code);

    // Every ticket given away: nothing to send (409), nothing queued.
    for (const ticket of now.slice(1)) {
      const more = await call('POST', `/tickets/${ticket.id}/transfers`, {
        session: buyer,
        body: { email: friend.email },
      });
      expect(more.statusCode, more.body).toBe(202);
      expect((await call('POST', `/ticket-transfers/${more.json().id}/accept`, { session: friend })).statusCode).toBe(
        200,
      );
    }
    const none = await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer });
    expect(none.statusCode, none.body).toBe(409);
    expect(none.json().message).toContain('every ticket of this purchase was transferred to someone else');

    // A ticket passed back to the buyer is the buyer's again: a resend carries it, with the code
    // its return issued (transfers trial 2026-12-07, X1: it was left out, and a purchase whose
    // every ticket came back was refused as "transferred to someone else").
    const back = await call('POST', `/tickets/${now[1].id}/transfers`, {
      session: friend,
      body: { email: buyer.email },
    });
    expect(back.statusCode, back.body).toBe(202);
    expect((await call('POST', `/ticket-transfers/${back.json().id}/accept`, { session: buyer })).statusCode).toBe(200);
    const returned = (await call('GET', `/purchases/${purchaseId}/tickets`, { session: buyer })).json()
      .items as TicketBody[];
    expect(returned.map((ticket) => ticket.status)).toEqual(['TRANSFERRED', 'ACTIVE', 'TRANSFERRED']);
    const again = await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer });
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json().ticketIds).toEqual([now[1].id]);
    const againMail = await resentMail(again.json().resendId);
    expect(againMail.text).toContain(returned[1].code);
    expect(returned[1].code).not.toBe(now[1].code);
    expect(againMail.text).not.toContain(now[1].code);
    expect(
      againMail.text
        .split('\n')
        .find((line) => line.startsWith('Seats:'))
        ?.split(';'),
    ).toHaveLength(1);
  });

  it("limits the buyer's resends (429 with Retry-After, nothing queued); an admin resends any purchase's, audited", async () => {
    const buyer = await createSession(api.app);
    const { purchaseId, tickets } = await buyTickets<TicketBody>(api, buyer, performance.id, seats(1));
    const db = dataSourceOf(relay);
    const resendsQueued = async () =>
      (
        await db.query(`SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = 'TICKETS_RESENT'`, [
          buyer.id,
        ])
      )[0].n as number;

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const resent = await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer });
      expect(resent.statusCode, resent.body).toBe(202);
      ids.push(resent.json().resendId);
    }
    const limited = await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer });
    expect(limited.statusCode, limited.body).toBe(429);
    expect(limited.json()).toMatchObject({
      statusCode: 429,
      message: expect.stringContaining('at most 3 e-mails of your tickets are sent again per 15 minutes'),
    });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await resendsQueued()).toBe(3);
    // Each request its own e-mail, with the current code.
    for (const id of ids) expect((await resentMail(id)).text).toContain(tickets[0].code);

    // An operator is not limited, and the audit log names who asked.
    const byAdmin = await call('POST', `/admin/purchases/${purchaseId}/resend-tickets`, { session: admin });
    expect(byAdmin.statusCode, byAdmin.body).toBe(202);
    const adminMail = await resentMail(byAdmin.json().resendId);
    expect(adminMail.to).toEqual([buyer.email]);
    expect(adminMail.text).toContain(tickets[0].code);
    expect(adminMail.text).toContain('The box office sent you your tickets for');
    const audit = await call('GET', `/admin/audit-log?purchaseId=${purchaseId}&action=purchase.resend-tickets`, {
      session: admin,
    });
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        actorId: admin.id,
        subjectId: purchaseId,
        details: expect.objectContaining({ resendId: byAdmin.json().resendId, ticketIds: [tickets[0].id] }),
      }),
    ]);
    expect(await resendsQueued()).toBe(3);
  });

  it('lets an admin e-mail one ticket to whoever holds it now: the account it was transferred to, the buyer, a walk-up at the address the window took; audited', async () => {
    const buyer = await createSession(api.app, { name: 'Grace Buyer' });
    const friend = await createSession(api.app, { name: 'Ada Friend' });
    await dataSourceOf(relay).query('UPDATE users SET email_verified_at = now() WHERE id = ANY($1::uuid[])', [
      [buyer.id, friend.id],
    ]);
    const { purchaseId, tickets } = await buyTickets<TicketBody>(api, buyer, performance.id, seats(2));
    const offer = await call('POST', `/tickets/${tickets[0].id}/transfers`, {
      session: buyer,
      body: { email: friend.email },
    });
    expect(offer.statusCode, offer.body).toBe(202);
    expect((await call('POST', `/ticket-transfers/${offer.json().id}/accept`, { session: friend })).statusCode).toBe(
      200,
    );
    const held = (await call('GET', '/tickets?limit=100', { session: friend })).json().items as TicketBody[];
    const friendsCode = held.find((ticket) => ticket.id === tickets[0].id)!.code;

    // The transferred ticket reaches its holder, with the holder's code, not the buyer's void one.
    const toHolder = await call('POST', `/admin/tickets/${tickets[0].id}/resend`, { session: admin });
    expect(toHolder.statusCode, toHolder.body).toBe(202);
    expect(toHolder.json()).toEqual({
      ticketId: tickets[0].id,
      purchaseId,
      resendId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      recipientEmail: friend.email,
      transferred: true,
    });
    const holderMail = await resentMail(toHolder.json().resendId);
    expect(holderMail.to).toEqual([friend.email]);
    expect(holderMail.text).toContain('Ada Friend');
    expect(holderMail.text).toContain('The box office sent you your tickets for');
    expect(holderMail.text).toContain(friendsCode);
    expect(holderMail.text).not.toContain(tickets[0].code);
    expect(holderMail.text).not.toContain(tickets[1].code);
    expect(holderMail.text).not.toMatch(/^Passed on:/m);

    // The one the buyer kept reaches the buyer, alone.
    const toBuyer = await call('POST', `/admin/tickets/${tickets[1].id}/resend`, { session: admin });
    expect(toBuyer.statusCode, toBuyer.body).toBe(202);
    expect(toBuyer.json()).toMatchObject({ recipientEmail: buyer.email, transferred: false });
    const buyerMail = await resentMail(toBuyer.json().resendId);
    expect(buyerMail.to).toEqual([buyer.email]);
    expect(buyerMail.text).toContain(tickets[1].code);
    expect(buyerMail.text).not.toContain(friendsCode);

    // A walk-up's ticket reaches the address the box office window took.
    const sale = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      session: admin,
      body: { seatIds: seats(1), paymentMethod: 'CASH', email: 'Walk.Up@Example.test', name: 'Jin Park' },
    });
    expect(sale.statusCode, sale.body).toBe(201);
    await flushPurchases(api.app);
    const walkUp = await call('POST', `/admin/tickets/${sale.json().tickets[0].ticketId}/resend`, { session: admin });
    expect(walkUp.statusCode, walkUp.body).toBe(202);
    expect(walkUp.json()).toMatchObject({ recipientEmail: 'walk.up@example.test', transferred: false });
    const walkUpMail = await resentMail(walkUp.json().resendId);
    expect(walkUpMail.to).toEqual(['walk.up@example.test']);
    expect(walkUpMail.text).toContain(sale.json().tickets[0].code);

    const audit = await call('GET', `/admin/audit-log?purchaseId=${purchaseId}&action=ticket.resend`, {
      session: admin,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    // Newest first: the buyer's ticket, then the holder's.
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        actorId: admin.id,
        action: 'ticket.resend',
        subjectId: purchaseId,
        details: expect.objectContaining({ ticketId: tickets[1].id, holderId: buyer.id }),
      }),
      expect.objectContaining({
        actorId: admin.id,
        action: 'ticket.resend',
        subjectId: purchaseId,
        details: expect.objectContaining({
          ticketId: tickets[0].id,
          performanceId: performance.id,
          resendId: toHolder.json().resendId,
          holderId: friend.id,
        }),
      }),
    ]);

    // Refusals: bad id 400, a body 400, a buyer 403, no such ticket 404, a refunded ticket 409; nothing queued.
    expect((await call('POST', '/admin/tickets/01/resend', { session: admin })).statusCode).toBe(400);
    const withBody = await call('POST', `/admin/tickets/${tickets[1].id}/resend`, { session: admin, body: { a: 1 } });
    expect(withBody.statusCode).toBe(400);
    expect((await call('POST', `/admin/tickets/${tickets[1].id}/resend`, { session: buyer })).statusCode).toBe(403);
    expect((await call('POST', '/admin/tickets/999999999999/resend', { session: admin })).statusCode).toBe(404);
    // A cancellation Redis has and PostgreSQL not yet (a buyer's cancel before its write behind;
    // arranged on the purchase's Redis hash, which a flushed purchase keeps a while): refused too.
    const other = await buyTickets<TicketBody>(api, buyer, performance.id, seats(1));
    const redis = api.app.get(Redis);
    const otherKey = performanceKeys(performance.id).purchase(other.purchaseId);
    expect(await redis.exists(otherKey)).toBe(1);
    await redis.hset(otherKey, 'status', 'CANCELED');
    const canceledFirst = await call('POST', `/admin/tickets/${other.tickets[0].id}/resend`, { session: admin });
    expect(canceledFirst.statusCode, canceledFirst.body).toBe(409);
    await redis.hset(otherKey, 'status', 'PAID');
    // A seat refunded: its ticket no longer goes out.
    const partial = await call('POST', `/admin/purchases/${purchaseId}/refund`, {
      session: admin,
      body: { seatIds: [held.find((ticket) => ticket.id === tickets[0].id)!.seat.id] },
    });
    expect(partial.statusCode, partial.body).toBe(200);
    const voided = await call('POST', `/admin/tickets/${tickets[0].id}/resend`, { session: admin });
    expect(voided.statusCode, voided.body).toBe(409);
    expect(voided.json().message).toMatch(/canceled/);
    // The rest refunded: canceled in Redis at once, in PostgreSQL with the next flush; refused from the refund on.
    const refund = await call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin, body: {} });
    expect(refund.statusCode, refund.body).toBe(200);
    // Audited in the transaction that queues: no row, nothing queued.
    const resendsOf = async () =>
      (
        await dataSourceOf(relay).query(
          `SELECT count(*)::int AS n FROM admin_audit_log WHERE action = 'ticket.resend' AND subject_id = $1`,
          [purchaseId],
        )
      )[0].n as number;
    expect(await resendsOf()).toBe(2);
    for (const ticket of tickets) {
      const canceled = await call('POST', `/admin/tickets/${ticket.id}/resend`, { session: admin });
      expect(canceled.statusCode, canceled.body).toBe(409);
      expect(canceled.json().message).toMatch(/canceled/);
    }
    expect(await resendsOf()).toBe(2);
  });

  it("holds the buyer's limit under concurrency: of 6 resends at once, 3 are queued", async () => {
    const buyer = await createSession(api.app);
    const { purchaseId } = await buyTickets<TicketBody>(api, buyer, performance.id, seats(1));
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: buyer })),
    );
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([202, 202, 202, 429, 429, 429]);
    const ids = answers.filter((answer) => answer.statusCode === 202).map((answer) => answer.json().resendId as string);
    for (const id of ids) await resentMail(id);
    // Each once: three deliveries recorded, and no fourth e-mail.
    const delivered = async () =>
      (
        await dataSourceOf(relay).query(
          `SELECT count(*)::int AS n FROM email_deliveries WHERE message_id LIKE 'purchase-tickets-resent:%' AND purchase_id = $1`,
          [purchaseId],
        )
      )[0].n as number;
    await waitUntil(async () => (await delivered()) === 3, 'three deliveries recorded');
    const resentToBuyer = smtp.received.filter(
      (mail) => mail.to.includes(buyer.email) && mail.messageIdHeader.includes('purchase-tickets-resent.'),
    );
    expect(resentToBuyer).toHaveLength(3);
  });

  it('refuses a purchase not written yet (409 TicketsNotIssued, Retry-After), a canceled one (409), anyone else (404) and a body (400)', async () => {
    const buyer: TestSession = await createSession(api.app);
    const stranger = await createSession(api.app);
    const held = await hold(api.app, buyer, performance.id, seats(1));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    const purchaseId = bought.json().id as string;

    for (const [url, session] of [
      [`/purchases/${purchaseId}/tickets/resend`, buyer],
      [`/admin/purchases/${purchaseId}/resend-tickets`, admin],
    ] as const) {
      const early = await call('POST', url, { session });
      expect(early.statusCode, early.body).toBe(409);
      expect(early.json().message).toMatch(/^tickets are not issued yet; retry in \d+ s$/);
      expect(Number(early.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await call('POST', `/purchases/${purchaseId}/tickets/resend`, { session: stranger })).statusCode).toBe(404);
    expect((await call('POST', `/admin/purchases/${purchaseId}/resend-tickets`, { session: buyer })).statusCode).toBe(
      403,
    );
    const withBody = await call('POST', `/purchases/${purchaseId}/tickets/resend`, {
      session: buyer,
      body: { email: 'someone@example.com' },
    });
    expect(withBody.statusCode).toBe(400);

    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(200);
    for (const [url, session] of [
      [`/purchases/${purchaseId}/tickets/resend`, buyer],
      [`/admin/purchases/${purchaseId}/resend-tickets`, admin],
    ] as const) {
      const canceled = await call('POST', url, { session });
      expect(canceled.statusCode, canceled.body).toBe(409);
      expect(canceled.json().message).toBe(
        'purchase was canceled or refunded: its tickets admit no one, there is none to send',
      );
    }
    const queued = await dataSourceOf(relay).query(
      `SELECT count(*)::int AS n FROM email_deliveries WHERE message_id LIKE 'purchase-tickets-resent:%' AND purchase_id = $1`,
      [purchaseId],
    );
    expect(queued[0].n).toBe(0);
  });
});
