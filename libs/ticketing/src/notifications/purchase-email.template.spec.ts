import { describe, expect, it } from 'vitest';
import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import { escapeHtml, formatAmount, formatStartTime, renderPurchaseEmail } from './purchase-email.template';

const receipt: PurchaseReceipt = {
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  status: PurchaseStatus.Paid,
  buyerEmail: 'ana@example.test',
  buyerName: 'Ana <Admin>',
  eventTitle: 'Rock & Roll Night',
  venue: 'Olympic Hall',
  performanceStartsAt: new Date('2026-12-31T20:30:00.000Z'),
  amount: 150,
  purchasedAt: new Date('2026-11-25T12:00:00.000Z'),
  seats: [
    { section: 'A', row: 3, number: 7 },
    { section: 'A', row: 3, number: 8 },
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
      'Section A, row 3, seat 7; Section A, row 3, seat 8',
      '150.00',
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
      '<li>Section A, row 3, seat 7</li><li>Section A, row 3, seat 8</li>',
      '150.00',
      receipt.purchaseId,
    ]) {
      expect(email.html).toContain(part);
    }
    expect(email.html).not.toContain('<Admin>');
  });

  it('formats amounts, times and HTML text', () => {
    expect(formatAmount(99.5)).toBe('99.50');
    expect(formatStartTime(new Date('2026-01-02T03:04:00Z'))).toBe('Friday, 2 January 2026, 03:04 UTC');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
