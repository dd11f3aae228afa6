import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import {
  EmailDeliveriesRepository,
  PurchaseReceiptsRepository,
  PurchaseStatus,
  TransactionRunner,
} from '@app/database';
import { PurchaseCompletedMessage, purchaseCompletedMessageId } from '@app/messaging/contracts';
import { Mailer, MailMaybeSentError } from './mailer.port';
import { renderPurchaseEmail } from './purchase-email.template';

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
      const email = renderPurchaseEmail(receipt);
      try {
        const { smtpMessageId } = await this.mailer.send({
          to: { name: receipt.buyerName, address: receipt.buyerEmail },
          ...email,
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
}

function senderDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'boxoffice.local';
}
