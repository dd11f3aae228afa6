import { describe, expect, it } from 'vitest';
import { renderPaymentRefundedEmail } from './payment-refunded-email.template';

const PURCHASE = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';

describe('renderPaymentRefundedEmail', () => {
  const input = {
    purchaseId: PURCHASE,
    name: 'Ada <Lovelace>',
    amount: 198000,
    currency: 'KRW',
    eventTitle: 'Hamlet & Co',
    venue: 'Olympic Hall',
    timeZone: 'Asia/Seoul',
    startsAt: new Date('2027-03-14T10:30:00Z'),
    refundedAt: new Date('2026-12-07T11:05:00Z'),
  };

  it('says the payment could not be completed, was refunded, and no tickets were issued, with the amount as the other mails show it', () => {
    const email = renderPaymentRefundedEmail(input);
    expect(email.subject).toBe('Refunded: your payment for Hamlet & Co');
    expect(email.text).toMatch(/^Hello Ada <Lovelace>,$/m);
    expect(email.text).toContain(
      'your payment of ₩198,000 for Hamlet & Co (Sunday, 14 March 2027, 19:30 UTC+09:00 (Asia/Seoul)) could not be completed and has been refunded; no tickets were issued.',
    );
    expect(email.text).toMatch(/^Refund: {4}₩198,000$/m);
    expect(email.text).toMatch(/^Venue: {5}Olympic Hall$/m);
    expect(email.text).toMatch(/^Refunded: {2}Monday, 7 December 2026, 20:05 UTC\+09:00 \(Asia\/Seoul\)$/m);
    expect(email.text).toContain(PURCHASE);
  });

  it('escapes what it shows in its HTML part', () => {
    const { html } = renderPaymentRefundedEmail(input);
    expect(html).toContain('Hello Ada &lt;Lovelace&gt;,');
    expect(html).toContain('<strong>Hamlet &amp; Co</strong>');
    expect(html).toContain('<strong>₩198,000</strong>');
    expect(html).toContain('no tickets were issued');
    expect(html).not.toContain('<Lovelace>');
  });

  it('shows minor units by the currency’s exponent', () => {
    expect(renderPaymentRefundedEmail({ ...input, amount: 2100, currency: 'EUR' }).text).toContain(
      'your payment of €21.00 for',
    );
  });
});
