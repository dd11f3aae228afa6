import { INestApplicationContext } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import jsQR from 'jsqr';
import { simpleParser } from 'mailparser';
import { PNG } from 'pngjs';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { parseEnv } from '@app/config';
import { createLogger } from '@app/logging';
import { createSession, createTestEnv, destroyTestEnv, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { TicketCodes } from '@app/ticketing';
import { ApiModule } from '../../api/src/api.module';
import { createApiApp } from '../../api/src/bootstrap';
import { caller, createPerformance, hold, flushPurchases } from '../../api/test/purchase-helpers';
import { dataSourceOf, startMailer, startRelay } from './mail-harness';
import { seedPerformance, seedPurchases } from './purchase-fixture';

describe('the purchase e-mail carries a QR code per ticket (outbox → RabbitMQ → mailer → SMTP)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let api: NestFastifyApplication;

  /** The codes of the QR images of a received e-mail, in the order its HTML shows them. */
  async function qrCodesOf(raw: string): Promise<(string | undefined)[]> {
    // keepCidLinks: mailparser would otherwise turn the cid: references into data: URLs.
    const parsed = await simpleParser(raw, { keepCidLinks: true });
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    return [...html.matchAll(/<img src="cid:([^"]+)"/g)].map(([, cid]) => {
      const image = parsed.attachments.find((attachment) => attachment.cid === cid);
      expect(image?.contentType).toBe('image/png');
      expect(image?.contentDisposition).toBe('inline');
      const png = PNG.sync.read(image!.content);
      return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
    });
  }

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({ SMTP_URL: smtp.url, PURCHASE_FLUSH_AGE_SECONDS: '0' });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    const logger = createLogger({ app: 'api', level: 'warn', dir: env.LOG_DIR, console: 'none' });
    api = await createApiApp(ApiModule, { overrides: env, logger });
    await api.init();
    await api.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await api?.close();
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('shows each ticket as an inline PNG whose QR code decodes to that ticket code', async () => {
    const performanceId = await seedPerformance(db, 1);
    const [purchase] = await seedPurchases(db, performanceId, 1);
    await waitUntil(() => smtp.received.some((e) => e.to.includes(purchase.buyerEmail)), 'e-mail received');
    const [received] = smtp.received.filter((e) => e.to.includes(purchase.buyerEmail));

    // The tickets as PostgreSQL has them, and their codes as GET /purchases/:id/tickets signs them.
    const rows: { id: string; seat_id: number; section: string; row_label: string; number: number }[] = await db.query(
      `SELECT t.id::text AS id, t.seat_id, s.section, s.row_label, s."number"
         FROM tickets t JOIN seats s ON s.id = t.seat_id WHERE t.purchase_id = $1 ORDER BY s.position`,
      [purchase.purchaseId],
    );
    expect(rows).toHaveLength(2);
    const codes = new TicketCodes(parseEnv(env));
    const expected = rows.map((row) =>
      codes.sign({
        ticketId: row.id,
        purchaseId: purchase.purchaseId,
        performanceId,
        seatId: row.seat_id,
        codeVersion: 0,
      }),
    );

    const parsed = await simpleParser(received.raw);
    const decoded = await qrCodesOf(received.raw);
    expect(decoded).toEqual(expected);
    // Each decoded code names its own seat, and the plain-text part spells the same codes out.
    expect(decoded.map((code) => codes.verify(code).seatId)).toEqual(rows.map((row) => row.seat_id));
    for (const [index, row] of rows.entries()) {
      expect(parsed.text).toContain(
        `Section ${row.section}, row ${row.row_label}, seat ${row.number}: ${expected[index]}`,
      );
    }
  });

  it('shows the same codes as GET /purchases/:id/tickets for a purchase made through the API', async () => {
    const admin = await createSession(api, { role: Role.Admin });
    const buyer = await createSession(api, { name: 'Ada Lovelace' });
    const performance = await createPerformance(api, admin, 10);
    const held = await hold(api, buyer, performance.id, performance.seatIds.slice(0, 3));
    const call = caller(api);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode).toBe(201);
    await flushPurchases(api, { batchSize: 100 });

    const listed = await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer });
    expect(listed.statusCode).toBe(200);
    const codes = listed.json().items.map((ticket: { code: string }) => ticket.code);
    expect(codes).toHaveLength(3);
    await waitUntil(() => smtp.received.some((e) => e.to.includes(buyer.email)), 'e-mail received');
    const [received] = smtp.received.filter((e) => e.to.includes(buyer.email));
    expect(await qrCodesOf(received.raw)).toEqual(codes);
  });
});
