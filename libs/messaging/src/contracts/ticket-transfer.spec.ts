import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { MalformedMessageError } from './purchase-completed';
import {
  TICKET_TRANSFER_TYPE,
  ticketTransferMessageId,
  ticketTransferMessageIdOf,
  ticketTransferRescheduledMessageId,
  toTicketTransfer,
} from './ticket-transfer';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';

describe('ticket-transfer contract', () => {
  it('names each e-mail of a transfer apart, as the outbox rows are named', () => {
    expect(ticketTransferMessageId(TRANSFER, 'offered')).toBe(`ticket-transfer-offered:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'accepted')).toBe(`ticket-transfer-accepted:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'canceled')).toBe(`ticket-transfer-canceled:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'received')).toBe(`ticket-transfer-received:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'declined')).toBe(`ticket-transfer-declined:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'withdrawn')).toBe(`ticket-transfer-withdrawn:${TRANSFER}`);
  });

  it.each(['offered', 'accepted', 'received', 'declined', 'withdrawn', 'canceled'] as const)(
    'reads the %s event',
    (event) => {
      expect(toTicketTransfer({ type: TICKET_TRANSFER_TYPE, transferId: TRANSFER, event }).event).toBe(event);
    },
  );

  it('reads the new-date offer of one move, named by the move and the transfer', () => {
    const message = toTicketTransfer({
      type: TICKET_TRANSFER_TYPE,
      transferId: TRANSFER,
      event: 'rescheduled',
      rescheduleId: '42',
    });
    expect(message).toEqual({
      type: TICKET_TRANSFER_TYPE,
      transferId: TRANSFER,
      event: 'rescheduled',
      rescheduleId: '42',
    });
    expect(ticketTransferRescheduledMessageId('42', TRANSFER)).toBe(`ticket-transfer-rescheduled:42.${TRANSFER}`);
    expect(ticketTransferMessageIdOf(message)).toBe(`ticket-transfer-rescheduled:42.${TRANSFER}`);
    expect(ticketTransferMessageIdOf({ type: TICKET_TRANSFER_TYPE, transferId: TRANSFER, event: 'offered' })).toBe(
      `ticket-transfer-offered:${TRANSFER}`,
    );
  });

  it('reads a valid message from the mail queue by its type, the id in lower case', () => {
    const body = { type: TICKET_TRANSFER_TYPE, transferId: TRANSFER.toUpperCase(), event: 'offered' };
    expect(parseMailMessage(Buffer.from(JSON.stringify(body)))).toEqual({
      kind: 'ticket-transfer',
      message: { type: TICKET_TRANSFER_TYPE, transferId: TRANSFER, event: 'offered' },
    });
  });

  it.each([
    ['a bad transfer id', { transferId: 't-1', event: 'offered' }],
    ['no transfer id', { event: 'accepted' }],
    ['an unknown event', { transferId: TRANSFER, event: 'rejected' }],
    ['an event that is no string', { transferId: TRANSFER, event: ['offered'] }],
    ['an event of Object.prototype', { transferId: TRANSFER, event: 'toString' }],
    ['another type', { type: 'password-reset', transferId: TRANSFER, event: 'offered' }],
    ['a new-date offer without its move', { transferId: TRANSFER, event: 'rescheduled' }],
    ['a new-date offer with a bad move id', { transferId: TRANSFER, event: 'rescheduled', rescheduleId: '0x2a' }],
  ])('refuses %s', (_name, fields) => {
    expect(() => toTicketTransfer({ type: TICKET_TRANSFER_TYPE, ...fields })).toThrow(MalformedMessageError);
  });
});
