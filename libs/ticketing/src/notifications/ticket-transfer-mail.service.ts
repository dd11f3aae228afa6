import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository, TicketTransfersRepository, TransactionRunner } from '@app/database';
import { TicketTransferMessage, ticketTransferMessageId } from '@app/messaging/contracts';
import { Mailer, MailStream } from './mailer.port';
import {
  renderTicketTransferAcceptedEmail,
  renderTicketTransferCanceledEmail,
  renderTicketTransferOfferEmail,
} from './ticket-transfer-email.template';
import { sendTokenMailOnce, TokenMailOutcome } from './token-mail';

/**
 * Sends the e-mails of a ticket transfer, once each (claimed in `email_deliveries` as every e-mail,
 * see `sendTokenMailOnce`): the offer to the recipient's address, "accepted" to the sender, and
 * "canceled" to the account that accepted it when the ticket's purchase is canceled (on the stream
 * of the queue it came through: bulk for a canceled show's). What they say is read from PostgreSQL when they are sent.
 */
@Injectable()
export class TicketTransferMailService {
  constructor(
    private readonly transfers: TicketTransfersRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Sends the e-mail `message` names. `stale` (nothing sent) for an offer that is no longer
   * pending when its e-mail would go (canceled, expired, or accepted already: it would offer
   * what is gone), for a "canceled" notice of a transfer whose account is gone, and for a
   * transfer that no longer exists.
   */
  async deliver(message: TicketTransferMessage, stream: MailStream = 'urgent'): Promise<TokenMailOutcome> {
    const facts = await this.transfers.mailFacts(message.transferId, this.clock.now());
    if (!facts) return 'stale';
    const input = {
      transferId: facts.transfer.id,
      eventTitle: facts.eventTitle,
      venue: facts.venue,
      timeZone: facts.timeZone,
      startsAt: facts.startsAt,
      seat: facts.seat,
      sender: facts.sender,
      expiresAt: facts.transfer.expiresAt,
      recipient: facts.recipient ?? undefined,
    };
    const deps = {
      deliveries: this.deliveries,
      transactions: this.transactions,
      mailer: this.mailer,
      mailFrom: this.env.MAIL_FROM,
    };
    const messageId = ticketTransferMessageId(message.transferId, message.event);
    if (message.event === 'offered') {
      if (facts.transfer.status !== 'PENDING') return 'stale';
      // The address as the sender gave it: no account needs to have it.
      const to = { email: facts.transfer.recipientEmail, name: facts.transfer.recipientEmail };
      return sendTokenMailOnce(deps, messageId, to, () => renderTicketTransferOfferEmail(input));
    }
    if (message.event === 'canceled') {
      if (!facts.recipient) return 'stale';
      return sendTokenMailOnce(
        deps,
        messageId,
        facts.recipient,
        () => renderTicketTransferCanceledEmail(input),
        stream,
      );
    }
    return sendTokenMailOnce(deps, messageId, facts.sender, () => renderTicketTransferAcceptedEmail(input));
  }
}
