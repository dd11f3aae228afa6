import { parse } from 'csv-parse/sync';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSession, TestSession, waitUntil } from '@app/testing';
import {
  HOLD_RETENTION_MS,
  HoldStore,
  HoldSweeper,
  newIdOf,
  PaymentGateway,
  performanceKeys,
  PurchaseService,
  SalesClosedError,
  SeatReconciler,
  SeatStateStore,
} from '@app/ticketing';
import { flushPurchases, flushPurchasesAfterLoss, hold } from './purchase-helpers';
import { MailStack, purchaseMail, startMailStack } from './support/mail';
import { GatewaySpies, spyOnPaymentGateway } from './support/payments';
import { expectSeatsConsistent } from './support/races';
import { createShowOfSections } from './support/shows';

/** A show of two sections: Stalls at 1500 EUR cents a seat, Balcony at 900. */
interface Show {
  id: number;
  stalls: number[];
  balcony: number[];
}

/**
 * Comps (complimentary tickets: press, artists' guests, sponsors), `POST
 * /admin/performances/:id/comps`: an operator gives named seats to the account whose confirmed
 * address is the one given, with a note. The comp is a free purchase on the sale's own path (a
 * hold for the recipient, its purchase, the flush with tickets and the outbox, the mailer): amount
 * 0 whatever the seats cost, never charged, told apart by its note wherever money is counted.
 * Real PostgreSQL, Redis, RabbitMQ; the relay and mailer in process.
 */
