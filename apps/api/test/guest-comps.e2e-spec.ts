import { parse } from 'csv-parse/sync';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, MockInstance, vi } from 'vitest';
import { createSession, ReceivedEmail, TestSession, waitForValue } from '@app/testing';
import { PerformanceReschedulesRepository } from '@app/database';
import { PaymentGateway, RescheduleNotices, TicketCodes } from '@app/ticketing';
import { doorsOpenNow, flushPurchases } from './purchase-helpers';
import { createStaffSession } from './support/door';
import { MailStack, movePerformance, startMailStack } from './support/mail';
import { expectSeatsConsistent } from './support/races';
import { createDoorsOpenShow } from './support/shows';

/** A show whose doors are open now (comps may still be issued: it has not started). */
interface Show {
  id: number;
  stalls: number[];
}

/** The fields of a guest comp's answer the tests read. */
interface GuestComp {
  id: string;
  reservationId: string;
  userId: string;
  seatIds: number[];
}

const GUEST = { email: 'Lois.Lane@DailyPlanet.example', name: 'Lois Lane' };
const GUEST_ADDRESS = 'lois.lane@dailyplanet.example';

/**
 * Guest comps (`POST /admin/performances/:id/comps` with `guest: {email, name}`): comps to someone
 * without an account, stored as a walk-up's window sale is (under the issuing operator's account,
 * the venue's, with the guest as delivery address), e-mailed to the guest, scanned at the door with
 * the guest as holder, on the door list with the note, counted as comps, taken back by an operator
 * (house seats back to their block). Real PostgreSQL, Redis, RabbitMQ; the relay and mailer in
 * process, a test SMTP server.
 */
