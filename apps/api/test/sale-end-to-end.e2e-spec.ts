import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, AppProcess, createSession, TestSession, TestSmtpServer, waitUntil } from '@app/testing';
import { field, readLogFiles } from '../../../deploy/test/app-logs';
import { startTestApi } from './support/api';

/**
 * The whole sale across the three processes, as deployed: the API answers, the built `batch`
 * flushes and relays, the built `mailer` sends through a real SMTP server.
 */
describe('a sale end to end: hold → purchase → PostgreSQL → exactly one e-mail', () => {
  let api: ApiHarness;
  let smtp: TestSmtpServer;
  let batch: AppProcess;
  let mailer: AppProcess;
  let admin: TestSession;
  let buyer: TestSession;
  let db: Client;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    api = await startTestApi({
      PURCHASE_FLUSH_AGE_SECONDS: '1',
      SMTP_URL: smtp.url,
    });
    batch = new AppProcess('batch', api.env);
    mailer = new AppProcess('mailer', api.env);
    await Promise.all([batch.waitForLine('batch started'), mailer.waitForLine('mailer started')]);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app, { name: 'Min-ji Kim' });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    for (const proc of [batch, mailer]) {
      if (!proc) continue;
      proc.kill('SIGTERM');
      await proc.exited;
    }
    await api?.close();
    await smtp?.stop();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object, session?: TestSession) =>
    api.app.inject({ method, url: `/api/v1${url}`, payload, headers: session?.headers });

  it('persists the purchase after the flush age and mails the buyer once', async () => {
    const event = (await call('POST', '/events', { title: 'Jazz at Dawn', venue: 'Blue Note Seoul' }, admin)).json();
    const performance = (
      await call(
        'POST',
        `/events/${event.id}/performances`,
        {
          startsAt: '2030-06-01T20:00:00Z',
          salesOpenAt: '2020-01-01T00:00:00Z',
          sections: [{ name: 'Table', grade: 'VIP', price: 1050, rows: 2, seatsPerRow: 5 }],
        },
        admin,
      )
    ).json();
    const seats = (await call('GET', `/performances/${performance.id}/seats?limit=3`)).json().items;

    const hold = await call(
      'POST',
      '/reservations',
      { performanceId: performance.id, seatIds: [seats[0].id, seats[1].id] },
      buyer,
    );
    expect(hold.statusCode).toBe(201);
    const purchase = await call('POST', '/purchases', { reservationId: hold.json().id }, buyer);
    expect(purchase.statusCode).toBe(201);
    const { id: purchaseId, amount, currency } = purchase.json();
    // Two seats of 1050 in KRW (the default currency): 2100 won, in minor units as entered.
    expect({ amount, currency }).toEqual({ amount: 2100, currency: 'KRW' });

    await waitUntil(
      async () => (await db.query('SELECT 1 FROM purchases WHERE id = $1', [purchaseId])).rowCount === 1,
      'purchase flushed to PostgreSQL',
      20_000,
    );
    const stored = await db.query('SELECT amount, currency FROM purchases WHERE id = $1', [purchaseId]);
    expect(stored.rows).toEqual([{ amount: '2100', currency: 'KRW' }]);
    const tickets = await db.query("SELECT seat_id FROM tickets WHERE purchase_id = $1 AND status = 'ACTIVE'", [
      purchaseId,
    ]);
    expect(tickets.rows.map((r) => r.seat_id).sort()).toEqual([seats[0].id, seats[1].id].sort());

    await waitUntil(() => smtp.received.length >= 1, 'e-mail received', 30_000);
    // The mailer finished the message (its delivery row committed, the message acknowledged):
    // a copy coming again would find the row, so no duplicate can follow the count.
    await mailer.waitForLine(`e-mail sent for purchase ${purchaseId}`);
    const mails = smtp.received.filter((m) => m.text.includes(purchaseId));
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toEqual([buyer.email]);
    expect(mails[0].subject).toContain('Jazz at Dawn');
    expect(mails[0].html).toContain('Blue Note Seoul');
    expect(mails[0].text).toContain('Amount:    ₩2,100');
    expect(mails[0].html).toContain('₩2,100');
    const deliveries = await db.query('SELECT count(*)::int AS n FROM email_deliveries WHERE purchase_id = $1', [
      purchaseId,
    ]);
    expect(deliveries.rows[0].n).toBe(1);

    // One key follows the purchase through the logs: the api's access line of its request names
    // what it created, the mailer's delivery line the purchase (Kibana: one search by its id).
    const logged = (app: string, name: string, value: string) =>
      readLogFiles(api.env.LOG_DIR, app).filter((line) => field(line, name) === value);
    await waitUntil(
      () => logged('api', 'boxoffice.created', `/api/v1/purchases/${purchaseId}`).length === 1,
      'the access line of the purchase',
    );
    const [access] = logged('api', 'boxoffice.created', `/api/v1/purchases/${purchaseId}`);
    expect(field(access, 'http.request.method')).toBe('POST');
    expect(field(access, 'http.response.status_code')).toBe(201);
    await waitUntil(
      () => logged('mailer', 'boxoffice.mail.purchase_id', purchaseId).length === 1,
      "the mailer's line of the confirmation",
    );
    const [delivery] = logged('mailer', 'boxoffice.mail.purchase_id', purchaseId);
    expect(field(delivery, 'boxoffice.mail')).toEqual({ kind: 'completed', outcome: 'sent', purchase_id: purchaseId });

    const detail = (await call('GET', `/performances/${performance.id}`)).json();
    expect(detail).toMatchObject({ sold: 2, held: 0, available: 8 });
  });

  it('sends no confirmation for a purchase canceled before the flush, while the resold seat is confirmed', async () => {
    const event = (await call('POST', '/events', { title: 'Cancel Night', venue: 'Hall C' }, admin)).json();
    const performance = (
      await call(
        'POST',
        `/events/${event.id}/performances`,
        {
          startsAt: '2030-06-01T20:00:00Z',
          salesOpenAt: '2020-01-01T00:00:00Z',
          sections: [{ name: 'Floor', grade: 'R', price: 50000, rows: 1, seatsPerRow: 2 }],
        },
        admin,
      )
    ).json();
    const [seat] = (await call('GET', `/performances/${performance.id}/seats?limit=1`)).json().items;
    const buy = async (session: TestSession) => {
      const hold = await call('POST', '/reservations', { performanceId: performance.id, seatIds: [seat.id] }, session);
      expect(hold.statusCode).toBe(201);
      const purchase = await call('POST', '/purchases', { reservationId: hold.json().id }, session);
      expect(purchase.statusCode).toBe(201);
      return purchase.json().id as string;
    };

    const canceledId = await buy(buyer);
    expect((await call('POST', `/purchases/${canceledId}/cancel`, undefined, buyer)).statusCode).toBe(200);
    const secondBuyer = await createSession(api.app, { name: 'Second Buyer' });
    const resoldId = await buy(secondBuyer);

    await mailer.waitForLine(`purchase ${canceledId} was canceled before its confirmation went out`, 30_000);
    await waitUntil(() => smtp.received.some((m) => m.text.includes(resoldId)), 'e-mail of the resale', 30_000);
    expect(smtp.received.filter((m) => m.text.includes(canceledId))).toEqual([]);
    const states = await db.query('SELECT id, status FROM purchases WHERE id = ANY($1) ORDER BY status', [
      [canceledId, resoldId],
    ]);
    expect(states.rows).toEqual([
      { id: resoldId, status: 'PAID' },
      { id: canceledId, status: 'CANCELED' },
    ]);
  });
});