describe('comps: complimentary tickets (API → flusher → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, mailer, admin, call, close } = {} as MailStack;
  let db: Client;
  let gateway: GatewaySpies;

  beforeAll(async () => {
    ({ smtp, api, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    gateway = spyOnPaymentGateway(api.app.get(PaymentGateway));
  });
  beforeEach(() => gateway.clear());
  afterAll(async () => {
    gateway?.restore();
    await db?.end();
    await mailer?.close();
    await close?.();
  });

  async function createShow(options: { salesOpenAt?: string } = {}): Promise<Show> {
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Gala Night',
      currency: 'EUR',
      performance: { startsAt: '2030-03-01T19:00:00Z', ...options },
      sections: [
        { name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 10 },
        { name: 'Balcony', grade: 'B', price: 900, rows: 1, seatsPerRow: 10 },
      ],
    });
    return { id, stalls: seats.Stalls!, balcony: seats.Balcony! };
  }

  /** A buyer's account whose address is confirmed (as a comp's recipient must be). */
  async function confirmedUser(): Promise<TestSession> {
    const session = await createSession(api.app);
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [session.id]);
    return session;
  }

  const issue = (performanceId: number, body: object, session: TestSession = admin) =>
    call('POST', `/admin/performances/${performanceId}/comps`, { body, session });

  const statusesOf = async (performanceId: number, seatIds: number[]) => {
    const items = (await call('GET', `/performances/${performanceId}/seats?limit=100`)).json().items as {
      id: number;
      status: string;
    }[];
    return seatIds.map((id) => items.find((seat) => seat.id === id)?.status);
  };

  const mailOf = (to: TestSession, what: string, purchaseId: string) => purchaseMail(smtp, to.email, what, purchaseId);

  const report = async (performanceId: number) => {
    const answer = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as { totals: Record<string, number>; sections: ({ name: string } & Record<string, number>)[] };
  };

  it('gives priced seats to the recipient at amount 0, uncharged; the recipient sees it (without the note), gets the ticket e-mail; the flush writes the note; the audit log has the issue', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const seats = [show.stalls[0], show.stalls[1], show.balcony[0]];
    const issued = await issue(show.id, {
      email: guest.email.toUpperCase(),
      seatIds: seats,
      note: 'press: Daily Planet',
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const comp = issued.json();
    expect(comp).toMatchObject({
      userId: guest.id,
      performanceId: show.id,
      seatIds: [...seats].sort((a, b) => a - b),
      amount: 0,
      currency: 'EUR',
      status: 'PAID',
      comp: true,
      compNote: 'press: Daily Planet',
    });
    expect(comp.seats.map((seat: { price: number }) => seat.price)).toEqual([0, 0, 0]);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, seats)).toEqual(['SOLD', 'SOLD', 'SOLD']);

    // The recipient's own view: a comp, the note left out; before and after the flush.
    const mine = await call('GET', `/purchases/${comp.id}`, { session: guest });
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toMatchObject({ id: comp.id, amount: 0, comp: true });
    expect(mine.json()).not.toHaveProperty('compNote');
    expect(mine.body).not.toContain('Daily Planet');
    const listed = await call('GET', '/purchases', { session: guest });
    expect(listed.json().items).toEqual([expect.objectContaining({ id: comp.id, comp: true })]);

    await flushPurchases(api.app);
    const rows = await db.query('SELECT user_id, amount, charge_id, status, comp_note FROM purchases WHERE id = $1', [
      comp.id,
    ]);
    expect(rows.rows).toEqual([
      { user_id: guest.id, amount: '0', charge_id: null, status: 'PAID', comp_note: 'press: Daily Planet' },
    ]);
    const tickets = await db.query(
      'SELECT seat_id, price, status FROM tickets WHERE purchase_id = $1 ORDER BY seat_id',
      [comp.id],
    );
    expect(tickets.rows).toEqual(
      [...seats].sort((a, b) => a - b).map((seatId) => ({ seat_id: seatId, price: 0, status: 'ACTIVE' })),
    );
    expect((await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1', [comp.id])).rows).toEqual([]);
    const flushed = await call('GET', `/purchases/${comp.id}`, { session: guest });
    expect(flushed.json()).toMatchObject({ comp: true });
    expect(flushed.json()).not.toHaveProperty('compNote');
    const forOperators = await call('GET', `/admin/purchases?performanceId=${show.id}`, { session: admin });
    expect(forOperators.json().items).toEqual([
      expect.objectContaining({ id: comp.id, comp: true, compNote: 'press: Daily Planet', userId: guest.id }),
    ]);

    // The door list (the guest list at will-call): the comp's tickets at price 0, with the note.
    const door = await call('GET', `/performances/${show.id}/attendees`, { session: admin });
    expect(door.statusCode, door.body).toBe(200);
    const [header, ...lines]: string[][] = parse(door.rawPayload, { bom: true });
    expect(
      lines.map((line) => [
        line[header.indexOf('price')],
        line[header.indexOf('holder_email')],
        line[header.indexOf('comp_note')],
      ]),
    ).toEqual(seats.map(() => ['0', guest.email, 'press: Daily Planet']));

    const mail = await mailOf(guest, 'purchase-completed', comp.id);
    // A comp is a gift, not a sale: its own wording, no amount (door trial L7).
    expect(mail.subject).toBe('Your complimentary tickets for Gala Night');
    expect(mail.text).toContain('here are your complimentary tickets for Gala Night, with the compliments of ');
    expect(mail.text).not.toMatch(/purchase|nothing charged/i);
    expect(mail.text).not.toContain('Daily Planet');

    const audit = await call('GET', `/admin/audit-log?purchaseId=${comp.id}`, { session: admin });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        action: 'comp.issue',
        actorId: admin.id,
        actorEmail: admin.email,
        subjectId: comp.id,
        details: {
          performanceId: show.id,
          recipientId: guest.id,
          recipientEmail: guest.email,
          seatIds: [...seats].sort((a, b) => a - b),
          note: 'press: Daily Planet',
        },
      }),
    ]);
    const byAction = await call('GET', `/admin/audit-log?action=comp.issue&performanceId=${show.id}`, {
      session: admin,
    });
    expect(byAction.json().items.map((row: { subjectId: string }) => row.subjectId)).toEqual([comp.id]);
  });

  it('counts comps apart from paid sales in the sales report, before and after the flush; revenue is the paid sales alone', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyer = await createSession(api.app);
    const issued = await issue(show.id, {
      email: guest.email,
      seatIds: show.stalls.slice(0, 2),
      note: 'artist guests',
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const held = await hold(api.app, buyer, show.id, [show.stalls[2]]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);

    const expected = {
      totals: expect.objectContaining({
        sold: 3,
        comps: 2,
        revenue: 1500,
        purchases: 1,
        cancellations: 0,
        compPurchases: 1,
        compCancellations: 0,
        available: 17,
      }),
      sections: [
        expect.objectContaining({ name: 'Stalls', sold: 3, comps: 2, revenue: 1500, purchases: 1, compPurchases: 1 }),
        expect.objectContaining({ name: 'Balcony', sold: 0, comps: 0, revenue: 0, purchases: 0, compPurchases: 0 }),
      ],
    };
    // Before the flush: the stream entry carries the comp's note.
    expect(await report(show.id)).toMatchObject(expected);
    await flushPurchases(api.app);
    // After: PostgreSQL's row does.
    expect(await report(show.id)).toMatchObject(expected);

    // An operator takes the comp back: it leaves `comps`, counted as a comp's cancellation.
    const canceled = await call('POST', `/admin/purchases/${issued.json().id}/refund`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(await report(show.id)).toMatchObject({
      totals: expect.objectContaining({
        sold: 1,
        comps: 0,
        revenue: 1500,
        purchases: 1,
        compPurchases: 1,
        compCancellations: 1,
      }),
    });
    const event = await db.query('SELECT event_id FROM performances WHERE id = $1', [show.id]);
    const eventReport = await call('GET', `/events/${event.rows[0].event_id}/sales`, { session: admin });
    expect(eventReport.json().totals).toMatchObject({ comps: 0, compPurchases: 1, compCancellations: 1, purchases: 1 });
  });

  it("is not its recipient's to cancel (409 CompNotCancelable, before and after the flush); an operator's refund takes it back, refunding nothing (the notice says so)", async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const first = await issue(show.id, { email: guest.email, seatIds: [show.balcony[1]], note: 'sponsor: Acme' });
    const second = await issue(show.id, { email: guest.email, seatIds: [show.balcony[2]], note: 'sponsor: Acme' });
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    const refused = {
      statusCode: 409,
      error: 'Conflict',
      message:
        'a comp is not canceled by its recipient: the box office takes it back (POST /admin/purchases/:id/refund)',
      details: { code: 'CompNotCancelable' },
    };
    // Before the flush: Redis's record refuses it.
    const early = await call('POST', `/purchases/${first.json().id}/cancel`, { session: guest });
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json()).toMatchObject(refused);
    // Confirmed first: a purchase canceled before its confirmation went out gets no notice (P5).
    await flushPurchases(api.app);
    await mailOf(guest, 'purchase-completed', first.json().id);
    // After the flush, its Redis record gone: the record read from PostgreSQL refuses it too.
    await api.app.get(Redis).del(performanceKeys(show.id).purchase(first.json().id));
    const late = await call('POST', `/purchases/${first.json().id}/cancel`, { session: guest });
    expect(late.statusCode, late.body).toBe(409);
    expect(late.json()).toMatchObject(refused);
    expect(await api.app.get(Redis).exists(performanceKeys(show.id).purchase(first.json().id))).toBe(0);
    const mine = await call('GET', `/purchases/${first.json().id}`, { session: guest });
    expect(mine.json()).toMatchObject({ status: 'PAID', comp: true });
    expect(await statusesOf(show.id, [show.balcony[1]])).toEqual(['SOLD']);

    const taken = await call('POST', `/admin/purchases/${first.json().id}/refund`, { session: admin });
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.json()).toMatchObject({ status: 'CANCELED', amount: 0, compNote: 'sponsor: Acme' });
    const refunded = await call('POST', `/admin/purchases/${second.json().id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({ status: 'CANCELED', amount: 0, compNote: 'sponsor: Acme' });
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, [show.balcony[1], show.balcony[2]])).toEqual(['AVAILABLE', 'AVAILABLE']);

    await flushPurchases(api.app);
    const notice = await mailOf(guest, 'purchase-canceled', first.json().id);
    expect(notice.text).toContain('there is nothing to refund');
    const owed = await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = ANY($1::uuid[])', [
      [first.json().id, second.json().id],
    ]);
    expect(owed.rows).toEqual([]);
  });

  it('refuses a recipient with no account, or one not confirmed (404 RecipientNotFound), and bad input (400), holding nothing; only admins may issue', async () => {
    const show = await createShow();
    const seats = [show.stalls[3], show.stalls[4]];
    const nobody = await issue(show.id, { email: 'nobody@example.test', seatIds: seats, note: 'press' });
    expect(nobody.statusCode, nobody.body).toBe(404);
    expect(nobody.json()).toMatchObject({
      message:
        'no account has the address nobody@example.test: the recipient signs up first, or issue it to a guest (guest: {email, name})',
      details: { code: 'RecipientNotFound', reason: 'NO_ACCOUNT', email: 'nobody@example.test' },
    });
    const unconfirmed = await createSession(api.app);
    const notYet = await issue(show.id, { email: unconfirmed.email, seatIds: seats, note: 'press' });
    expect(notYet.statusCode, notYet.body).toBe(404);
    expect(notYet.json().details).toMatchObject({ code: 'RecipientNotFound', reason: 'NOT_CONFIRMED' });

    const guest = await confirmedUser();
    for (const body of [
      { email: guest.email, seatIds: seats },
      { email: guest.email, seatIds: seats, note: '   ' },
      { email: guest.email, seatIds: seats, note: 'x'.repeat(201) },
      { email: guest.email, seatIds: [], note: 'press' },
      { email: guest.email, seatIds: [seats[0], seats[0]], note: 'press' },
      { email: guest.email, seatIds: Array.from({ length: 21 }, (_, i) => i + 1), note: 'press' },
      { email: 'not an address', seatIds: seats, note: 'press' },
      { email: guest.email, seatIds: seats, note: 'press', amount: 5 },
    ]) {
      const refused = await issue(show.id, body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
    }
    // The list's bounds read as English, as a box office sale's do (money trial L2: "at least 1 elements").
    const empty = await issue(show.id, { email: guest.email, seatIds: [], note: 'press' });
    expect(empty.json().message).toEqual(['seatIds must have at least 1 item']);
    const many = await issue(show.id, {
      email: guest.email,
      seatIds: Array.from({ length: 21 }, (_, i) => i + 1),
      note: 'press',
    });
    expect(many.json().message).toEqual(['seatIds must have at most 20 items']);
    const user = await issue(show.id, { email: guest.email, seatIds: seats, note: 'press' }, guest);
    expect(user.statusCode).toBe(403);
    const unknownSeat = await issue(show.id, { email: guest.email, seatIds: [seats[0], 2_000_000_000], note: 'press' });
    expect(unknownSeat.statusCode, unknownSeat.body).toBe(404);
    expect(unknownSeat.json().details).toMatchObject({ seatIds: [2_000_000_000] });
    const unknownShow = await issue(2_000_000_000, { email: guest.email, seatIds: seats, note: 'press' });
    expect(unknownShow.statusCode, unknownShow.body).toBe(404);

    expect(await statusesOf(show.id, seats)).toEqual(['AVAILABLE', 'AVAILABLE']);
    const audit = await call('GET', `/admin/audit-log?action=comp.issue&performanceId=${show.id}`, { session: admin });
    expect(audit.json().items).toEqual([]);
  });

  it('refuses seats held or sold (409 naming them) and holds none of the others', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyer = await createSession(api.app);
    await hold(api.app, buyer, show.id, [show.balcony[3]]);
    const sold = await issue(show.id, { email: guest.email, seatIds: [show.balcony[4]], note: 'first' });
    expect(sold.statusCode, sold.body).toBe(201);

    const refused = await issue(show.id, {
      email: guest.email,
      seatIds: [show.balcony[3], show.balcony[4], show.balcony[5]],
      note: 'second',
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details.seatIds).toEqual([show.balcony[3], show.balcony[4]]);
    expect(refused.json().message).toContain(String(show.balcony[3]));
    expect(await statusesOf(show.id, [show.balcony[3], show.balcony[4], show.balcony[5]])).toEqual([
      'HELD',
      'SOLD',
      'AVAILABLE',
    ]);
    const guestPurchases = await call('GET', '/purchases', { session: guest });
    expect(guestPurchases.json().items.map((p: { id: string }) => p.id)).toEqual([sold.json().id]);
  });

  it('issues before the on-sale, while paused and beyond the per-buyer limit; refuses a canceled or started performance', async () => {
    const guest = await confirmedUser();
    const early = await createShow({ salesOpenAt: '2029-01-01T10:00:00Z' });
    const buyer = await createSession(api.app);
    const notOpen = await call('POST', '/reservations', {
      body: { performanceId: early.id, seatIds: [early.stalls[0]] },
      session: buyer,
    });
    expect(notOpen.statusCode, notOpen.body).toBe(403);
    // Six seats: more than a buyer may hold (MAX_SEATS_PER_RESERVATION, 4).
    const beforeSale = await issue(early.id, { email: guest.email, seatIds: early.stalls.slice(0, 6), note: 'band' });
    expect(beforeSale.statusCode, beforeSale.body).toBe(201);
    expect(beforeSale.json().seatIds).toHaveLength(6);

    const paused = await createShow();
    const patched = await call('PATCH', `/performances/${paused.id}`, { body: { status: 'PAUSED' }, session: admin });
    expect(patched.statusCode, patched.body).toBe(200);
    const whilePaused = await issue(paused.id, { email: guest.email, seatIds: [paused.stalls[0]], note: 'crew' });
    expect(whilePaused.statusCode, whilePaused.body).toBe(201);

    const canceled = await createShow();
    const cancel = await call('POST', `/admin/performances/${canceled.id}/cancel`, { body: {}, session: admin });
    expect(cancel.statusCode, cancel.body).toBe(202);
    const afterCancel = await issue(canceled.id, { email: guest.email, seatIds: [canceled.stalls[0]], note: 'crew' });
    expect(afterCancel.statusCode, afterCancel.body).toBe(409);
    expect(afterCancel.json().message).toBe(
      `performance ${canceled.id} has been canceled: no comps can be issued for it`,
    );

    const started = await createShow();
    await db.query(`UPDATE performances SET starts_at = now() - interval '1 hour' WHERE id = $1`, [started.id]);
    const afterStart = await issue(started.id, { email: guest.email, seatIds: [started.stalls[0]], note: 'crew' });
    expect(afterStart.statusCode, afterStart.body).toBe(409);
    expect(afterStart.json().message).toBe(`performance ${started.id} has started: no comps can be issued for it`);
    expect(await statusesOf(started.id, [started.stalls[0]])).toEqual(['AVAILABLE']);
  });

  it('rebuilds a performance whose live state Redis lost, keeping its sold seats, then issues', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const first = await issue(show.id, { email: guest.email, seatIds: [show.stalls[0]], note: 'before the loss' });
    expect(first.statusCode, first.body).toBe(201);
    await flushPurchases(api.app);
    await api.app.get(SeatStateStore).removePerformance(show.id);
    const again = await issue(show.id, { email: guest.email, seatIds: [show.stalls[0]], note: 'after the loss' });
    expect(again.statusCode, again.body).toBe(409);
    const other = await issue(show.id, { email: guest.email, seatIds: [show.stalls[1]], note: 'after the loss' });
    expect(other.statusCode, other.body).toBe(201);
    expect(await statusesOf(show.id, [show.stalls[0], show.stalls[1], show.stalls[2]])).toEqual([
      'SOLD',
      'SOLD',
      'AVAILABLE',
    ]);
  });

  it("a comp's hold left by an api that died before its purchase: its recipient cannot see, buy or release it, it holds nothing against their limit, and it expires freeing its seats", async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const seats = show.stalls.slice(0, 4);
    // The comp's hold step alone, as an api killed before the purchase step leaves it (a short
    // lifetime, so that it expires within the test).
    const holdId = newIdOf(show.id);
    const held = await api.app.get(HoldStore).holdComp({
      holdId,
      userId: guest.id,
      performanceId: show.id,
      seatIds: seats,
      sale: { kind: 'COMP', note: 'press: died midway' },
      lifetimeMs: 3_000,
      retentionMs: HOLD_RETENTION_MS,
    });
    expect(held).toMatchObject({ outcome: 'OK', amount: 0 });
    expect(await statusesOf(show.id, seats)).toEqual(['HELD', 'HELD', 'HELD', 'HELD']);

    // Not the recipient's to see, buy (with or without a key) or release: 404, as another's hold.
    const listed = await call('GET', '/reservations', { session: guest });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().items).toEqual([]);
    const read = await call('GET', `/reservations/${holdId}`, { session: guest });
    expect(read.statusCode, read.body).toBe(404);
    const bought = await call('POST', '/purchases', { body: { reservationId: holdId }, session: guest });
    expect(bought.statusCode, bought.body).toBe(404);
    const keyed = await call('POST', '/purchases', {
      body: { reservationId: holdId },
      session: guest,
      headers: { 'idempotency-key': 'comp-loophole' },
    });
    expect(keyed.statusCode, keyed.body).toBe(404);
    const released = await call('DELETE', `/reservations/${holdId}`, { session: guest });
    expect(released.statusCode, released.body).toBe(404);
    expect(await statusesOf(show.id, seats)).toEqual(['HELD', 'HELD', 'HELD', 'HELD']);

    // Its four seats are not the recipient's holds: they may still hold MAX_SEATS_PER_RESERVATION (4) of their own.
    const own = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: show.balcony.slice(0, 4) },
      session: guest,
    });
    expect(own.statusCode, own.body).toBe(201);
    expect((await call('GET', '/reservations', { session: guest })).json().items).toEqual([
      expect.objectContaining({ id: own.json().id }),
    ]);

    // It expires as any hold (Redis time): its seats read available at once, a buyer takes one, and
    // the sweeper frees the others and moves the counts (P3).
    await waitUntil(
      async () => (await statusesOf(show.id, seats)).every((status) => status === 'AVAILABLE'),
      "the comp's hold expired",
      15_000,
    );
    const buyer = await createSession(api.app);
    const taken = await call('POST', '/reservations', {
      body: { performanceId: show.id, seatIds: [seats[0]] },
      session: buyer,
    });
    expect(taken.statusCode, taken.body).toBe(201);
    await api.app.get(HoldSweeper).sweepOnce();
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ held: 5, sold: 0, available: 15 });
    // Nothing was sold, and no purchase is the recipient's.
    expect((await call('GET', '/purchases', { session: guest })).json().items).toEqual([]);
    const late = await call('POST', '/purchases', { body: { reservationId: holdId }, session: guest });
    expect(late.statusCode, late.body).toBe(404);
  });

  it('races buyers for the same seat: exactly one request wins each round, and a losing comp changes nothing', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyers = await Promise.all(Array.from({ length: 8 }, () => createSession(api.app)));
    const wins = { comp: 0, buyer: 0 };
    for (let round = 0; round < 10; round += 1) {
      // Each round a contested seat (Stalls) and one only the comp asks for (Balcony).
      const contested = show.stalls[round];
      const onlyComp = show.balcony[round];
      const [comp, ...holds] = await Promise.all([
        issue(show.id, { email: guest.email, seatIds: [contested, onlyComp], note: `round ${round}` }),
        ...buyers.map((buyer) =>
          call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [contested] }, session: buyer }),
        ),
      ]);
      const winners = [comp, ...holds].filter((answer) => answer.statusCode === 201);
      expect(winners, `round ${round}: ${[comp, ...holds].map((a) => a.statusCode).join(',')}`).toHaveLength(1);
      for (const loser of [comp, ...holds].filter((answer) => answer.statusCode !== 201)) {
        expect(loser.statusCode, loser.body).toBe(409);
      }
      if (comp.statusCode === 201) {
        wins.comp += 1;
        expect(await statusesOf(show.id, [contested, onlyComp])).toEqual(['SOLD', 'SOLD']);
      } else {
        wins.buyer += 1;
        expect(comp.json().details.seatIds).toEqual([contested]);
        // The loser changes nothing: the comp's other seat is still for sale.
        expect(await statusesOf(show.id, [contested, onlyComp])).toEqual(['HELD', 'AVAILABLE']);
      }
    }
    // Every round's seats add up: the comps' purchases are the rounds the comp won.
    const guestPurchases = await call('GET', '/purchases', { session: guest });
    expect(guestPurchases.json().items).toHaveLength(wins.comp);
    const performance = await call('GET', `/performances/${show.id}`);
    expect(performance.json()).toMatchObject({
      sold: 2 * wins.comp,
      held: wins.buyer,
      available: 20 - 2 * wins.comp - wins.buyer,
    });
  });

  const blockSeats = (performanceId: number, seatIds: number[]) =>
    call('POST', `/admin/performances/${performanceId}/seat-blocks`, {
      body: { seatIds, reason: 'house seats' },
      session: admin,
    });
  const blockRows = async (performanceId: number, seatIds: number[]) =>
    (
      await db.query(
        'SELECT seat_id FROM seat_blocks WHERE performance_id = $1 AND seat_id = ANY($2) ORDER BY seat_id',
        [performanceId, seatIds],
      )
    ).rows.map((row: { seat_id: number }) => row.seat_id);

  it('with includeBlocked: takes house seats out of their block into the comp with available ones in one step, their blocks deleted; a rebuild from PostgreSQL and the seat reconciler leave them sold', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyer = await createSession(api.app);
    const [house1, house2, free, held] = show.stalls;
    const blocked = await blockSeats(show.id, [house1, house2]);
    expect(blocked.statusCode, blocked.body).toBe(200);
    await hold(api.app, buyer, show.id, [held]);

    // Without the flag a blocked seat refuses the comp, as before.
    const plain = await issue(show.id, { email: guest.email, seatIds: [house1, free], note: 'house' });
    expect(plain.statusCode, plain.body).toBe(409);
    expect(plain.json().details.seatIds).toEqual([house1]);
    // With it, a held (or sold) seat still refuses it all: nothing held, no block changed.
    const withHeld = await issue(show.id, {
      email: guest.email,
      seatIds: [house1, held],
      note: 'house',
      includeBlocked: true,
    });
    expect(withHeld.statusCode, withHeld.body).toBe(409);
    expect(withHeld.json().details.seatIds).toEqual([held]);
    expect(await statusesOf(show.id, [house1, house2, free, held])).toEqual([
      'BLOCKED',
      'BLOCKED',
      'AVAILABLE',
      'HELD',
    ]);
    expect(await blockRows(show.id, [house1, house2])).toEqual([house1, house2]);
    const badFlag = await issue(show.id, {
      email: guest.email,
      seatIds: [house1],
      note: 'house',
      includeBlocked: 'yes',
    });
    expect(badFlag.statusCode, badFlag.body).toBe(400);

    // A comp whose purchase step fails under the row lock: its house seats go back to their block
    // (Redis and the rows, rolled back), the free one back on sale; no audit row.
    const failing = vi
      .spyOn(api.app.get(PurchaseService), 'purchaseOperatorHold')
      .mockRejectedValueOnce(new SalesClosedError('CANCELED'));
    const failed = await issue(show.id, {
      email: guest.email,
      seatIds: [house1, free],
      note: 'house',
      includeBlocked: true,
    });
    failing.mockRestore();
    expect(failed.statusCode, failed.body).toBe(409);
    expect(await statusesOf(show.id, [house1, house2, free])).toEqual(['BLOCKED', 'BLOCKED', 'AVAILABLE']);
    expect(await blockRows(show.id, [house1, house2])).toEqual([house1, house2]);
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ held: 1, blocked: 2, sold: 0 });

    const issued = await issue(show.id, {
      email: guest.email,
      seatIds: [house1, house2, free],
      note: 'artist guests',
      includeBlocked: true,
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const comp = issued.json();
    expect(comp).toMatchObject({ amount: 0, comp: true, seatIds: [house1, house2, free] });
    expect(await statusesOf(show.id, [house1, house2, free])).toEqual(['SOLD', 'SOLD', 'SOLD']);
    expect(await blockRows(show.id, [house1, house2])).toEqual([]);
    const listed = await call('GET', `/admin/performances/${show.id}/seat-blocks`, { session: admin });
    expect(listed.json().items).toEqual([]);
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ sold: 3, held: 1, blocked: 0 });

    // The audit log: the blocks' release by the comp (in its transaction), then the issue naming them.
    const block = (seatId: number) => ({
      seatId,
      reason: 'house seats',
      blockedBy: { id: admin.id, email: admin.email },
      blockedAt: expect.any(String),
    });
    const issues = await call('GET', `/admin/audit-log?purchaseId=${comp.id}`, { session: admin });
    expect(issues.json().items).toEqual([
      expect.objectContaining({
        action: 'comp.issue',
        details: expect.objectContaining({
          seatIds: [house1, house2, free],
          includeBlocked: true,
          fromBlocks: [block(house1), block(house2)],
        }),
      }),
    ]);
    const releases = await call('GET', `/admin/audit-log?performanceId=${show.id}&action=seat.release`, {
      session: admin,
    });
    expect(releases.json().items).toEqual([
      expect.objectContaining({
        actorId: admin.id,
        subjectId: `performance:${show.id}`,
        details: {
          performanceId: show.id,
          seatIds: [house1, house2],
          cause: 'comp',
          purchaseId: comp.id,
          blocks: [block(house1), block(house2)],
        },
      }),
    ]);

    // Nothing puts the block back or the seats on sale: the seat reconciler before and after the
    // flush, and a rebuild of the performance from PostgreSQL after Redis lost it.
    const reconciler = api.app.get(SeatReconciler);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
    // (Another test's performance lost its stream to a Redis loss: the flusher's first pass says so.)
    await flushPurchasesAfterLoss(api.app);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
    await api.app.get(SeatStateStore).removePerformance(show.id);
    expect(await statusesOf(show.id, [house1, house2, free])).toEqual(['SOLD', 'SOLD', 'SOLD']);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
    expect(await blockRows(show.id, [house1, house2])).toEqual([]);
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ sold: 3, blocked: 0 });
  });

  it('with includeBlocked, races a release of the same house seat and buyers: the comp or one buyer gets it, never both, and no block is left behind', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyers = await Promise.all(Array.from({ length: 6 }, () => createSession(api.app)));
    const wins = { comp: 0, buyer: 0 };
    for (let round = 0; round < 10; round += 1) {
      const seat = show.stalls[round];
      const blocked = await blockSeats(show.id, [seat]);
      expect(blocked.statusCode, blocked.body).toBe(200);
      const release = () =>
        call('POST', `/admin/performances/${show.id}/seat-blocks/release`, {
          body: { seatIds: [seat] },
          session: admin,
        });
      const buy = () =>
        Promise.all(
          buyers.map((buyer) =>
            call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [seat] }, session: buyer }),
          ),
        );
      const compIt = () =>
        issue(show.id, { email: guest.email, seatIds: [seat], note: `round ${round}`, includeBlocked: true });
      // Even rounds: the comp races the release (then the buyers); odd ones: the release is done
      // and the comp races the buyers for the seat back on sale.
      const [comp, [released, ...holds]] =
        round % 2 === 0
          ? await Promise.all([compIt(), release().then(async (answer) => [answer, ...(await buy())])])
          : await release().then(async (answer) => {
              const [compAnswer, attempts] = await Promise.all([compIt(), buy()]);
              return [compAnswer, [answer, ...attempts]] as const;
            });
      expect(released.statusCode, released.body).toBe(200);
      const won = holds.filter((answer) => answer.statusCode === 201);
      const summary = `round ${round}: comp ${comp.statusCode}, holds ${holds.map((a) => a.statusCode).join(',')}`;
      for (const lost of holds.filter((answer) => answer.statusCode !== 201))
        expect(lost.statusCode, summary).toBe(409);
      if (comp.statusCode === 201) {
        wins.comp += 1;
        expect(won, summary).toHaveLength(0);
        expect(await statusesOf(show.id, [seat])).toEqual(['SOLD']);
        // The release found the block gone (the comp took it) or released it before the comp took the seat.
        expect([...released.json().released, ...released.json().notBlocked]).toEqual([seat]);
      } else {
        wins.buyer += 1;
        expect(comp.statusCode, comp.body).toBe(409);
        expect(won, summary).toHaveLength(1);
        expect(released.json().released).toEqual([seat]);
        expect(await statusesOf(show.id, [seat])).toEqual(['HELD']);
        // Its seat goes on to the next round's buyers' limit otherwise: let it go.
        const winner = buyers[holds.indexOf(won[0])];
        const freed = await call('DELETE', `/reservations/${won[0].json().id}`, { session: winner });
        expect(freed.statusCode, freed.body).toBe(204);
      }
      expect(await blockRows(show.id, [seat])).toEqual([]);
    }
    expect(wins.comp + wins.buyer).toBe(10);
    const guestPurchases = await call('GET', '/purchases', { session: guest });
    expect(guestPurchases.json().items).toHaveLength(wins.comp);
    expect((await call('GET', `/performances/${show.id}`)).json()).toMatchObject({ sold: wins.comp, blocked: 0 });
  });

  /** The blocks of `seatIds` as `seat_blocks` has them: seat, reason, who blocked it. */
  const blockDetails = async (performanceId: number, seatIds: number[]) =>
    (
      await db.query(
        `SELECT seat_id, reason, blocked_by_email FROM seat_blocks
          WHERE performance_id = $1 AND seat_id = ANY($2) ORDER BY seat_id`,
        [performanceId, seatIds],
      )
    ).rows;
  const lentRows = async (performanceId: number) =>
    (
      await db.query('SELECT seat_id FROM comp_house_seats WHERE performance_id = $1 ORDER BY seat_id', [performanceId])
    ).rows.map((row: { seat_id: number }) => row.seat_id);
  const refundOf = (purchaseId: string, body: object = {}) =>
    call('POST', `/admin/purchases/${purchaseId}/refund`, { body, session: admin });

  it('with includeBlocked: a house seat goes back to its block (its reason kept), not on sale, when an operator refunds the comp, whole or in part, before and after the flush; its recipient cannot cancel it; the seat reconciler repairs nothing', async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const [house1, house2, house3, free1, free2] = show.stalls;
    const houseSeats = [house1, house2, house3];
    expect((await blockSeats(show.id, houseSeats)).statusCode).toBe(200);
    const a = await issue(show.id, {
      email: guest.email,
      seatIds: [house1, house2, free1],
      note: 'artist guests',
      includeBlocked: true,
    });
    const b = await issue(show.id, {
      email: guest.email,
      seatIds: [house3, free2],
      note: 'press',
      includeBlocked: true,
    });
    expect([a.statusCode, b.statusCode], `${a.body} ${b.body}`).toEqual([201, 201]);
    expect(await lentRows(show.id)).toEqual(houseSeats);
    const reconciler = api.app.get(SeatReconciler);

    // The recipient cannot cancel it: nothing changes.
    const selfCancel = await call('POST', `/purchases/${b.json().id}/cancel`, { session: guest });
    expect(selfCancel.statusCode, selfCancel.body).toBe(409);
    expect(selfCancel.json().details).toEqual({ code: 'CompNotCancelable' });
    expect(await statusesOf(show.id, [house3, free2])).toEqual(['SOLD', 'SOLD']);

    // Before the flush, a whole refund: the house seat is BLOCKED at once, the other on sale; until
    // the flush writes the cancellation (and the block back) the seat reconciler leaves it blocked.
    const early = await refundOf(b.json().id);
    expect(early.statusCode, early.body).toBe(200);
    expect(await statusesOf(show.id, [house3, free2])).toEqual(['BLOCKED', 'AVAILABLE']);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
    expect(await statusesOf(show.id, [house3, free2])).toEqual(['BLOCKED', 'AVAILABLE']);
    await flushPurchasesAfterLoss(api.app);
    expect(await blockDetails(show.id, [house3])).toEqual([
      { seat_id: house3, reason: 'house seats', blocked_by_email: admin.email },
    ]);
    expect(await lentRows(show.id)).toEqual([house1, house2]);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);

    // After the flush, a partial refund of one house seat: back to its block, in Redis and PostgreSQL.
    const partial = await refundOf(a.json().id, { seatIds: [house1] });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(await statusesOf(show.id, [house1, house2, free1])).toEqual(['BLOCKED', 'SOLD', 'SOLD']);
    expect(await blockDetails(show.id, [house1])).toEqual([
      { seat_id: house1, reason: 'house seats', blocked_by_email: admin.email },
    ]);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);

    // Its Redis record gone (expired after the flush): the whole refund of the rest, from PostgreSQL's record.
    await api.app.get(Redis).del(performanceKeys(show.id).purchase(a.json().id));
    const rest = await refundOf(a.json().id);
    expect(rest.statusCode, rest.body).toBe(200);
    expect(await statusesOf(show.id, [house1, house2, free1])).toEqual(['BLOCKED', 'BLOCKED', 'AVAILABLE']);
    await flushPurchasesAfterLoss(api.app);
    expect(await blockDetails(show.id, houseSeats)).toEqual(
      houseSeats.map((seat_id) => ({ seat_id, reason: 'house seats', blocked_by_email: admin.email })),
    );
    expect(await lentRows(show.id)).toEqual([]);
    const listed = await call('GET', `/admin/performances/${show.id}/seat-blocks`, { session: admin });
    expect(listed.json().items.map((item: { seatId: number; reason: string }) => [item.seatId, item.reason])).toEqual(
      houseSeats.map((seat) => [seat, 'house seats']),
    );
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
    await expectSeatsConsistent(api, db, show.id);
    // A rebuild from PostgreSQL after Redis lost the performance agrees.
    await api.app.get(SeatStateStore).removePerformance(show.id);
    expect(await statusesOf(show.id, [...houseSeats, free1, free2])).toEqual([
      'BLOCKED',
      'BLOCKED',
      'BLOCKED',
      'AVAILABLE',
      'AVAILABLE',
    ]);
    expect((await reconciler.reconcilePerformance(show.id)).repairs).toEqual([]);
  });

  it("with includeBlocked, races the comp's refund against buyers trying its house seat: no buyer ever gets it, it ends back in its block", async () => {
    const show = await createShow();
    const guest = await confirmedUser();
    const buyers = await Promise.all(Array.from({ length: 6 }, () => createSession(api.app)));
    for (let round = 0; round < 6; round += 1) {
      const seat = show.balcony[round];
      expect((await blockSeats(show.id, [seat])).statusCode).toBe(200);
      const comp = await issue(show.id, {
        email: guest.email,
        seatIds: [seat],
        note: `round ${round}`,
        includeBlocked: true,
      });
      expect(comp.statusCode, comp.body).toBe(201);
      // Odd rounds: flushed first, so the refund writes PostgreSQL at once.
      if (round % 2 === 1) await flushPurchasesAfterLoss(api.app);
      const [refunded, ...holds] = await Promise.all([
        refundOf(comp.json().id),
        ...buyers.map((buyer) =>
          call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [seat] }, session: buyer }),
        ),
      ]);
      expect(refunded.statusCode, refunded.body).toBe(200);
      expect(
        holds.map((answer) => answer.statusCode),
        `round ${round}`,
      ).toEqual(buyers.map(() => 409));
      expect(await statusesOf(show.id, [seat])).toEqual(['BLOCKED']);
      const late = await call('POST', '/reservations', {
        body: { performanceId: show.id, seatIds: [seat] },
        session: buyers[0],
      });
      expect(late.statusCode, late.body).toBe(409);
    }
    await flushPurchasesAfterLoss(api.app);
    expect(await blockRows(show.id, show.balcony.slice(0, 6))).toEqual(show.balcony.slice(0, 6));
    expect((await api.app.get(SeatReconciler).reconcilePerformance(show.id)).repairs).toEqual([]);
    await expectSeatsConsistent(api, db, show.id);
  });

  it('is an admin route of the OpenAPI document', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const operation = document.paths['/api/v1/admin/performances/{id}/comps']?.post;
    expect(Object.keys(operation?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '403', '404', '409']),
    );
    expect(operation.requestBody.content['application/json'].schema.$ref).toMatch(/CompCreateDto$/);
  });
});