describe('guest comps: comps to people without an account (API → flusher → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, mailer, admin, call, close } = {} as MailStack;
  let db: Client;
  let door: TestSession;
  let charge: MockInstance<PaymentGateway['charge']>;
  let shows = 0;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    door = await createStaffSession(api.app, admin, 'door-guest-comps@example.test', 'Door');
    charge = vi.spyOn(api.app.get(PaymentGateway), 'charge');
  });
  afterAll(async () => {
    charge?.mockRestore();
    await db?.end();
    await mailer?.close();
    await close?.();
  });

  async function createShow(performance: Record<string, unknown> = {}): Promise<Show> {
    shows += 1;
    const { id, seats } = await createDoorsOpenShow(call, admin, {
      title: `Guest Night ${shows}`,
      currency: 'EUR',
      performance,
      sections: [{ name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 12 }],
    });
    return { id, stalls: seats.Stalls! };
  }

  const issue = (performanceId: number, body: unknown, session: TestSession = admin) =>
    call('POST', `/admin/performances/${performanceId}/comps`, { body: body as object, session });

  async function issueGuestComp(performanceId: number, seatIds: number[], extra: object = {}): Promise<GuestComp> {
    const issued = await issue(performanceId, { guest: GUEST, seatIds, note: 'press: Daily Planet', ...extra });
    expect(issued.statusCode, issued.body).toBe(201);
    return issued.json() as GuestComp;
  }

  const statusesOf = async (performanceId: number, seatIds: number[]) => {
    const items = (await call('GET', `/performances/${performanceId}/seats?limit=100`)).json().items as {
      id: number;
      status: string;
    }[];
    return seatIds.map((id) => items.find((seat) => seat.id === id)?.status);
  };

  const mailOf = (address: string, what: string, purchaseId: string): Promise<ReceivedEmail> =>
    waitForValue(
      () =>
        smtp.received.find(
          (mail) => mail.to.includes(address) && mail.messageIdHeader.includes(`${what}.${purchaseId}`),
        ),
      `the ${what} e-mail of purchase ${purchaseId} to ${address}`,
      { timeoutMs: 30_000 },
    );

  /** The signed codes of a written purchase's tickets (what its e-mail carries), by seat id. */
  async function codesOf(purchaseId: string): Promise<{ seatId: number; code: string }[]> {
    const rows = await db.query(
      `SELECT id::text AS id, performance_id, seat_id, code_version FROM tickets WHERE purchase_id = $1 ORDER BY seat_id`,
      [purchaseId],
    );
    const codes = api.app.get(TicketCodes);
    return rows.rows.map((row: { id: string; performance_id: number; seat_id: number; code_version: number }) => ({
      seatId: row.seat_id,
      code: codes.sign({
        ticketId: row.id,
        purchaseId,
        performanceId: row.performance_id,
        seatId: row.seat_id,
        codeVersion: row.code_version,
      }),
    }));
  }

  /** The door list's lines of a performance, as objects by header. */
  async function doorList(performanceId: number): Promise<Record<string, string>[]> {
    const answer = await call('GET', `/performances/${performanceId}/attendees`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    const [header, ...lines]: string[][] = parse(answer.rawPayload, { bom: true });
    return lines.map((line) => Object.fromEntries(header.map((name, i) => [name, line[i]])));
  }

  /** The operator's own buyer routes leave the comp out: lists without it, its ids 404. */
  async function expectHiddenFromOperator(comp: GuestComp, when: string): Promise<void> {
    const purchases = await call('GET', '/purchases?limit=100', { session: admin });
    expect(purchases.statusCode, when).toBe(200);
    expect(
      purchases.json().items.map((item: { id: string }) => item.id),
      when,
    ).not.toContain(comp.id);
    const tickets = await call('GET', '/tickets?limit=100', { session: admin });
    expect(tickets.statusCode, when).toBe(200);
    expect(
      tickets.json().items.map((item: { purchaseId: string }) => item.purchaseId),
      when,
    ).not.toContain(comp.id);
    for (const [method, url] of [
      ['GET', `/purchases/${comp.id}`],
      ['GET', `/purchases/${comp.id}/tickets`],
      ['POST', `/purchases/${comp.id}/tickets/resend`],
      ['POST', `/purchases/${comp.id}/cancel`],
      ['GET', `/reservations/${comp.reservationId}`],
    ] as const) {
      const answer = await call(method, url, { session: admin });
      expect(answer.statusCode, `${when}: ${method} ${url} → ${answer.body}`).toBe(404);
    }
  }

  it("issues to a guest without an account: the venue's, hidden from the operator's own routes, e-mailed to the guest, scanned with the guest as holder, on the door list with the note, counted as a comp, audited", async () => {
    const show = await createShow();
    const seats = [show.stalls[0], show.stalls[1]];
    charge.mockClear();
    const issued = await issue(show.id, { guest: GUEST, seatIds: seats, note: 'press: Daily Planet' });
    expect(issued.statusCode, issued.body).toBe(201);
    const comp = issued.json();
    expect(comp).toMatchObject({
      userId: admin.id,
      soldBy: admin.id,
      seatIds: seats,
      amount: 0,
      status: 'PAID',
      comp: true,
      compNote: 'press: Daily Planet',
      saleChannel: 'BOX_OFFICE',
      paymentMethod: null,
      deliveryEmail: GUEST_ADDRESS,
      deliveryName: 'Lois Lane',
    });
    expect(charge).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, seats)).toEqual(['SOLD', 'SOLD']);
    await expectHiddenFromOperator(comp, 'before the flush');

    await flushPurchases(api.app);
    const row = await db.query(
      'SELECT user_id, amount, charge_id, comp_note, sale_channel, payment_method, delivery_email, delivery_name FROM purchases WHERE id = $1',
      [comp.id],
    );
    expect(row.rows).toEqual([
      {
        user_id: admin.id,
        amount: '0',
        charge_id: null,
        comp_note: 'press: Daily Planet',
        sale_channel: 'BOX_OFFICE',
        payment_method: null,
        delivery_email: GUEST_ADDRESS,
        delivery_name: 'Lois Lane',
      },
    ]);
    await expectHiddenFromOperator(comp, 'after the flush');

    // The tickets go to the guest, addressed to the name, with the codes; nothing to the operator.
    const codes = await codesOf(comp.id);
    expect(codes.map((ticket) => ticket.seatId)).toEqual(seats);
    const mail = await mailOf(GUEST_ADDRESS, 'purchase-completed', comp.id);
    expect(mail.text).toContain('Lois Lane');
    // A gift, not a sale: no thanks for a purchase, no amount (door trial L7).
    expect(mail.subject).toMatch(/^Your complimentary tickets for Guest Night \d+$/);
    expect(mail.text).toMatch(/here are your complimentary tickets for Guest Night \d+, with the compliments of /);
    expect(mail.text).not.toMatch(/purchase|Amount|nothing charged/i);
    expect(mail.text).not.toContain('Daily Planet');
    for (const ticket of codes) expect(mail.text).toContain(ticket.code);
    expect(smtp.received.filter((received) => received.to.includes(admin.email))).toEqual([]);

    // The door admits the guest, once, and names the guest as holder.
    const scanned = await call('POST', '/check-in', {
      body: { code: codes[0].code, performanceId: show.id },
      session: door,
    });
    expect(scanned.statusCode, scanned.body).toBe(200);
    expect(scanned.json()).toMatchObject({
      purchaseId: comp.id,
      holder: { name: 'Lois Lane', email: GUEST_ADDRESS },
    });
    const again = await call('POST', '/check-in', {
      body: { code: codes[0].code, performanceId: show.id },
      session: door,
    });
    expect(again.statusCode, again.body).toBe(409);

    // The door list: the guest as buyer and holder, the note, price 0, the scan.
    const lines = (await doorList(show.id)).filter((line) => line.purchase_id === comp.id);
    expect(
      lines.map((line) => [
        line.seat,
        line.price,
        line.buyer_email,
        line.buyer_name,
        line.holder_email,
        line.holder_name,
        line.comp_note,
        line.checked_in_at !== '',
      ]),
    ).toEqual([
      ['1', '0', GUEST_ADDRESS, 'Lois Lane', GUEST_ADDRESS, 'Lois Lane', 'press: Daily Planet', true],
      ['2', '0', GUEST_ADDRESS, 'Lois Lane', GUEST_ADDRESS, 'Lois Lane', 'press: Daily Planet', false],
    ]);
    expect(JSON.stringify(lines)).not.toContain(admin.email);

    // Operators find it by the guest's address; the report counts it as a comp, not money, not a window sale.
    const found = await call('GET', `/admin/purchases?email=${encodeURIComponent(GUEST.email)}`, { session: admin });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().items.map((item: { id: string }) => item.id)).toContain(comp.id);
    const report = await call('GET', `/performances/${show.id}/sales`, { session: admin });
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json().totals).toMatchObject({
      sold: 2,
      comps: 2,
      compPurchases: 1,
      purchases: 0,
      revenue: 0,
      boxOfficePurchases: 0,
      boxOfficeRevenue: 0,
    });

    const audit = await call('GET', `/admin/audit-log?purchaseId=${comp.id}`, { session: admin });
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        action: 'comp.issue',
        actorId: admin.id,
        subjectId: comp.id,
        details: {
          performanceId: show.id,
          recipientId: null,
          recipientEmail: GUEST_ADDRESS,
          guest: { email: GUEST_ADDRESS, name: 'Lois Lane' },
          seatIds: seats,
          note: 'press: Daily Planet',
        },
      }),
    ]);
  });

  it('is taken back by an operator: house seats back to their block, the others on sale, the notice to the guest, the codes refused at the door, off the door list', async () => {
    const show = await createShow();
    const [house, free] = show.stalls;
    const blocked = await call('POST', `/admin/performances/${show.id}/seat-blocks`, {
      body: { seatIds: [house], reason: 'house seats' },
      session: admin,
    });
    expect(blocked.statusCode, blocked.body).toBe(200);
    const comp = await issueGuestComp(show.id, [house, free], { includeBlocked: true });
    expect(await statusesOf(show.id, [house, free])).toEqual(['SOLD', 'SOLD']);
    await flushPurchases(api.app);
    const codes = await codesOf(comp.id);
    await mailOf(GUEST_ADDRESS, 'purchase-completed', comp.id);

    // Its owner (the operator, as a buyer) cannot cancel it; an operator's refund takes it back.
    const asBuyer = await call('POST', `/purchases/${comp.id}/cancel`, { session: admin });
    expect(asBuyer.statusCode, asBuyer.body).toBe(404);
    const refunded = await call('POST', `/admin/purchases/${comp.id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({ status: 'CANCELED', refundMethod: null, deliveryEmail: GUEST_ADDRESS });
    expect(await statusesOf(show.id, [house, free])).toEqual(['BLOCKED', 'AVAILABLE']);
    await flushPurchases(api.app);
    const blocks = await db.query('SELECT seat_id, reason FROM seat_blocks WHERE performance_id = $1', [show.id]);
    expect(blocks.rows).toEqual([{ seat_id: house, reason: 'house seats' }]);

    const notice = await mailOf(GUEST_ADDRESS, 'purchase-canceled', comp.id);
    expect(notice.text).toContain('Lois Lane');
    const scanned = await call('POST', '/check-in', {
      body: { code: codes[1].code, performanceId: show.id },
      session: door,
    });
    expect(scanned.statusCode, scanned.body).toBe(409);
    expect(scanned.json().message).toMatch(/cancel/i);
    expect((await doorList(show.id)).filter((line) => line.purchase_id === comp.id)).toEqual([]);
    await expectSeatsConsistent(api, db, show.id);
  });

  it('tells the guest of a moved show to tell the box office if they cannot come, never to cancel (they have no account)', async () => {
    const show = await createShow();
    const comp = await issueGuestComp(show.id, [show.stalls[6]]);
    await flushPurchases(api.app);
    await mailOf(GUEST_ADDRESS, 'purchase-completed', comp.id);
    const { startsAt } = doorsOpenNow();
    const moveId = await movePerformance(api, admin, show.id, new Date(startsAt.getTime() + 7 * 24 * 3_600_000));
    const notices = new RescheduleNotices(api.app.get(PerformanceReschedulesRepository));
    while ((await notices.queueOnce(1)) !== null);
    const notice = await mailOf(GUEST_ADDRESS, `performance-rescheduled.${moveId}`, comp.id);
    expect(notice.text).toContain('Lois Lane');
    expect(notice.text).toContain(
      'If you cannot come then, tell the box office, so that your seats can go to someone else.',
    );
    expect(notice.text).not.toContain('you may cancel');
    expect(smtp.received.filter((received) => received.to.includes(admin.email))).toEqual([]);
  });

  it("counts a guest comp's seats in no one's maxTicketsPerBuyer: the issuing operator buys up to the limit online, and its refund frees none of the operator's own", async () => {
    const show = await createShow({ maxTicketsPerBuyer: 2 });
    const comp = await issueGuestComp(show.id, show.stalls.slice(0, 3));
    const holdAsOperator = (seatIds: number[]) =>
      call('POST', '/reservations', { body: { performanceId: show.id, seatIds }, session: admin });
    // The comp's 3 seats are not the operator's: its own 2 are within the limit.
    const own = await holdAsOperator([show.stalls[3], show.stalls[4]]);
    expect(own.statusCode, own.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: own.json().id }, session: admin });
    expect(bought.statusCode, bought.body).toBe(201);
    await flushPurchases(api.app);
    // Taking back the comp's seats (part, then the rest) leaves the operator's own count at 2.
    const part = await call('POST', `/admin/purchases/${comp.id}/refund`, {
      body: { seatIds: [show.stalls[0]] },
      session: admin,
    });
    expect(part.statusCode, part.body).toBe(200);
    const afterPart = await holdAsOperator([show.stalls[5]]);
    expect(afterPart.statusCode, afterPart.body).toBe(409);
    const rest = await call('POST', `/admin/purchases/${comp.id}/refund`, { session: admin });
    expect(rest.statusCode, rest.body).toBe(200);
    const afterRest = await holdAsOperator([show.stalls[5]]);
    expect(afterRest.statusCode, afterRest.body).toBe(409);
    expect(afterRest.json().message).toMatch(/at most 2 tickets/);
  });

  it("takes an address an account has (confirmed or not) as the guest's: the comp is not that account's", async () => {
    const show = await createShow();
    const holder = await createSession(api.app);
    const issued = await issue(show.id, {
      guest: { email: holder.email.toUpperCase(), name: 'Plus One' },
      seatIds: [show.stalls[3]],
      note: 'band guest',
    });
    expect(issued.statusCode, issued.body).toBe(201);
    expect(issued.json()).toMatchObject({ userId: admin.id, deliveryEmail: holder.email.toLowerCase() });
    const theirs = await call('GET', '/purchases', { session: holder });
    expect(theirs.json().items).toEqual([]);
    // The account form still refuses it, and says how to issue it instead.
    const refused = await issue(show.id, { email: holder.email, seatIds: [show.stalls[4]], note: 'band guest' });
    expect(refused.statusCode, refused.body).toBe(404);
    expect(refused.json().details).toMatchObject({ code: 'RecipientNotFound', reason: 'NOT_CONFIRMED' });
    expect(refused.json().message).toContain('guest');
  });

  it('refuses a bad guest at the edge with the uniform 400 body, holding nothing', async () => {
    const show = await createShow();
    const seatIds = [show.stalls[5]];
    const note = 'press';
    for (const body of [
      { seatIds, note },
      { email: 'someone@example.test', guest: GUEST, seatIds, note },
      { guest: { email: 'not-an-address', name: 'X' }, seatIds, note },
      { guest: { email: 'two words@example.test', name: 'X' }, seatIds, note },
      { guest: { email: 'zero\u200bwidth@example.test', name: 'X' }, seatIds, note },
      { guest: { email: '', name: 'X' }, seatIds, note },
      { guest: { name: 'X' }, seatIds, note },
      { guest: { email: 'guest@example.test' }, seatIds, note },
      { guest: { email: 'guest@example.test', name: '' }, seatIds, note },
      { guest: { email: 'guest@example.test', name: '   ' }, seatIds, note },
      { guest: { email: 'guest@example.test', name: 'x'.repeat(201) }, seatIds, note },
      { guest: { email: 'guest@example.test', name: 'bell\u0007' }, seatIds, note },
      { guest: { email: 'guest@example.test', name: 7 }, seatIds, note },
      { guest: { email: 'guest@example.test', name: 'X', role: 'ADMIN' }, seatIds, note },
      { guest: 'guest@example.test', seatIds, note },
      { guest: ['guest@example.test'], seatIds, note },
      { guest: null, seatIds, note },
      { email: null, seatIds, note },
      { guest: GUEST, seatIds, note: '' },
      { guest: GUEST, seatIds: [], note },
    ]) {
      const refused = await issue(show.id, body);
      const what = `${JSON.stringify(body)} → ${refused.body}`;
      expect(refused.statusCode, what).toBe(400);
      expect(Object.keys(refused.json()).sort(), what).toEqual(
        ['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort(),
      );
      expect(refused.json(), what).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    expect(await statusesOf(show.id, seatIds)).toEqual(['AVAILABLE']);
    const forbidden = await issue(show.id, { guest: GUEST, seatIds, note }, door);
    expect(forbidden.statusCode, forbidden.body).toBe(403);
  });

  it('races buyers for the same seat: exactly one request wins each round; a losing guest comp holds nothing', async () => {
    const show = await createShow();
    const buyers = await Promise.all(Array.from({ length: 6 }, () => createSession(api.app)));
    const wins = { comp: 0, buyer: 0 };
    const won: GuestComp[] = [];
    for (let round = 0; round < 5; round += 1) {
      const contested = show.stalls[2 * round];
      const onlyComp = show.stalls[2 * round + 1];
      const [comp, ...holds] = await Promise.all([
        issue(show.id, { guest: GUEST, seatIds: [contested, onlyComp], note: `round ${round}` }),
        ...buyers.map((buyer) =>
          call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [contested] }, session: buyer }),
        ),
      ]);
      const answers = [comp, ...holds];
      const winners = answers.filter((answer) => answer.statusCode === 201);
      expect(winners, `round ${round}: ${answers.map((a) => a.statusCode).join(',')}`).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.statusCode !== 201)) {
        expect(loser.statusCode, loser.body).toBe(409);
      }
      if (comp.statusCode === 201) {
        wins.comp += 1;
        won.push(comp.json());
        expect(await statusesOf(show.id, [contested, onlyComp])).toEqual(['SOLD', 'SOLD']);
      } else {
        wins.buyer += 1;
        expect(comp.json().details.seatIds).toEqual([contested]);
        expect(await statusesOf(show.id, [contested, onlyComp])).toEqual(['HELD', 'AVAILABLE']);
      }
    }
    const performance = await call('GET', `/performances/${show.id}`);
    expect(performance.json()).toMatchObject({ sold: 2 * wins.comp, held: wins.buyer });
    await flushPurchases(api.app);
    const rows = await db.query(
      `SELECT count(*)::int AS n FROM purchases WHERE performance_id = $1 AND sale_channel = 'BOX_OFFICE' AND comp_note IS NOT NULL`,
      [show.id],
    );
    expect(rows.rows[0].n).toBe(wins.comp);
    for (const comp of won) await expectHiddenFromOperator(comp, 'a race winner');
  });
});
