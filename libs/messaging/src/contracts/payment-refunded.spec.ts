import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { paymentRefundedMessageId, toPaymentRefunded } from './payment-refunded';
import { MalformedMessageError } from './purchase-completed';
import { ROUTING, URGENT_MAIL_ROUTING } from './routing';

const PURCHASE = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';

describe('payment-refunded contract', () => {
  const valid = {
    type: 'payment-refunded',
    purchaseId: PURCHASE,
    email: 'ada@example.com',
    name: 'Ada',
    amount: 2100,
    currency: 'EUR',
    eventTitle: 'Hamlet',
    venue: 'Olympic Hall',
    timeZone: 'Europe/Paris',
    startsAt: '2027-03-14T19:30:00.000Z',
    refundedAt: '2026-12-07T11:00:00.000Z',
  };

  it('names the message after the payment attempt and travels on the urgent mail queue', () => {
    expect(paymentRefundedMessageId(PURCHASE)).toBe(`payment-refunded:${PURCHASE}`);
    expect(URGENT_MAIL_ROUTING).toContain(ROUTING.paymentRefunded);
  });

  it('reads a notice from the mail queue by its type', () => {
    expect(parseMailMessage(Buffer.from(JSON.stringify(valid)))).toEqual({ kind: 'payment-refunded', message: valid });
    expect(toPaymentRefunded({ ...valid, purchaseId: PURCHASE.toUpperCase() }).purchaseId).toBe(PURCHASE);
  });

  it.each([
    ['a bad purchase id', { ...valid, purchaseId: 'p-1' }],
    ['no address', { ...valid, email: undefined }],
    ['no name', { ...valid, name: undefined }],
    ['an amount of 0', { ...valid, amount: 0 }],
    ['a fractional amount', { ...valid, amount: 21.5 }],
    ['an amount as text', { ...valid, amount: '2100' }],
    ['a bad currency', { ...valid, currency: 'euro' }],
    ['no event title', { ...valid, eventTitle: '' }],
    ['no venue', { ...valid, venue: undefined }],
    ['no time zone', { ...valid, timeZone: undefined }],
    ['a bad start', { ...valid, startsAt: 'soon' }],
    ['a bad refund time', { ...valid, refundedAt: 'now' }],
  ])('refuses %s', (_name, body) => {
    expect(() => toPaymentRefunded(body)).toThrow(MalformedMessageError);
  });
});
