import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, createSession, freePort, PROCESS_TEST_TIMEOUT_MS, TestSession } from '@app/testing';
import { flushPurchases, hold } from './purchase-helpers';
import { buyTickets, createStaffSession } from './support/door';
import { expectUniform } from './support/http';
import { readPdf, ReadPdf } from './support/pdf';
import { PrintingApi, startPrintingApi } from './support/printing';

interface TicketBody {
  id: string;
  seat: { id: number; rowLabel: string; number: number };
  status: string;
  code: string | null;
}

/** The event's title: Hangul the PDF's built-in font cannot print (each character a "?"), and Latin-1 it can. */
const TITLE = '봄 Gala – Café Ölberg';
const PRINTED_TITLE = '? Gala – Café Ölberg';

/**
 * Printable tickets (`GET /purchases/:id/tickets.pdf`, `GET /tickets/:ticketId/ticket.pdf`) on real
 * PostgreSQL and Redis: what a page says, the QR code it shows (read back with jsQR) admitting at
 * the door, who may download which, and that refunded and transferred tickets are left out. The
 * last test downloads one from the built, bundled api (dist/apps/api/main.js), where pdfkit must
 * find its built-in fonts.
 */
describe('printable tickets (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close, performance, nextSeats } = {} as PrintingApi;
  let staff: TestSession;
  let buyer: TestSession;
  let other: TestSession;

  beforeAll(async () => {
    ({ api, db, admin, call, close, performance, nextSeats } = await startPrintingApi({
      title: TITLE,
      currency: 'KRW',
      price: 198000,
    }));
    const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
    const zoned = await call('PATCH', `/events/${eventId}`, { body: { timeZone: 'Asia/Seoul' }, session: admin });
    expect(zoned.statusCode, zoned.body).toBe(200);
    staff = await createStaffSession(api.app, admin, 'door@example.test', 'Door One');
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
    other = await createSession(api.app, { name: 'Other Buyer' });
  });
  afterAll(() => close?.());

  /** Buys `count` seats for `session` and writes the purchase to PostgreSQL; its id and tickets as listed. */
  const buy = (count: number, session = buyer) =>
    buyTickets<TicketBody>(api.app, session, performance.id, nextSeats(count));

  /** GETs `url` as `session` and reads the PDF of a 200, checking it is served as one. */
  async function pdfOf(url: string, session: TestSession | undefined, filename: string): Promise<ReadPdf> {
    const res = await call('GET', url, { session });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${filename}"`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    return readPdf(res.rawPayload);
  }

  const purchasePdf = (purchaseId: string, session: TestSession | undefined = buyer) =>
    pdfOf(`/purchases/${purchaseId}/tickets.pdf`, session, `tickets-${purchaseId}.pdf`);
  const ticketPdf = (ticketId: string, session: TestSession | undefined) =>
    pdfOf(`/tickets/${ticketId}/ticket.pdf`, session, `ticket-${ticketId}.pdf`);
  const checkIn = (code: string) =>
    call('POST', '/check-in', { body: { code, performanceId: performance.id }, session: staff });

  it('prints an online purchase: one A4 page a ticket with its facts, its QR code the code the door admits', async () => {
    const { purchaseId, tickets } = await buy(2);
    const pdf = await purchasePdf(purchaseId);
    expect(pdf.pages).toBe(2);
    expect(pdf.texts).toHaveLength(2);
    const seoul = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Seoul',
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(performance.startsAt);
    tickets.forEach((ticket, index) => {
      const lines = pdf.texts[index]!.split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `ADMIT ONE · Ticket ${index + 1} of 2`,
          PRINTED_TITLE,
          'Hall',
          `${seoul.replace(' at ', ', ')} UTC+09:00 (Asia/Seoul)`,
          `Section Floor, row ${ticket.seat.rowLabel}, seat ${ticket.seat.number}`,
          'Price: KRW 198,000',
          'Holder: Grace Buyer',
          `Purchase: ${purchaseId}`,
          `Ticket: ${ticket.id}`,
          ticket.code,
        ]),
      );
    });
    // The QR code of each page is exactly the code the ticket list and the e-mail carry: it admits, once.
    expect(pdf.qrCodes).toEqual(tickets.map((ticket) => ticket.code));
    for (const code of pdf.qrCodes) expect((await checkIn(code!)).statusCode).toBe(200);
    expectUniform(await checkIn(pdf.qrCodes[0]!), 409);
  });

  it('prints a box office sale for an admin (the walk-up as holder), never for its clerk', async () => {
    const clerk = await createStaffSession(api.app, admin, 'window@example.test', 'Window Clerk');
    const seats = nextSeats(2);
    const sold = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      body: { seatIds: seats, paymentMethod: 'CASH', email: 'walkup@example.test', name: 'Jin Park' },
      session: clerk,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    const sale = sold.json() as { id: string; tickets: { ticketId: string; code: string }[] };
    await flushPurchases(api.app);

    const pdf = await purchasePdf(sale.id, admin);
    expect(pdf.pages).toBe(2);
    expect(pdf.texts.every((text) => text.includes('Holder: Jin Park'))).toBe(true);
    expect(pdf.texts.some((text) => text.includes('Window Clerk'))).toBe(false);
    // The codes the window printed with the sale's answer.
    expect(pdf.qrCodes).toEqual(sale.tickets.map((ticket) => ticket.code));
    expect((await checkIn(pdf.qrCodes[1]!)).statusCode).toBe(200);

    // The sale is the venue's: its clerk, another staff account, a buyer get what an unknown id gets.
    for (const session of [clerk, staff, buyer]) {
      expectUniform(await call('GET', `/purchases/${sale.id}/tickets.pdf`, { session }), 404);
      expectUniform(await call('GET', `/tickets/${sale.tickets[0]!.ticketId}/ticket.pdf`, { session }), 404);
    }
    const one = await ticketPdf(sale.tickets[0]!.ticketId, admin);
    expect(one.qrCodes).toEqual([sale.tickets[0]!.code]);
  });

  it("prints a guest comp for the issuing admin: the guest's name as holder, its price Free", async () => {
    const issued = await call('POST', `/admin/performances/${performance.id}/comps`, {
      body: {
        guest: { email: 'press@example.test', name: 'Lois Lane' },
        seatIds: nextSeats(1),
        note: 'press',
      },
      session: admin,
    });
    expect(issued.statusCode, issued.body).toBe(201);
    await flushPurchases(api.app);
    const pdf = await purchasePdf(issued.json().id, admin);
    expect(pdf.texts[0]!.split('\n')).toEqual(expect.arrayContaining(['Price: Free', 'Holder: Lois Lane']));
    expect(pdf.qrCodes[0]).toMatch(/^[A-Za-z0-9_-]{66}$/);
    expect((await checkIn(pdf.qrCodes[0]!)).statusCode).toBe(200);
  });

  it('answers only the owner and admins; anyone else as for an unknown id, with the uniform error body', async () => {
    const { purchaseId, tickets } = await buy(1);
    const ticketId = tickets[0]!.id;
    const unknownPurchase = '00000000-0000-4000-8000-000000000000';
    const table: { who: string; session: TestSession | undefined; status: number }[] = [
      { who: 'owner', session: buyer, status: 200 },
      { who: 'another buyer', session: other, status: 404 },
      { who: 'staff', session: staff, status: 404 },
      { who: 'admin', session: admin, status: 200 },
      { who: 'anonymous', session: undefined, status: 401 },
    ];
    for (const { who, session, status } of table) {
      for (const url of [`/purchases/${purchaseId}/tickets.pdf`, `/tickets/${ticketId}/ticket.pdf`]) {
        const res = await call('GET', url, { session });
        if (status === 200) {
          expect(res.statusCode, `${who} ${url}: ${res.body.slice(0, 200)}`).toBe(200);
          expect(readPdf(res.rawPayload).qrCodes, `${who} ${url}`).toEqual([tickets[0]!.code]);
        } else {
          const body = expectUniform(res, status);
          expect(JSON.stringify(body), `${who} ${url}`).not.toContain(tickets[0]!.code!);
        }
      }
    }
    // Unknown ids answer as another's; malformed ones 400.
    for (const session of [buyer, admin]) {
      expectUniform(await call('GET', `/purchases/${unknownPurchase}/tickets.pdf`, { session }), 404);
      expectUniform(await call('GET', '/tickets/999999999/ticket.pdf', { session }), 404);
    }
    expectUniform(await call('GET', '/purchases/not-a-uuid/tickets.pdf', { session: buyer }), 400);
    expectUniform(await call('GET', '/tickets/01/ticket.pdf', { session: buyer }), 400);
  });

  it('leaves refunded seats out; a whole refund prints nothing (409 PurchaseCanceled)', async () => {
    const { purchaseId, tickets } = await buy(3);
    const refunded = await call('POST', `/admin/purchases/${purchaseId}/refund`, {
      body: { seatIds: [tickets[1]!.seat.id] },
      session: admin,
    });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const pdf = await purchasePdf(purchaseId);
    expect(pdf.pages).toBe(2);
    expect(pdf.qrCodes).toEqual([tickets[0]!.code, tickets[2]!.code]);
    expect(pdf.texts.join('\n')).not.toContain(`Ticket: ${tickets[1]!.id}\n`);
    expect(pdf.texts[1]).toContain('ADMIT ONE · Ticket 2 of 2');
    const one = expectUniform(await call('GET', `/tickets/${tickets[1]!.id}/ticket.pdf`, { session: buyer }), 409);
    expect(one.message).toBe('ticket is canceled (its purchase was canceled or refunded, or this seat refunded)');

    const whole = await call('POST', `/admin/purchases/${purchaseId}/refund`, { session: admin });
    expect(whole.statusCode, whole.body).toBe(200);
    const canceled = expectUniform(await call('GET', `/purchases/${purchaseId}/tickets.pdf`, { session: buyer }), 409);
    expect(canceled.message).toBe(
      'purchase was canceled or refunded: its tickets admit no one, there is none to print',
    );
    expectUniform(await call('GET', `/tickets/${tickets[0]!.id}/ticket.pdf`, { session: buyer }), 409);
  });

  it("prints a transferred ticket for its new holder only, with the new code; the sender's PDF leaves it out", async () => {
    const friend = await createSession(api.app, { name: 'Ada Friend' });
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [friend.id]);
    const { purchaseId, tickets } = await buy(2);
    const offered = await call('POST', `/tickets/${tickets[0]!.id}/transfers`, {
      body: { email: friend.email },
      session: buyer,
    });
    expect(offered.statusCode, offered.body).toBe(202);
    const accepted = await call('POST', `/ticket-transfers/${offered.json().id}/accept`, { session: friend });
    expect(accepted.statusCode, accepted.body).toBe(200);

    const sender = await purchasePdf(purchaseId);
    expect(sender.pages).toBe(1);
    expect(sender.qrCodes).toEqual([tickets[1]!.code]);
    expectUniform(await call('GET', `/tickets/${tickets[0]!.id}/ticket.pdf`, { session: buyer }), 404);
    // The receiver holds no purchase: the purchase's PDF is not theirs.
    expectUniform(await call('GET', `/purchases/${purchaseId}/tickets.pdf`, { session: friend }), 404);

    const held = (await call('GET', '/tickets', { session: friend })).json().items as TicketBody[];
    const received = held.find((ticket) => ticket.id === tickets[0]!.id)!;
    expect(received.code).not.toBe(tickets[0]!.code);
    const pdf = await ticketPdf(tickets[0]!.id, friend);
    expect(pdf.pages).toBe(1);
    expect(pdf.texts[0]).toContain('Holder: Ada Friend');
    expect(pdf.qrCodes).toEqual([received.code]);
    // The old code is void; the printed one admits.
    expect(expectUniform(await checkIn(tickets[0]!.code!), 409).message).toMatch(/transferred to someone else/);
    expect((await checkIn(pdf.qrCodes[0]!)).statusCode).toBe(200);

    // Every ticket passed on: nothing left for the buyer to print.
    const single = await buy(1);
    const given = await call('POST', `/tickets/${single.tickets[0]!.id}/transfers`, {
      body: { email: friend.email },
      session: buyer,
    });
    expect((await call('POST', `/ticket-transfers/${given.json().id}/accept`, { session: friend })).statusCode).toBe(
      200,
    );
    const none = expectUniform(
      await call('GET', `/purchases/${single.purchaseId}/tickets.pdf`, { session: buyer }),
      409,
    );
    expect(none.message).toMatch(
      /^every ticket of this purchase was transferred to someone else: there is none to print/,
    );
  });

  it('answers 409 TicketsNotIssued with Retry-After before the purchase is written, as the ticket list; 404 to anyone else', async () => {
    // No batch runs here: the purchase stays in Redis and its stream until flushPurchases below.
    const held = await hold(api.app, buyer, performance.id, nextSeats(1));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    const pdfUrl = `/purchases/${bought.json().id}/tickets.pdf`;
    const early = await call('GET', pdfUrl, { session: buyer });
    expect(expectUniform(early, 409).message).toMatch(/^tickets are not issued yet; retry in \d+ s$/);
    expect(early.headers['retry-after']).toBe('1');
    // Another buyer learns nothing of it, before the flush as after: the 404 of an unknown id.
    const unknown = await call('GET', `/purchases/${randomUUID()}/tickets.pdf`, { session: other });
    expect(expectUniform(unknown, 404).message).toBe('purchase not found');
    const othersEarly = expectUniform(await call('GET', pdfUrl, { session: other }), 404);
    expect(othersEarly.message).toBe('purchase not found');
    await flushPurchases(api.app);
    expect((await purchasePdf(bought.json().id)).pages).toBe(1);
    expect(expectUniform(await call('GET', pdfUrl, { session: other }), 404).message).toBe('purchase not found');
  });

  it('limits one account to 20 renders per 15 minutes (429 TooManyTicketPrints, Retry-After); a 404 or 409 counts none', async () => {
    const printer = await createSession(api.app, { name: 'Loop Printer' });
    const { purchaseId, tickets } = await buy(1, printer);
    const ticketId = tickets[0]!.id;
    // A purchase of its own not written yet: 409 TicketsNotIssued, which renders, so counts, nothing.
    const held = await hold(api.app, printer, performance.id, nextSeats(1));
    const unwritten = await call('POST', '/purchases', { body: { reservationId: held.id }, session: printer });
    expect(unwritten.statusCode, unwritten.body).toBe(201);
    // Both routes count together.
    for (let i = 0; i < 19; i++) {
      if (i % 2 === 0) await purchasePdf(purchaseId, printer);
      else await ticketPdf(ticketId, printer);
    }
    expectUniform(await call('GET', `/purchases/${unwritten.json().id}/tickets.pdf`, { session: printer }), 409);
    expectUniform(
      await call('GET', '/purchases/00000000-0000-4000-8000-000000000000/tickets.pdf', { session: printer }),
      404,
    );
    expectUniform(await call('GET', `/tickets/${ticketId}/ticket.pdf`, { session: other }), 404);
    await ticketPdf(ticketId, printer);
    for (const url of [`/purchases/${purchaseId}/tickets.pdf`, `/tickets/${ticketId}/ticket.pdf`]) {
      const limited = await call('GET', url, { session: printer });
      const body = expectUniform(limited, 429);
      expect(body.details).toEqual({ code: 'TooManyTicketPrints', perWindow: 20, windowMinutes: 15 });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // Another account is not limited by it; an admin prints the printer's purchase still.
    const neighbour = await createSession(api.app, { name: 'Next Door' });
    const theirs = await buy(1, neighbour);
    expect((await purchasePdf(theirs.purchaseId, neighbour)).pages).toBe(1);
    expect((await purchasePdf(purchaseId, admin)).pages).toBe(1);
  });

  it(
    'renders from the built, bundled api: pdfkit finds its built-in fonts there',
    async () => {
      const { purchaseId, tickets } = await buy(1);
      const port = await freePort();
      const built = new AppProcess('api', { ...api.env, PORT: String(port) });
      try {
        await built.waitForLine('api listening');
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/purchases/${purchaseId}/tickets.pdf`, {
          headers: buyer.headers,
        });
        const body = Buffer.from(await res.arrayBuffer());
        expect(res.status, body.toString('utf8').slice(0, 300)).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/pdf');
        const pdf = readPdf(body);
        expect(pdf.texts[0]).toContain(PRINTED_TITLE);
        expect(pdf.qrCodes).toEqual([tickets[0]!.code]);
      } finally {
        built.kill('SIGTERM');
        await built.exited;
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
