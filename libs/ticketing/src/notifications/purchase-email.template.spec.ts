import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import { RECEIPT } from '../../test/receipts';
import { escapeHtml } from './email-layout';
import {
  formatAmount,
  formatStartTime,
  renderPurchaseEmail,
  renderTicketsResentEmail,
} from './purchase-email.template';
import { renderTicketQr } from './ticket-qr';

const receipt: PurchaseReceipt = {
  ...RECEIPT,
  status: PurchaseStatus.Paid,
  buyerName: 'Ana <Admin>',
  eventTitle: 'Rock & Roll Night',
  seats: [
    { seatId: 4005, section: 'A', row: 3, rowLabel: 'C', number: 7 },
    { seatId: 4006, section: 'A', row: 3, rowLabel: 'C', number: 8 },
  ],
};

describe('purchase e-mail template', () => {
  const email = renderPurchaseEmail(receipt);

  it('names the event in the subject', () => {
    expect(email.subject).toBe('Your tickets for Rock & Roll Night');
  });

  it('gives event, venue, time, seats, amount and purchase id in the text', () => {
    for (const part of [
      'Hello Ana <Admin>,',
      'Rock & Roll Night',
      'Olympic Hall',
      'Thursday, 31 December 2026, 20:30 UTC',
      'Section A, row C, seat 7; Section A, row C, seat 8',
      'Amount:    ₩198,000',
      receipt.purchaseId,
    ]) {
      expect(email.text).toContain(part);
    }
  });

  it('gives the same in the HTML, escaped', () => {
    for (const part of [
      'Hello Ana &lt;Admin&gt;,',
      'Rock &amp; Roll Night',
      'Olympic Hall',
      '<li>Section A, row C, seat 7</li><li>Section A, row C, seat 8</li>',
      '<td>₩198,000</td>',
      receipt.purchaseId,
    ]) {
      expect(email.html).toContain(part);
    }
    expect(email.html).not.toContain('<Admin>');
  });

  it('reads a free purchase (amount 0) as free, with no amount charged', () => {
    const free = renderPurchaseEmail({ ...receipt, amount: 0, currency: 'EUR' });
    expect(free.text).toContain('Amount:    Free, nothing charged');
    expect(free.html).toContain('<td>Free, nothing charged</td>');
    expect(free.text).not.toContain('€0.00');
    expect(free.html).not.toContain('€0.00');
  });

  it("words a comp as the box office's gift, not a purchase: no thanks for buying, no amount, the venue's compliments", () => {
    const comp = renderPurchaseEmail({ ...receipt, comp: true, amount: 0, currency: 'EUR' });
    expect(comp.subject).toBe('Your complimentary tickets for Rock & Roll Night');
    expect(comp.text).toContain(
      'here are your complimentary tickets for Rock & Roll Night, with the compliments of Olympic Hall.',
    );
    expect(comp.html).toContain(
      'complimentary tickets for <strong>Rock &amp; Roll Night</strong>, with the compliments of Olympic Hall.',
    );
    for (const body of [comp.text, comp.html]) {
      expect(body).not.toMatch(/purchase/i);
      expect(body).not.toContain('Amount');
      expect(body).toContain(receipt.purchaseId);
    }
  });

  it('formats an amount in minor units by its currency', () => {
    expect(formatAmount(2100, 'EUR')).toBe('€21.00');
    expect(formatAmount(198000, 'KRW')).toBe('₩198,000');
    expect(formatAmount(1050, 'KRW')).toBe('₩1,050');
    expect(formatAmount(1050, 'EUR')).toBe('€10.50');
    expect(formatAmount(5, 'USD')).toBe('$0.05');
    expect(formatAmount(0, 'EUR')).toBe('€0.00');
    expect(formatAmount(1234, 'JPY')).toBe('¥1,234');
    expect(formatAmount(1005, 'BHD')).toBe('BHD\u00a01.005');
    // ISO 4217's minor unit, not ICU's display digits (which show HUF, COP, IDR with 0, IQD with 0).
    expect(formatAmount(150000, 'HUF')).toBe('HUF\u00a01,500.00');
    expect(formatAmount(250000, 'COP')).toBe('COP\u00a02,500.00');
    expect(formatAmount(5000000, 'IDR')).toBe('IDR\u00a050,000.00');
    expect(formatAmount(1050, 'IQD')).toBe('IQD\u00a01.050');
    // As a double, 9007199254740991 / 100 would print as …409.90: the digits are shifted, not divided.
    expect(formatAmount(Number.MAX_SAFE_INTEGER, 'EUR')).toBe('€90,071,992,547,409.91');
    expect(() => formatAmount(10.5, 'EUR')).toThrow(RangeError);
  });

  it("shows the start on the venue's wall clock with the offset, in both parts", () => {
    const seoul = renderPurchaseEmail({ ...receipt, timeZone: 'Asia/Seoul' });
    // 20:30 UTC on New Year's Eve is 05:30 on New Year's Day in Seoul.
    const when = 'Friday, 1 January 2027, 05:30 UTC+09:00 (Asia/Seoul)';
    expect(seoul.text).toContain(`When:      ${when}`);
    expect(seoul.html).toContain(`<td>${when}</td>`);
  });

  it('shows a EUR purchase in euros', () => {
    const euros = renderPurchaseEmail({ ...receipt, amount: 2100, currency: 'EUR' });
    expect(euros.text).toContain('Amount:    €21.00');
    expect(euros.html).toContain('<td>€21.00</td>');
  });

  it('formats times and HTML text', () => {
    expect(formatStartTime(new Date('2026-01-02T03:04:00Z'))).toBe('Friday, 2 January 2026, 03:04 UTC');
    expect(formatStartTime(new Date('2027-03-01T10:30:00Z'), 'Asia/Seoul')).toBe(
      'Monday, 1 March 2027, 19:30 UTC+09:00 (Asia/Seoul)',
    );
    // New York: the day before in UTC terms, -05:00 in winter, -04:00 in summer.
    expect(formatStartTime(new Date('2027-01-15T00:30:00Z'), 'America/New_York')).toBe(
      'Thursday, 14 January 2027, 19:30 UTC-05:00 (America/New_York)',
    );
    expect(formatStartTime(new Date('2027-07-15T23:30:00Z'), 'America/New_York')).toBe(
      'Thursday, 15 July 2027, 19:30 UTC-04:00 (America/New_York)',
    );
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('tickets in the purchase e-mail', () => {
  const tickets = [
    {
      seat: { section: 'A', row: 3, rowLabel: 'C', number: 7 },
      code: 'AQAAAAAAAAAB-first_code',
      qrCid: 'ticket-1@boxoffice',
    },
    {
      seat: { section: 'A', row: 3, rowLabel: 'C', number: 8 },
      code: 'AQAAAAAAAAAC-second_code',
      qrCid: 'ticket-2@boxoffice',
    },
  ];
  const email = renderPurchaseEmail(receipt, tickets);

  it('shows each ticket as an inline QR image with its code written out', () => {
    expect(email.html).toContain('<img src="cid:ticket-1@boxoffice" width="240" height="240"');
    expect(email.html).toContain('<img src="cid:ticket-2@boxoffice" width="240" height="240"');
    expect(email.html).toContain('AQAAAAAAAAAC-second_code');
    expect(email.html).not.toContain('Show this e-mail or the purchase id');
  });

  it('lists every seat with its code in the plain text', () => {
    expect(email.text).toContain('  Section A, row C, seat 7: AQAAAAAAAAAB-first_code');
    expect(email.text).toContain('  Section A, row C, seat 8: AQAAAAAAAAAC-second_code');
  });

  it('draws a QR code that a decoder reads back as the ticket code', async () => {
    const code = 'AQAAAAAAAAQAC2_zXm0sSkOdVS8LDB0uPwAAACoAAAV5y4mZpWnB3NYUQEzVwJ7Ehw';
    const png = PNG.sync.read(await renderTicketQr(code));
    expect(png.width).toBe(360);
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data).toBe(code);
  });
});

describe('tickets e-mailed again', () => {
  const tickets = [
    {
      seat: { section: 'A', row: 3, rowLabel: 'C', number: 7 },
      code: 'AQAAAAAAAAAB-first_code',
      qrCid: 'ticket-1@boxoffice',
      checkedInAt: new Date('2026-12-31T19:02:00.000Z'),
    },
  ];
  const gone = { ...receipt, timeZone: 'Europe/Berlin', transferredSeats: [receipt.seats[1]] };

  it('is not a receipt: a subject of its own, no amount, no thanks; who asked says so', () => {
    const email = renderTicketsResentEmail(gone, tickets, 'buyer');
    expect(email.subject).toBe('Your tickets for Rock & Roll Night, sent again');
    expect(email.text).toContain('As you asked, here are your tickets for Rock & Roll Night again.');
    expect(email.text).not.toContain('thank you');
    expect(email.text).not.toContain('₩198,000');
    expect(renderTicketsResentEmail(gone, tickets, 'operator').text).toContain(
      'The box office sent you your tickets for Rock & Roll Night again.',
    );
  });

  it('lists as its seats only the tickets it carries, and names a ticket given away apart', () => {
    const email = renderTicketsResentEmail(gone, tickets, 'buyer');
    const seatsLine = email.text.split('\n').find((line) => line.startsWith('Seats'));
    expect(seatsLine).toContain('Section A, row C, seat 7');
    expect(seatsLine).not.toContain('seat 8');
    expect(email.text).toContain('Passed on: Section A, row C, seat 8 (its holder has it)');
  });

  it("marks a ticket checked in already, on the venue's clock, in the text and the HTML", () => {
    const email = renderTicketsResentEmail(gone, tickets, 'buyer');
    const used = '(checked in at Thursday, 31 December 2026, 20:02 UTC+01:00 (Europe/Berlin): it admits no one again)';
    expect(email.text).toContain(`  Section A, row C, seat 7: AQAAAAAAAAAB-first_code ${used}`);
    expect(email.html).toContain(`<p><em>${escapeHtml(used)}</em></p>`);
    const unused = renderTicketsResentEmail(gone, [{ ...tickets[0], checkedInAt: null }], 'buyer');
    expect(unused.text).not.toContain('checked in');
  });
});
