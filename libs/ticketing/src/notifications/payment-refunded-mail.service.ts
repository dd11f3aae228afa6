import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { PaymentRefundedMessage, paymentRefundedMessageId } from '@app/messaging/contracts';
import { Mailer } from './mailer.port';
import { renderPaymentRefundedEmail } from './payment-refunded-email.template';
import { deliverInTransaction, sendClaimed } from './send-claimed';

/** What became of a refund notice: sent, already sent (a redelivered message), or `uncertain` (see `sendClaimed`). */
export type PaymentRefundedOutcome = 'sent' | 'already-sent' | 'uncertain' | 'no-recipient';

/** Sends the notice of a charge refunded because its purchase was lost, once. */
@Injectable()
export class PaymentRefundedMailService {
  constructor(
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly env: Env,
  ) {}

  /**
   * Sends the notice of `message` to the buyer's address it names (the account's at the refund),
   * claimed in `email_deliveries` as `payment-refunded:<purchase id>` with no purchase (there is none
   * in PostgreSQL), so a redelivered message sends nothing (`already-sent`). On the urgent stream.
   */
  async deliver(message: PaymentRefundedMessage): Promise<PaymentRefundedOutcome> {
    const deps = {
      deliveries: this.deliveries,
      transactions: this.transactions,
      mailer: this.mailer,
      mailFrom: this.env.MAIL_FROM,
    };
    const messageId = paymentRefundedMessageId(message.purchaseId);
    return deliverInTransaction(deps, messageId, (manager) =>
      sendClaimed(deps, manager, { messageId, purchaseId: null, recipient: message.email }, () => ({
        ...renderPaymentRefundedEmail({
          purchaseId: message.purchaseId,
          name: message.name,
          amount: message.amount,
          currency: message.currency,
          eventTitle: message.eventTitle,
          venue: message.venue,
          timeZone: message.timeZone,
          startsAt: new Date(message.startsAt),
          refundedAt: new Date(message.refundedAt),
        }),
        to: { name: message.name, address: message.email },
        stream: 'urgent',
      })),
    );
  }
}
