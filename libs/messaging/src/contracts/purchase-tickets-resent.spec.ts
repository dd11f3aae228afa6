import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { MalformedMessageError } from './purchase-completed';
import { purchaseTicketsResentMessageId, toPurchaseTicketsResent } from './purchase-tickets-resent';

const PURCHASE = '0190f0a4-7b1c-8000-8000-000000000001';
const RESEND = '5b0b2a3e-4c1d-4e5f-8a6b-7c8d9e0f1a2b';

describe('purchase-tickets-resent contract', () => {
  it('parses from the mail queue by its type, ids in lower case', () => {
    const body = {
      type: 'purchase.tickets-resent',
      purchaseId: PURCHASE.toUpperCase(),
      resendId: RESEND,
      requestedBy: 'buyer',
    };
    expect(parseMailMessage(Buffer.from(JSON.stringify(body)))).toEqual({
      kind: 'tickets-resent',
      message: { type: 'purchase.tickets-resent', purchaseId: PURCHASE, resendId: RESEND, requestedBy: 'buyer' },
    });
    expect(purchaseTicketsResentMessageId(RESEND)).toBe(`purchase-tickets-resent:${RESEND}`);
  });

  it("carries an operator's one ticket (`ticketId`) when given", () => {
    const body = { type: 'purchase.tickets-resent', purchaseId: PURCHASE, resendId: RESEND, requestedBy: 'operator' };
    expect(toPurchaseTicketsResent({ ...body, ticketId: '1024' })).toEqual({ ...body, ticketId: '1024' });
    expect(toPurchaseTicketsResent(body)).not.toHaveProperty('ticketId');
  });

  it.each([
    ['purchaseId', { purchaseId: 'x' }],
    ['resendId', { resendId: 42 }],
    ['requestedBy', { requestedBy: 'someone' }],
    ['ticketId', { ticketId: 1024 }],
    ['ticketId', { ticketId: '01' }],
  ])('refuses a body with a bad %s', (_, change) => {
    const body = {
      type: 'purchase.tickets-resent',
      purchaseId: PURCHASE,
      resendId: RESEND,
      requestedBy: 'operator',
      ...change,
    };
    expect(() => toPurchaseTicketsResent(body)).toThrow(MalformedMessageError);
  });
});
