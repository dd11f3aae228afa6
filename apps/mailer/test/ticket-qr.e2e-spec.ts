import { INestApplicationContext } from '@nestjs/common';
import jsQR from 'jsqr';
import { simpleParser } from 'mailparser';
import { PNG } from 'pngjs';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnv, destroyTestEnv, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { TicketCodes } from '@app/ticketing';
import { dataSourceOf, startMailer, startRelay } from './mail-harness';
import { seedPerformance, seedPurchases } from './purchase-fixture';

describe('the purchase e-mail carries a QR code per ticket (outbox → RabbitMQ → mailer → SMTP)', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = createTestEnv({ SMTP_URL: smtp.url });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
  });
  afterAll(async () => {
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
    const rows: { id: string; seat_id: number; section: string; row: number; number: number }[] = await db.query(
      `SELECT t.id::text AS id, t.seat_id, s.section, s."row", s."number"
         FROM tickets t JOIN seats s ON s.id = t.seat_id WHERE t.purchase_id = $1 ORDER BY s.position`,
      [purchase.purchaseId],
    );
    expect(rows).toHaveLength(2);
    const codes = new TicketCodes(parseEnv(env));
    const expected = rows.map((row) =>
      codes.sign({ ticketId: row.id, purchaseId: purchase.purchaseId, performanceId, seatId: row.seat_id }),
    );

    // keepCidLinks: mailparser would otherwise turn the cid: references into data: URLs.
    const parsed = await simpleParser(received.raw, { keepCidLinks: true });
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    const cids = [...html.matchAll(/<img src="cid:([^"]+)"/g)].map((match) => match[1]);
    expect(cids).toHaveLength(2);
    const decoded = cids.map((cid) => {
      const image = parsed.attachments.find((attachment) => attachment.cid === cid);
      expect(image?.contentType).toBe('image/png');
      expect(image?.contentDisposition).toBe('inline');
      const png = PNG.sync.read(image!.content);
      return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
    });
    expect(decoded).toEqual(expected);
    // Each decoded code names its own seat, and the plain-text part spells the same codes out.
    expect(decoded.map((code) => codes.verify(code).seatId)).toEqual(rows.map((row) => row.seat_id));
    for (const [index, row] of rows.entries()) {
      expect(parsed.text).toContain(`Section ${row.section}, row ${row.row}, seat ${row.number}: ${expected[index]}`);
    }
  });
});
