import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { HOLD_RETENTION_MS, HoldStore, newIdOf, PaymentGateway } from '@app/ticketing';
import { flushPurchases, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { GatewaySpies, spyOnPaymentGateway } from './support/payments';
import { createDoorsOpenShow } from './support/shows';

/** A show of two sections: Stalls at 1500 EUR cents a seat, Balcony at 900; its doors are open now. */
interface Show {
  id: number;
  stalls: number[];
  balcony: number[];
}

interface SaleBody {
  id: string;
  userId: string;
  seatIds: number[];
  amount: number;
  saleChannel: string;
  paymentMethod: string | null;
  tickets: { ticketId: string; seatId: number; code: string }[];
}

/**
 * Walk-up sales at the box office window, `POST /box-office/performances/:id/sales`: a staff or
 * admin account sells seats that are paid at the window (cash, card terminal), on the sale's own
 * path (a hold for the selling account, its purchase with no gateway charge, the flush with the
 * tickets whose codes the answer carried), the refund at the window, the report's split by channel
 * and method, the refusals, and a race against online buyers. Real PostgreSQL and Redis.
 */
describe('box office sales at the window (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let staff: TestSession;
  let gateway: GatewaySpies;
  let staffCount = 0;

  async function staffSession(): Promise<TestSession> {
    staffCount += 1;
    return createStaffSession(api.app, admin, `window-${staffCount}@example.test`, `Window ${staffCount}`);
  }

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      // The door's refusal of a sale not written yet, as with the wait off (check-in-walk-up.e2e-spec.ts: the wait).
      CHECK_IN_WAIT_FOR_SALE_SECONDS: '0',
    }));
    staff = await staffSession();
    gateway = spyOnPaymentGateway(api.app.get(PaymentGateway));
  });
  beforeEach(() => gateway.clear());
  afterAll(async () => {
    gateway?.restore();
    await close?.();
  });

  async function createShow(options: { salesOpenAt?: string } = {}): Promise<Show> {
    const { id, seats } = await createDoorsOpenShow(call, admin, {
      title: 'Late Show',
      currency: 'EUR',
      performance: options,
      sections: [
        { name: 'Stalls', grade: 'A', price: 1500, rows: 1, seatsPerRow: 12 },
        { name: 'Balcony', grade: 'B', price: 900, rows: 1, seatsPerRow: 12 },
      ],
    });
    return { id, stalls: seats.Stalls!, balcony: seats.Balcony! };
  }

  const sell = (performanceId: number, body: object, session: TestSession = staff) =>
    call('POST', `/box-office/performances/${performanceId}/sales`, { body, session });

  const statusesOf = async (performanceId: number, seatIds: number[]) => {
    const items = (await call('GET', `/performances/${performanceId}/seats?limit=100`)).json().items as {
      id: number;
      status: string;
    }[];
    return seatIds.map((id) => items.find((seat) => seat.id === id)?.status);
  };

  const report = async (performanceId: number) => {
    const answer = await call('GET', `/performances/${performanceId}/sales`, { session: admin });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json() as { totals: Record<string, number>; sections: ({ name: string } & Record<string, number>)[] };
  };

  it("sells at today's prices with no gateway charge; the answer's codes are the tickets' codes and scan at the door; the flush writes channel and method; the audit log has the sale", async () => {
    const show = await createShow();
    const seats = [show.balcony[0], show.stalls[1], show.stalls[0]];
    const sold = await sell(show.id, {
      seatIds: seats,
      paymentMethod: 'CASH',
      email: 'Walk.Up@Example.test',
      name: 'Jin Park',
    });
    expect(sold.statusCode, sold.body).toBe(201);
    const sale = sold.json() as SaleBody;
    const ascending = [...seats].sort((a, b) => a - b);
    expect(sale).toMatchObject({
      userId: staff.id,
      performanceId: show.id,
      seatIds: ascending,
      amount: 1500 + 1500 + 900,
      currency: 'EUR',
      status: 'PAID',
      comp: false,
      saleChannel: 'BOX_OFFICE',
      paymentMethod: 'CASH',
    });
    expect(sale.tickets.map((ticket) => ticket.seatId)).toEqual(ascending);
    expect(new Set(sale.tickets.map((ticket) => ticket.code)).size).toBe(3);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, seats)).toEqual(['SOLD', 'SOLD', 'SOLD']);

    // Scanned before the flush: a genuine code whose sale is being recorded, not an unknown ticket.
    const early = await call('POST', '/check-in', {
      body: { code: sale.tickets[0].code, performanceId: show.id },
      session: staff,
    });
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json().message).toMatch(/^ticket just sold, its sale is being recorded: scan it again in \d+ s$/);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The sale is the venue's: the selling account sees none of it as a buyer, before or after the
    // flush (box-office-walk-up-owner.e2e-spec.ts tries every buyer's route).
    const mine = await call('GET', `/purchases/${sale.id}`, { session: staff });
    expect(mine.statusCode, mine.body).toBe(404);

    await flushPurchases(api.app);
    const rows = await db.query(
      `SELECT user_id, amount, charge_id, status, sale_channel, payment_method, delivery_email, delivery_name
         FROM purchases WHERE id = $1`,
      [sale.id],
    );
    expect(rows.rows).toEqual([
      {
        user_id: staff.id,
        amount: '3900',
        charge_id: null,
        status: 'PAID',
        sale_channel: 'BOX_OFFICE',
        payment_method: 'CASH',
        delivery_email: 'walk.up@example.test',
        delivery_name: 'Jin Park',
      },
    ]);
    const tickets = await db.query(
      'SELECT id::text AS id, seat_id, price, status FROM tickets WHERE purchase_id = $1 ORDER BY seat_id',
      [sale.id],
    );
    expect(tickets.rows).toEqual(
      sale.tickets.map((ticket) => ({
        id: ticket.ticketId,
        seat_id: ticket.seatId,
        price: show.stalls.includes(ticket.seatId) ? 1500 : 900,
        status: 'ACTIVE',
      })),
    );
    expect((await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1', [sale.id])).rows).toEqual([]);
    const listed = await call('GET', `/purchases/${sale.id}/tickets`, { session: staff });
    expect(listed.statusCode, listed.body).toBe(404);
    const flushed = await call('GET', `/admin/purchases/${sale.id}`, { session: admin });
    expect(flushed.json()).toMatchObject({
      saleChannel: 'BOX_OFFICE',
      paymentMethod: 'CASH',
      userId: staff.id,
      soldBy: staff.id,
      deliveryEmail: 'walk.up@example.test',
      deliveryName: 'Jin Park',
    });
    const online = await call('GET', `/admin/purchases?performanceId=${show.id}`, { session: admin });
    expect(online.json().items).toEqual([expect.objectContaining({ id: sale.id, saleChannel: 'BOX_OFFICE' })]);

    // The door list names the walk-up as the window took them, not the selling account.
    const list = await call('GET', `/performances/${show.id}/attendees`, { session: admin });
    expect(list.statusCode, list.body).toBe(200);
    const [header, ...lines]: string[][] = parse(list.rawPayload, { bom: true });
    expect(
      lines.map((line) => ['buyer_email', 'buyer_name', 'holder_email'].map((column) => line[header.indexOf(column)])),
    ).toEqual(seats.map(() => ['walk.up@example.test', 'Jin Park', 'walk.up@example.test']));

    // The walk-up goes to the door: each printed code admits once.
    const door = await staffSession();
    const scanned = await call('POST', '/check-in', {
      body: { code: sale.tickets[0].code, performanceId: show.id },
      session: door,
    });
    expect(scanned.statusCode, scanned.body).toBe(200);
    expect(scanned.json()).toMatchObject({
      ticketId: sale.tickets[0].ticketId,
      purchaseId: sale.id,
      holder: { name: 'Jin Park', email: 'walk.up@example.test' },
    });
    const twice = await call('POST', '/check-in', {
      body: { code: sale.tickets[0].code, performanceId: show.id },
      session: door,
    });
    expect(twice.statusCode, twice.body).toBe(409);

    const audit = await call('GET', `/admin/audit-log?purchaseId=${sale.id}`, { session: admin });
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        action: 'box-office.sale',
        actorId: staff.id,
        actorEmail: staff.email,
        subjectId: sale.id,
        details: {
          performanceId: show.id,
          seatIds: ascending,
          amount: 3900,
          currency: 'EUR',
          paymentMethod: 'CASH',
          email: 'walk.up@example.test',
          name: 'Jin Park',
          ticketIds: sale.tickets.map((ticket) => ticket.ticketId),
        },
      }),
    ]);
  });

  it('splits revenue by channel and method in the report, before and after the flush; an admin refund of a walk-up gives the money back at the window, not through the gateway', async () => {
    const show = await createShow();
    const buyer = await createSession(api.app);
    const held = await hold(api.app, buyer, show.id, [show.stalls[0]]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    expect(gateway.charge).toHaveBeenCalledTimes(1);
    const cash = await sell(show.id, { seatIds: [show.stalls[1], show.balcony[1]], paymentMethod: 'CASH' });
    const card = await sell(show.id, { seatIds: [show.balcony[2]], paymentMethod: 'CARD_TERMINAL' }, admin);
    expect([cash.statusCode, card.statusCode], cash.body + card.body).toEqual([201, 201]);
    expect(card.json()).toMatchObject({ userId: admin.id, paymentMethod: 'CARD_TERMINAL', amount: 900 });
    expect(gateway.charge).toHaveBeenCalledTimes(1);

    const expected = {
      totals: expect.objectContaining({
        sold: 4,
        revenue: 1500 + 2400 + 900,
        onlineRevenue: 1500,
        boxOfficeRevenue: 3300,
        cashRevenue: 2400,
        cardTerminalRevenue: 900,
        purchases: 3,
        boxOfficePurchases: 2,
        cancellations: 0,
      }),
      sections: [
        expect.objectContaining({ name: 'Stalls', onlineRevenue: 1500, cashRevenue: 1500, cardTerminalRevenue: 0 }),
        expect.objectContaining({ name: 'Balcony', onlineRevenue: 0, cashRevenue: 900, cardTerminalRevenue: 900 }),
      ],
    };
    expect(await report(show.id)).toMatchObject(expected);
    await flushPurchases(api.app);
    expect(await report(show.id)).toMatchObject(expected);

    // Sold with neither address nor name: the door list leaves the walk-up's columns empty, never
    // the selling account's (as the scan's holder), beside the online buyer's own.
    const list = await call('GET', `/performances/${show.id}/attendees`, { session: admin });
    expect(list.statusCode, list.body).toBe(200);
    const [header, ...lines]: string[][] = parse(list.rawPayload, { bom: true });
    const columns = ['buyer_email', 'buyer_name', 'holder_email', 'holder_name'];
    // In layout order: the online buyer's Stalls seat, the cash sale's Stalls and Balcony seats, the card sale's.
    expect(lines.map((line) => columns.map((column) => line[header.indexOf(column)]))).toEqual([
      [buyer.email, expect.any(String), buyer.email, expect.any(String)],
      ['', '', '', ''],
      ['', '', '', ''],
      ['', '', '', ''],
    ]);

    // The selling account cannot cancel it as a buyer would (not its purchase): an admin refunds
    // it, at the window.
    const byStaff = await call('POST', `/purchases/${cash.json().id}/cancel`, { session: staff });
    expect(byStaff.statusCode, byStaff.body).toBe(404);
    const refunded = await call('POST', `/admin/purchases/${cash.json().id}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({
      status: 'CANCELED',
      saleChannel: 'BOX_OFFICE',
      paymentMethod: 'CASH',
      refundMethod: 'CASH',
    });
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, [show.stalls[1], show.balcony[1]])).toEqual(['AVAILABLE', 'AVAILABLE']);
    const audit = await call('GET', `/admin/audit-log?purchaseId=${cash.json().id}&action=purchase.refund`, {
      session: admin,
    });
    expect(audit.json().items).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ amount: 2400, refundMethod: 'CASH' }) }),
    ]);
    // An online purchase's refund still goes through the gateway.
    const onlineRefund = await call('POST', `/admin/purchases/${bought.json().id}/refund`, { session: admin });
    expect(onlineRefund.json()).toMatchObject({ refundMethod: 'PAYMENT_GATEWAY', saleChannel: 'ONLINE' });
    expect(gateway.refund).toHaveBeenCalledTimes(1);

    await flushPurchases(api.app);
    const row = await db.query('SELECT status FROM purchases WHERE id = $1', [cash.json().id]);
    expect(row.rows).toEqual([{ status: 'CANCELED' }]);
    expect((await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1', [cash.json().id])).rows).toEqual(
      [],
    );
    expect(await report(show.id)).toMatchObject({
      totals: expect.objectContaining({
        revenue: 900,
        onlineRevenue: 0,
        cashRevenue: 0,
        cardTerminalRevenue: 900,
        boxOfficePurchases: 2,
        boxOfficeCancellations: 1,
        cancellations: 2,
      }),
    });
  });

  it("a partial refund of a walk-up gives its seats' money back at the window, not through the gateway (nor owed to batch); the report's channel split is net of it, before and after the flush", async () => {
    const show = await createShow();
    const cash = await sell(show.id, {
      seatIds: [show.stalls[0], show.stalls[1], show.balcony[0]],
      paymentMethod: 'CASH',
    });
    const card = await sell(show.id, { seatIds: [show.balcony[1]], paymentMethod: 'CARD_TERMINAL' });
    expect([cash.statusCode, card.statusCode], cash.body + card.body).toEqual([201, 201]);
    const saleId = cash.json().id as string;
    // A partial refund needs the purchase written behind.
    await flushPurchases(api.app);

    const partial = await call('POST', `/admin/purchases/${saleId}/refund`, {
      body: { seatIds: [show.stalls[1]] },
      session: admin,
    });
    expect(partial.statusCode, partial.body).toBe(200);
    expect(partial.json()).toMatchObject({
      status: 'PAID',
      amount: 1500 + 900,
      refunded: { seatIds: [show.stalls[1]], amount: 1500 },
      refundMethod: 'CASH',
      saleChannel: 'BOX_OFFICE',
      paymentMethod: 'CASH',
    });
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(await statusesOf(show.id, [show.stalls[1]])).toEqual(['AVAILABLE']);
    // Settled at the window: nothing for the payment reconciler to refund.
    expect(
      (await db.query('SELECT amount, charge_id, status FROM purchase_refunds WHERE purchase_id = $1', [saleId])).rows,
    ).toEqual([{ amount: '1500', charge_id: null, status: 'REFUNDED' }]);
    const audit = await call('GET', `/admin/audit-log?purchaseId=${saleId}&action=purchase.refund`, {
      session: admin,
    });
    expect(audit.json().items).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ amount: 1500, refundMethod: 'CASH', partial: true }),
      }),
    ]);

    const net = {
      totals: expect.objectContaining({
        sold: 3,
        revenue: 1500 + 900 + 900,
        onlineRevenue: 0,
        boxOfficeRevenue: 3300,
        cashRevenue: 2400,
        cardTerminalRevenue: 900,
        purchases: 2,
        boxOfficePurchases: 2,
        cancellations: 0,
      }),
      sections: [
        expect.objectContaining({ name: 'Stalls', sold: 1, boxOfficeRevenue: 1500, cashRevenue: 1500 }),
        expect.objectContaining({ name: 'Balcony', sold: 2, cashRevenue: 900, cardTerminalRevenue: 900 }),
      ],
    };
    expect(await report(show.id)).toMatchObject(net);
    await flushPurchases(api.app);
    expect(await report(show.id)).toMatchObject(net);

    // Its last seats: its whole refund, at the window too.
    const rest = await call('POST', `/admin/purchases/${saleId}/refund`, {
      body: { seatIds: [show.stalls[0], show.balcony[0]] },
      session: admin,
    });
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({
      status: 'CANCELED',
      refunded: { amount: 2400 },
      refundMethod: 'CASH',
    });
    expect(gateway.refund).not.toHaveBeenCalled();
    await flushPurchases(api.app);
    expect((await db.query('SELECT 1 FROM payment_attempts WHERE purchase_id = $1', [saleId])).rows).toEqual([]);
    expect(await report(show.id)).toMatchObject({
      totals: expect.objectContaining({
        revenue: 900,
        boxOfficeRevenue: 900,
        cashRevenue: 0,
        cardTerminalRevenue: 900,
        boxOfficeCancellations: 1,
      }),
    });
  });

  it("a sale's hold left by an api that died before its purchase is the operator path's: the selling account cannot see, buy or release it through the buyer's routes", async () => {
    const show = await createShow();
    const seats = show.stalls.slice(5, 7);
    // The sale's hold step alone, as an api killed before the purchase step leaves it.
    const holdId = newIdOf(show.id);
    const held = await api.app.get(HoldStore).holdComp({
      holdId,
      userId: staff.id,
      performanceId: show.id,
      seatIds: seats,
      sale: { kind: 'BOX_OFFICE', paymentMethod: 'CASH', ticketIds: ['900000001', '900000002'] },
      lifetimeMs: 60_000,
      retentionMs: HOLD_RETENTION_MS,
    });
    expect(held).toMatchObject({ outcome: 'OK', amount: 3000 });
    expect(await statusesOf(show.id, seats)).toEqual(['HELD', 'HELD']);

    const listed = await call('GET', '/reservations', { session: staff });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().items).toEqual([]);
    const read = await call('GET', `/reservations/${holdId}`, { session: staff });
    expect(read.statusCode, read.body).toBe(404);
    const bought = await call('POST', '/purchases', { body: { reservationId: holdId }, session: staff });
    expect(bought.statusCode, bought.body).toBe(404);
    const released = await call('DELETE', `/reservations/${holdId}`, { session: staff });
    expect(released.statusCode, released.body).toBe(404);
    expect(await statusesOf(show.id, seats)).toEqual(['HELD', 'HELD']);
    expect(gateway.charge).not.toHaveBeenCalled();
  });

  it('refuses held, sold or blocked seats (409 naming them; nothing held), a buyer account (403) and bad bodies (400)', async () => {
    const show = await createShow();
    const buyer = await createSession(api.app);
    await hold(api.app, buyer, show.id, [show.balcony[3]]);
    const first = await sell(show.id, { seatIds: [show.balcony[4]], paymentMethod: 'CASH' });
    expect(first.statusCode, first.body).toBe(201);
    const blocked = await call('POST', `/admin/performances/${show.id}/seat-blocks`, {
      body: { seatIds: [show.balcony[5]], reason: 'house seat' },
      session: admin,
    });
    expect(blocked.statusCode, blocked.body).toBe(200);

    const refused = await sell(show.id, {
      seatIds: [show.balcony[3], show.balcony[4], show.balcony[5], show.balcony[6]],
      paymentMethod: 'CASH',
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().details.seatIds).toEqual([show.balcony[3], show.balcony[4], show.balcony[5]]);
    expect(refused.json().message).toContain(String(show.balcony[3]));
    expect(await statusesOf(show.id, [show.balcony[3], show.balcony[4], show.balcony[6]])).toEqual([
      'HELD',
      'SOLD',
      'AVAILABLE',
    ]);

    const asBuyer = await sell(show.id, { seatIds: [show.balcony[6]], paymentMethod: 'CASH' }, buyer);
    expect(asBuyer.statusCode, asBuyer.body).toBe(403);
    for (const body of [
      { seatIds: [show.balcony[6]] },
      { seatIds: [show.balcony[6]], paymentMethod: 'CHEQUE' },
      { seatIds: [show.balcony[6]], paymentMethod: 'cash' },
      { seatIds: [], paymentMethod: 'CASH' },
      { seatIds: [show.balcony[6], show.balcony[6]], paymentMethod: 'CASH' },
      { seatIds: Array.from({ length: 21 }, (_, i) => i + 1), paymentMethod: 'CASH' },
      { seatIds: ['7'], paymentMethod: 'CASH' },
      { seatIds: [show.balcony[6]], paymentMethod: 'CASH', email: 'not an address' },
      { seatIds: [show.balcony[6]], paymentMethod: 'CASH', name: '' },
      { seatIds: [show.balcony[6]], paymentMethod: 'CASH', name: 'x'.repeat(201) },
      { seatIds: [show.balcony[6]], paymentMethod: 'CASH', amount: 0 },
    ]) {
      const bad = await sell(show.id, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(Object.keys(bad.json()).sort()).toEqual(
        expect.arrayContaining(['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp']),
      );
    }
    // The list's bounds read as English, as a refund's do (money trial L2: "at least 1 elements").
    const empty = await sell(show.id, { seatIds: [], paymentMethod: 'CASH' });
    expect(empty.json().message).toEqual(['seatIds must have at least 1 item']);
    const many = await sell(show.id, { seatIds: Array.from({ length: 21 }, (_, i) => i + 1), paymentMethod: 'CASH' });
    expect(many.json().message).toEqual(['seatIds must have at most 20 items']);
    const unknownSeat = await sell(show.id, { seatIds: [show.balcony[6], 2_000_000_000], paymentMethod: 'CASH' });
    expect(unknownSeat.statusCode, unknownSeat.body).toBe(404);
    const unknownShow = await sell(2_000_000_000, { seatIds: [show.balcony[6]], paymentMethod: 'CASH' });
    expect(unknownShow.statusCode, unknownShow.body).toBe(404);
    expect(await statusesOf(show.id, [show.balcony[6]])).toEqual(['AVAILABLE']);
    const audit = await call('GET', `/admin/audit-log?action=box-office.sale&performanceId=${show.id}`, {
      session: admin,
    });
    expect(audit.json().items.map((row: { subjectId: string }) => row.subjectId)).toEqual([first.json().id]);
  });

  it('sells past salesCloseAt, with online sales CLOSED and beyond the per-buyer limit; refuses before the on-sale, while PAUSED, a canceled performance and once check-in has closed', async () => {
    const early = await createShow({ salesOpenAt: new Date(Date.now() + 3_600_000).toISOString() });
    const notOpen = await sell(early.id, { seatIds: [early.stalls[0]], paymentMethod: 'CASH' });
    expect(notOpen.statusCode, notOpen.body).toBe(403);
    expect(await statusesOf(early.id, [early.stalls[0]])).toEqual(['AVAILABLE']);

    const show = await createShow();
    const closed = await call('PATCH', `/performances/${show.id}`, {
      body: { status: 'CLOSED', salesCloseAt: new Date(Date.now() + 1_000).toISOString() },
      session: admin,
    });
    expect(closed.statusCode, closed.body).toBe(200);
    // Six seats: more than a buyer may hold (MAX_SEATS_PER_RESERVATION, 4).
    const atTheDoor = await sell(show.id, { seatIds: show.stalls.slice(0, 6), paymentMethod: 'CARD_TERMINAL' });
    expect(atTheDoor.statusCode, atTheDoor.body).toBe(201);
    expect(atTheDoor.json().seatIds).toHaveLength(6);

    const paused = await call('PATCH', `/performances/${show.id}`, { body: { status: 'PAUSED' }, session: admin });
    expect(paused.statusCode, paused.body).toBe(200);
    const whilePaused = await sell(show.id, { seatIds: [show.stalls[7]], paymentMethod: 'CASH' });
    expect(whilePaused.statusCode, whilePaused.body).toBe(409);
    expect(whilePaused.json()).toMatchObject({ details: expect.objectContaining({ reason: 'PAUSED' }) });

    const canceled = await createShow();
    const cancel = await call('POST', `/admin/performances/${canceled.id}/cancel`, { body: {}, session: admin });
    expect(cancel.statusCode, cancel.body).toBe(202);
    const afterCancel = await sell(canceled.id, { seatIds: [canceled.stalls[0]], paymentMethod: 'CASH' });
    expect(afterCancel.statusCode, afterCancel.body).toBe(409);
    expect(afterCancel.json().message).toBe(
      `performance ${canceled.id} has been canceled: the box office sells no tickets for it`,
    );

    const over = await createShow();
    await db.query(`UPDATE performances SET starts_at = now() - interval '5 hours' WHERE id = $1`, [over.id]);
    const afterDoors = await sell(over.id, { seatIds: [over.stalls[0]], paymentMethod: 'CASH' });
    expect(afterDoors.statusCode, afterDoors.body).toBe(409);
    expect(afterDoors.json()).toMatchObject({ details: expect.objectContaining({ performanceId: over.id }) });
    expect(afterDoors.json().message).toContain('check-in closed');
    expect(await statusesOf(over.id, [over.stalls[0]])).toEqual(['AVAILABLE']);
  });

  it('races online buyers for the same seat: exactly one request wins each round, and a losing sale changes nothing', async () => {
    const show = await createShow();
    const buyers = await Promise.all(Array.from({ length: 8 }, () => createSession(api.app)));
    const wins = { window: 0, buyer: 0 };
    for (let round = 0; round < 10; round += 1) {
      // Each round a contested seat (Stalls) and one only the window asks for (Balcony).
      const contested = show.stalls[round];
      const onlyWindow = show.balcony[round];
      const [sale, ...holds] = await Promise.all([
        sell(show.id, { seatIds: [contested, onlyWindow], paymentMethod: round % 2 ? 'CASH' : 'CARD_TERMINAL' }),
        ...buyers.map((buyer) =>
          call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [contested] }, session: buyer }),
        ),
      ]);
      const answers = [sale, ...holds];
      const winners = answers.filter((answer) => answer.statusCode === 201);
      expect(winners, `round ${round}: ${answers.map((a) => a.statusCode).join(',')}`).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.statusCode !== 201)) {
        expect(loser.statusCode, loser.body).toBe(409);
      }
      if (sale.statusCode === 201) {
        wins.window += 1;
        expect(await statusesOf(show.id, [contested, onlyWindow])).toEqual(['SOLD', 'SOLD']);
      } else {
        wins.buyer += 1;
        expect(sale.json().details.seatIds).toEqual([contested]);
        expect(await statusesOf(show.id, [contested, onlyWindow])).toEqual(['HELD', 'AVAILABLE']);
      }
    }
    expect(wins.window + wins.buyer).toBe(10);
    await flushPurchases(api.app);
    const sold = await db.query(
      `SELECT count(*)::int AS n FROM tickets t JOIN purchases p ON p.id = t.purchase_id
        WHERE p.performance_id = $1 AND p.sale_channel = 'BOX_OFFICE' AND t.status = 'ACTIVE'`,
      [show.id],
    );
    expect(sold.rows[0].n).toBe(2 * wins.window);
    expect(gateway.charge).not.toHaveBeenCalled();
  });
});
