import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import {
  EmailDeliveriesRepository,
  PurchaseReceipt,
  PurchaseReceiptsRepository,
  PurchaseStatus,
  TransactionRunner,
} from '@app/database';
import { PurchaseCompletedMessage, purchaseCompletedMessageId } from '@app/messaging/contracts';
import { TicketCodes } from '../tickets/ticket-codes';
import { EmailAttachment, Mailer, MailMaybeSentError } from './mailer.port';
import { EmailTicket, renderPurchaseEmail } from './purchase-email.template';
import { renderTicketQr } from './ticket-qr';

/** The purchase is not in PostgreSQL (yet): worth another try later. */
export class PurchaseNotPersistedError extends Error {
  constructor(readonly purchaseId: string) {
    super(`purchase ${purchaseId} is not in the database`);
    this.name = 'PurchaseNotPersistedError';
  }
}

/** `canceled`: the purchase was canceled before it was written, so it confirms nothing (P5). */
export type DeliveryOutcome = 'sent' | 'already-sent' | 'canceled' | 'uncertain';

/**
 * Sends the buyer's e-mail for a completed purchase, once.
 *
 * Claim first: one transaction inserts the delivery row (keyed by the message id), sends over
 * SMTP, records the server's answer and commits. A message redelivered after the commit finds
 * the row and sends nothing; two copies handled at once serialize on the row (the second
 * waits for the first transaction and then finds the row). A failed send rolls the claim back,
 * so the message can be tried again. The one window left is a crash after the SMTP server
 * accepted the e-mail and before the commit: that message is sent again on redelivery (SMTP
 * cannot be made exactly-once), with the same `Message-ID` header.
 */
@Injectable()
export class PurchaseMailService {
  constructor(
    private readonly receipts: PurchaseReceiptsRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly env: Env,
    private readonly codes: TicketCodes,
  ) {}

  async deliver(message: PurchaseCompletedMessage): Promise<DeliveryOutcome> {
    const receipt = await this.receipts.findByPurchaseId(message.purchaseId);
    if (!receipt) throw new PurchaseNotPersistedError(message.purchaseId);
    // A confirmation of a canceled purchase would let its seat, sold again, be shown twice at the door.
    if (receipt.status === PurchaseStatus.Canceled) return 'canceled';
    const messageId = purchaseCompletedMessageId(receipt.purchaseId);
    return this.transactions.run(async (manager) => {
      const claimed = await this.deliveries.claim(manager, {
        messageId,
        purchaseId: receipt.purchaseId,
        recipient: receipt.buyerEmail,
      });
      if (!claimed) return 'already-sent';
      const { tickets, attachments } = await this.ticketImages(receipt);
      const email = renderPurchaseEmail(receipt, tickets);
      try {
        const { smtpMessageId } = await this.mailer.send({
          to: { name: receipt.buyerName, address: receipt.buyerEmail },
          ...email,
          attachments,
          messageIdHeader: `<${messageId.replace(':', '.')}@${senderDomain(this.env.MAIL_FROM)}>`,
        });
        await this.deliveries.recordSent(manager, messageId, smtpMessageId);
        return 'sent';
      } catch (error) {
        // Probably delivered: keep the claim rather than risk a second copy.
        if (!(error instanceof MailMaybeSentError)) throw error;
        await this.deliveries.recordUncertain(manager, messageId);
        return 'uncertain';
      }
    });
  }

  /**
   * The receipt's tickets with their signed codes, and one inline PNG QR code per ticket. The same
   * Content-IDs on every try of one message, so a resent e-mail is the same message.
   */
  private async ticketImages(
    receipt: PurchaseReceipt,
  ): Promise<{ tickets: EmailTicket[]; attachments: EmailAttachment[] }> {
    const tickets: EmailTicket[] = [];
    const attachments: EmailAttachment[] = [];
    for (const ticket of receipt.tickets) {
      const code = this.codes.sign(ticket);
      const qrCid = `ticket-${ticket.ticketId}@boxoffice`;
      tickets.push({ seat: { section: ticket.section, row: ticket.row, number: ticket.number }, code, qrCid });
      attachments.push({
        filename: `ticket-${ticket.ticketId}.png`,
        contentType: 'image/png',
        content: await renderTicketQr(code),
        cid: qrCid,
      });
    }
    return { tickets, attachments };
  }
}

function senderDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'boxoffice.local';
}
