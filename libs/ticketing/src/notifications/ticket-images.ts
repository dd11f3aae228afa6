import type { ReceiptTicket } from '@app/database';
import { TicketCodes } from '../tickets/ticket-codes';
import { EmailAttachment } from './mailer.port';
import { EmailTicket } from './purchase-email.template';
import { renderTicketQr } from './ticket-qr';

/**
 * The tickets an e-mail shows (the buyer's confirmation, a new holder's ticket), each with its code
 * signed for its code version, and one inline PNG QR code per ticket. The same Content-IDs on every
 * try of one message, so a resent e-mail is the same message.
 */
export async function ticketImages(
  codes: TicketCodes,
  tickets: readonly (Omit<ReceiptTicket, 'checkedInAt'> & { checkedInAt?: Date | null })[],
): Promise<{ tickets: EmailTicket[]; attachments: EmailAttachment[] }> {
  const shown: EmailTicket[] = [];
  const attachments: EmailAttachment[] = [];
  for (const ticket of tickets) {
    const code = codes.sign(ticket);
    const qrCid = `ticket-${ticket.ticketId}@boxoffice`;
    shown.push({
      seat: { section: ticket.section, row: ticket.row, rowLabel: ticket.rowLabel, number: ticket.number },
      code,
      qrCid,
      checkedInAt: ticket.checkedInAt ?? null,
    });
    attachments.push({
      filename: `ticket-${ticket.ticketId}.png`,
      contentType: 'image/png',
      content: await renderTicketQr(code),
      cid: qrCid,
    });
  }
  return { tickets: shown, attachments };
}
