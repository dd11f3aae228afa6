import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from './purchase-completed';
import { ticketHolderRescheduledMessageId, toTicketHolderRescheduled } from './ticket-holder-rescheduled';

const HOLDER = '0b5c1f2e-8d7a-4c3b-9e1f-2a3b4c5d6e7f';
const body = {
  type: 'ticket-holder.rescheduled',
  holderId: HOLDER.toUpperCase(),
  performanceId: 9,
  rescheduleId: '12',
  previousStartsAt: '2030-03-01T19:00:00.000Z',
};

describe('ticket-holder.rescheduled contract', () => {
  it('reads a body, the holder id in lower case', () => {
    expect(toTicketHolderRescheduled(body)).toEqual({ ...body, holderId: HOLDER });
  });

  it.each([
    ['holderId', { holderId: 'nope' }],
    ['performanceId', { performanceId: '9' }],
    ['performanceId', { performanceId: 0 }],
    ['rescheduleId', { rescheduleId: '012' }],
    ['previousStartsAt', { previousStartsAt: 'yesterday' }],
  ])('refuses a bad %s', (field, change) => {
    expect(() => toTicketHolderRescheduled({ ...body, ...change })).toThrow(new MalformedMessageError(field));
  });

  it('names one message per move and holder', () => {
    expect(ticketHolderRescheduledMessageId('12', HOLDER)).toBe(`ticket-transfer-holder-rescheduled:12.${HOLDER}`);
  });
});
