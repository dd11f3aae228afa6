import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsService } from '@app/auth';
import { createSession, TEST_PASSWORD, TestSession } from '@app/testing';
import { flushPurchases } from './purchase-helpers';
import { buyTickets, createStaffSession } from './support/door';
import { expectUniform } from './support/http';
import { readPdf, ReadPdf } from './support/pdf';
import { PrintingApi, startPrintingApi } from './support/printing';

interface SaleBody {
  id: string;
  seatIds: number[];
  tickets: { ticketId: string; seatId: number; code: string }[];
}

/**
 * The box office window prints the tickets of the sale it just made (`GET
 * /box-office/sales/:id/tickets.pdf`) on real PostgreSQL and Redis: at once, before `batch` writes
 * the sale (from the ticket ids the sale took ahead), and after, the same pages and codes; the QR
 * codes are the sale's codes, which the door admits once the sale is written. Who may print which
 * sale (the clerk their own, an admin any), online purchases and guest comps refused, refunded
 * seats left out.
 */
describe('box office printing (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close, performance, nextSeats } = {} as PrintingApi;
  let clerk: TestSession;
  let otherClerk: TestSession;
  let buyer: TestSession;

  beforeAll(async () => {
    ({ api, db, admin, call, close, performance, nextSeats } = await startPrintingApi(
      {
        title: 'Window Gala',
        currency: 'EUR',
        price: 2500,
      },
      // The door's refusal of a sale not written yet, as with the wait off (check-in-walk-up.e2e-spec.ts: the wait).
      { CHECK_IN_WAIT_FOR_SALE_SECONDS: '0' },
    ));
    clerk = await createStaffSession(api.app, admin, 'window@example.test', 'Window Clerk');
    otherClerk = await createStaffSession(api.app, admin, 'window2@example.test', 'Second Clerk');
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
  });
  afterAll(() => close?.());

  /** Sells the next `count` seats at the window as `session` (in descending seat order: not the purchase's). */
  async function sell(count: number, session = clerk): Promise<SaleBody> {
    const seatIds = nextSeats(count).reverse();
    const sold = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      body: { seatIds, paymentMethod: 'CASH', email: 'walkup@example.test', name: 'Jin Park' },
      session,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json() as SaleBody;
  }

  const salePdfUrl = (saleId: string) => `/box-office/sales/${saleId}/tickets.pdf`;

  /** The sale's PDF for `session`, checked to be served as one. */
  async function salePdf(saleId: string, session: TestSession): Promise<ReadPdf> {
    const res = await call('GET', salePdfUrl(saleId), { session });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="tickets-${saleId}.pdf"`);
    return readPdf(res.rawPayload);
  }

  const ticketRows = async (saleId: string) =>
    (await db.query('SELECT count(*)::int AS n FROM tickets WHERE purchase_id = $1', [saleId])).rows[0].n as number;
  const checkIn = (code: string) =>
    call('POST', '/check-in', { body: { code, performanceId: performance.id }, session: clerk });

  it('prints the sale at once, before it is written, with the codes of its answer; the same after the flush, and the door admits them', async () => {
    const sale = await sell(3);
    const early = await salePdf(sale.id, clerk);
    // Printed from Redis: PostgreSQL has no ticket of it yet. An admin prints it at once on the
    // purchase's route too, the same pages (it answered 409 TicketsNotIssued there before).
    expect(await ticketRows(sale.id)).toBe(0);
    const byAdmin = await call('GET', `/purchases/${sale.id}/tickets.pdf`, { session: admin });
    expect(byAdmin.statusCode, byAdmin.body.slice(0, 300)).toBe(200);
    expect(readPdf(byAdmin.rawPayload).qrCodes).toEqual(early.qrCodes);
    expect(early.pages).toBe(3);
    expect(early.qrCodes).toEqual(sale.tickets.map((ticket) => ticket.code));
    sale.tickets.forEach((ticket, index) => {
      expect(early.texts[index]!.split('\n')).toEqual(
        expect.arrayContaining([
          `ADMIT ONE · Ticket ${index + 1} of 3`,
          'Window Gala',
          'Price: EUR 25.00',
          'Holder: Jin Park',
          `Purchase: ${sale.id}`,
          `Ticket: ${ticket.ticketId}`,
          ticket.code,
        ]),
      );
    });
    expect(early.texts.some((text) => text.includes('Window Clerk'))).toBe(false);
    // The door knows the printed code is genuine, and admits it once the sale is written.
    const scanned = expectUniform(await checkIn(early.qrCodes[0]!), 409);
    expect(scanned.message).toMatch(/^ticket just sold, its sale is being recorded: scan it again in \d+ s$/);

    await flushPurchases(api.app);
    expect(await ticketRows(sale.id)).toBe(3);
    const late = await salePdf(sale.id, clerk);
    expect(late.texts).toEqual(early.texts);
    expect(late.qrCodes).toEqual(early.qrCodes);
    for (const code of late.qrCodes) expect((await checkIn(code!)).statusCode).toBe(200);
    expectUniform(await checkIn(late.qrCodes[0]!), 409);
    // Read from its rows now: the check-in shows.
    expect((await salePdf(sale.id, clerk)).texts[0]).toMatch(/Checked in at /);
  });

  it("prints one ticket of the sale for an admin at once, before it is written, as the sale's own routes; a refunded one 409, never 404", async () => {
    const sale = await sell(2);
    const [first, second] = sale.tickets;
    expect(await ticketRows(sale.id)).toBe(0);
    const ticketPdfUrl = (ticketId: string) => `/tickets/${ticketId}/ticket.pdf`;
    const one = await call('GET', ticketPdfUrl(second!.ticketId), { session: admin });
    expect(one.statusCode, one.body.slice(0, 300)).toBe(200);
    expect(one.headers['content-disposition']).toBe(`attachment; filename="ticket-${second!.ticketId}.pdf"`);
    const early = readPdf(one.rawPayload);
    expect(early.qrCodes).toEqual([second!.code]);
    expect(early.texts[0]!.split('\n')).toEqual(
      expect.arrayContaining(['Holder: Jin Park', `Purchase: ${sale.id}`, `Ticket: ${second!.ticketId}`]),
    );
    // The walk-up's tickets are no account's: the clerk and a buyer get what an unknown ticket gets.
    for (const session of [clerk, buyer])
      expectUniform(await call('GET', ticketPdfUrl(first!.ticketId), { session }), 404);
    expectUniform(await call('GET', '/tickets/999999999/ticket.pdf', { session: admin }), 404);

    // Refunded whole while only in Redis: told canceled, as after its flush.
    const whole = await call('POST', `/admin/purchases/${sale.id}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    expect(await ticketRows(sale.id)).toBe(0);
    const canceled = expectUniform(await call('GET', ticketPdfUrl(first!.ticketId), { session: admin }), 409);
    expect(canceled.message).toBe('ticket is canceled (its purchase was canceled or refunded, or this seat refunded)');
    await flushPurchases(api.app);
    expectUniform(await call('GET', ticketPdfUrl(first!.ticketId), { session: admin }), 409);
  });

  it('prints for its clerk and admins only: anonymous 401, a buyer 403, another clerk 404, a revoked clerk 401 then 403', async () => {
    const sale = await sell(1);
    const table: { who: string; session: TestSession | undefined; status: number }[] = [
      { who: 'anonymous', session: undefined, status: 401 },
      { who: 'buyer', session: buyer, status: 403 },
      { who: 'the clerk who sold it', session: clerk, status: 200 },
      { who: 'another clerk', session: otherClerk, status: 404 },
      { who: 'admin', session: admin, status: 200 },
    ];
    for (const flushed of [false, true]) {
      if (flushed) await flushPurchases(api.app);
      for (const { who, session, status } of table) {
        const res = await call('GET', salePdfUrl(sale.id), { session });
        if (status === 200) {
          expect(res.statusCode, `${who}: ${res.body.slice(0, 200)}`).toBe(200);
          expect(readPdf(res.rawPayload).qrCodes, who).toEqual([sale.tickets[0]!.code]);
        } else {
          const body = expectUniform(res, status);
          expect(JSON.stringify(body), who).not.toContain(sale.tickets[0]!.code);
        }
      }
    }

    // An admin's own window sale: another admin prints it, a clerk does not.
    const admins = await sell(1, admin);
    const second = await createSession(api.app, { role: admin.role });
    expect((await salePdf(admins.id, second)).qrCodes).toEqual([admins.tickets[0]!.code]);
    expectUniform(await call('GET', salePdfUrl(admins.id), { session: clerk }), 404);

    // A clerk whose staff role was revoked prints nothing more: its session ended, and signed in
    // again it is a buyer.
    const leaving = await createStaffSession(api.app, admin, 'leaving@example.test');
    const theirs = await sell(1, leaving);
    expect((await call('DELETE', `/admin/staff/${leaving.id}`, { session: admin })).statusCode).toBe(204);
    expectUniform(await call('GET', salePdfUrl(theirs.id), { session: leaving }), 401);
    const tokens = await api.app.get(SessionsService).login(leaving.email, TEST_PASSWORD);
    const demoted = { ...leaving, headers: { authorization: `Bearer ${tokens.accessToken}` } };
    expectUniform(await call('GET', salePdfUrl(theirs.id), { session: demoted }), 403);
  });

  it('prints window sales only: an online purchase, a guest comp, an unknown id are 404, a malformed one 400', async () => {
    const online = await buyTickets<{ code: string }>(api.app, buyer, performance.id, [nextSeats(1)[0]!]);
    const comp = await call('POST', `/admin/performances/${performance.id}/comps`, {
      body: {
        guest: { email: 'press@example.test', name: 'Lois Lane' },
        seatIds: [nextSeats(1)[0]!],
        note: 'press',
      },
      session: admin,
    });
    expect(comp.statusCode, comp.body).toBe(201);
    await flushPurchases(api.app);
    for (const id of [online.purchaseId, comp.json().id as string, '00000000-0000-4000-8000-000000000000']) {
      for (const session of [admin, clerk]) {
        const body = expectUniform(await call('GET', salePdfUrl(id), { session }), 404);
        expect(body.message).toBe('purchase not found');
      }
    }
    // The buyer's own purchase is not a window sale either.
    expectUniform(await call('GET', salePdfUrl(online.purchaseId), { session: buyer }), 403);
    for (const bad of ['not-a-uuid', '1', `${online.purchaseId}x`]) {
      expectUniform(await call('GET', salePdfUrl(bad), { session: clerk }), 400);
    }
  });

  it('leaves a refunded seat out; a refunded sale prints nothing, also before it is written', async () => {
    const sale = await sell(3);
    await flushPurchases(api.app);
    const refunded = await call('POST', `/admin/purchases/${sale.id}/refund`, {
      body: { seatIds: [sale.tickets[1]!.seatId] },
      session: admin,
    });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const pdf = await salePdf(sale.id, clerk);
    expect(pdf.pages).toBe(2);
    expect(pdf.qrCodes).toEqual([sale.tickets[0]!.code, sale.tickets[2]!.code]);
    expect(pdf.texts.join('\n')).not.toContain(`Ticket: ${sale.tickets[1]!.ticketId}\n`);
    expect(pdf.texts[1]).toContain('ADMIT ONE · Ticket 2 of 2');

    // Refunded whole right after the sale: the cancellation is only in Redis.
    const undone = await sell(2);
    const whole = await call('POST', `/admin/purchases/${undone.id}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    for (const session of [clerk, admin]) {
      const canceled = expectUniform(await call('GET', salePdfUrl(undone.id), { session }), 409);
      expect(canceled.message).toBe(
        'purchase was canceled or refunded: its tickets admit no one, there is none to print',
      );
    }
  });
});
