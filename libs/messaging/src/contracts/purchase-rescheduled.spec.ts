import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { MalformedMessageError } from './purchase-completed';
import { PURCHASE_RESCHEDULED_TYPE, purchaseRescheduledMessageId } from './purchase-rescheduled';

const PURCHASE = '0B6F3F5E-6D2C-4A43-9D55-2F0B0C1D2E3F';
const body = {
  type: PURCHASE_RESCHEDULED_TYPE,
  purchaseId: PURCHASE,
  rescheduleId: '42',
  previousStartsAt: '2030-03-01T19:00:00.000Z',
  startsAt: '2030-03-08T19:00:00+00:00',
};
const parse = (value: unknown) => parseMailMessage(Buffer.from(JSON.stringify(value)));

describe('purchase-rescheduled contract', () => {
  it('names the message after its move and purchase, with one colon (the Message-ID header takes it as a dot)', () => {
    expect(purchaseRescheduledMessageId('42', PURCHASE.toLowerCase())).toBe(
      `performance-rescheduled:42.${PURCHASE.toLowerCase()}`,
    );
  });

  it('is told apart on the mail queue by its type, with the purchase id in lower case', () => {
    expect(parse(body)).toEqual({
      kind: 'rescheduled',
      message: { ...body, purchaseId: PURCHASE.toLowerCase() },
    });
  });

  it.each([
    ['purchaseId', { purchaseId: 'not-a-uuid' }],
    ['rescheduleId', { rescheduleId: '0' }],
    ['rescheduleId', { rescheduleId: 42 }],
    ['previousStartsAt', { previousStartsAt: 'yesterday' }],
    ['startsAt', { startsAt: undefined }],
  ])('refuses a body with a bad %s', (field, change) => {
    expect(() => parse({ ...body, ...change })).toThrow(MalformedMessageError);
    expect(() => parse({ ...body, ...change })).toThrow(field);
  });
});
