import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { MalformedMessageError } from './purchase-completed';
import { TICKET_TRANSFER_TYPE, ticketTransferMessageId, toTicketTransfer } from './ticket-transfer';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';

describe('ticket-transfer contract', () => {
  it('names each e-mail of a transfer apart, as the outbox rows are named', () => {
    expect(ticketTransferMessageId(TRANSFER, 'offered')).toBe(`ticket-transfer-offered:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'accepted')).toBe(`ticket-transfer-accepted:${TRANSFER}`);
    expect(ticketTransferMessageId(TRANSFER, 'canceled')).toBe(`ticket-transfer-canceled:${TRANSFER}`);
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
    ['an unknown event', { transferId: TRANSFER, event: 'declined' }],
    ['another type', { type: 'password-reset', transferId: TRANSFER, event: 'offered' }],
  ])('refuses %s', (_name, fields) => {
    expect(() => toTicketTransfer({ type: TICKET_TRANSFER_TYPE, ...fields })).toThrow(MalformedMessageError);
  });
});
