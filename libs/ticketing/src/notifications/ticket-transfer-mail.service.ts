import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import {
  EmailDeliveriesRepository,
  TicketTransfersRepository,
  TransactionRunner,
  TransferMailFacts,
} from '@app/database';
import {
  TicketHolderRescheduledMessage,
  ticketHolderRescheduledMessageId,
  TicketTransferMessage,
  ticketTransferMessageId,
  ticketTransferMessageIdOf,
} from '@app/messaging/contracts';
import { TicketCodes } from '../tickets/ticket-codes';
import { EmailAttachment, Mailer, MailStream } from './mailer.port';
import { RenderedEmail } from './email-layout';
import { renderHolderRescheduleEmail } from './reschedule-email.template';
import { deliverInTransaction, sendClaimed, Transaction } from './send-claimed';
import { ticketImages } from './ticket-images';
import {
  renderTicketTransferAcceptedEmail,
  renderTicketTransferCanceledEmail,
  renderTicketTransferDeclinedEmail,
  renderTicketTransferOfferEmail,
  renderTicketTransferReceivedEmail,
  renderTicketTransferRescheduledEmail,
  renderTicketTransferWithdrawnEmail,
  TicketTransferEmailInput,
} from './ticket-transfer-email.template';
import { TokenMailOutcome } from './token-mail';

/**
 * What became of a transfer e-mail: a token mail's outcome (`stale`: what it would say is gone, so
 * nothing was sent); `not-confirmed`: a "withdrawn" notice or a new-date offer of an offer whose own
 * e-mail never went out (nothing to take back; the offer, when it goes, shows the start of then),
 * not sent; or `superseded`: a new-date offer whose recipient was told the current start already
 * (the offer went out after the move, or an earlier move's new-date offer did), or an offer or
 * new-date offer whose ticket no accept can take any more (its performance canceled, the ticket
 * checked in), not sent.
 */
export type TransferMailOutcome = TokenMailOutcome | 'not-confirmed' | 'superseded';

/** An e-mail decided for a message: to whom, and what (rendered only once the claim is held). */
interface TransferMail {
  to: { name: string; email: string };
  render: () => Promise<RenderedEmail & { attachments?: EmailAttachment[] }>;
  /** The performance's start the e-mail tells (an offer, a new-date offer), recorded with its delivery. */
  startsAt?: Date;
}

/**
 * Sends the e-mails of a ticket transfer, once each (claimed in `email_deliveries` as every e-mail):
 * the offer to the recipient's address; "accepted" to the sender and "received" (the ticket with its
 * new code) to the account that accepted; "declined" to the sender; "withdrawn" to the recipient's
 * address when a pending offer ended by its sender's cancel or with its ticket; "canceled" to the
 * account that accepted it when the ticket's purchase is canceled; and the offer again, with the new
 * start and expiry, to the recipient's address after its performance moved (one per move, and only
 * when the start the recipient was last told differs). On the stream of the queue the message came
 * through (bulk for a canceled show's notices and a move's). What they say is read from PostgreSQL
 * when they are sent.
 *
 * Each is decided and sent in one transaction holding the transfer's mail lock
 * (EmailDeliveriesRepository.lockTransferMail), so the order the queues deliver an offer and its
 * "withdrawn" notice in changes nothing: the offer goes out only while the transfer is pending, the
 * notice only after an offer that went out (or may have: uncertain). A recipient hears of a
 * withdrawn offer once, and only of one they were told of.
 */
@Injectable()
export class TicketTransferMailService {
  constructor(
    private readonly transfers: TicketTransfersRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    private readonly codes: TicketCodes,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Sends the e-mail `message` names, on `stream`. `stale` (nothing sent) for an offer that is no
   * longer pending when its e-mail would go (canceled, declined, expired, or accepted already: it
   * would offer what is gone); `superseded` for an offer still pending whose ticket can no longer
   * be used (its performance canceled, the ticket checked in: no accept would take it); a "received" e-mail once the ticket was canceled or passed on again
   * (its code void), a notice to an account that is gone, and a transfer that no longer exists;
   * `not-confirmed` for a "withdrawn" notice or a new-date offer of an offer never mailed;
   * `superseded` for a new-date offer whose recipient was last told the current start, or whose
   * ticket can no longer be used (its performance canceled, the ticket checked in);
   * `already-sent` for a redelivery.
   */
  deliver(message: TicketTransferMessage, stream: MailStream = 'urgent'): Promise<TransferMailOutcome> {
    const messageId = ticketTransferMessageIdOf(message);
    return deliverInTransaction(
      { transactions: this.transactions, deliveries: this.deliveries },
      messageId,
      async (manager) => {
        await this.deliveries.lockTransferMail(manager, message.transferId);
        const facts = await this.transfers.mailFacts(message.transferId, this.clock.now(), manager);
        if (!facts) return 'stale';
        const mail = await this.mailFor(message, facts, manager);
        if (typeof mail === 'string') return mail;
        return sendClaimed(
          { mailer: this.mailer, deliveries: this.deliveries, mailFrom: this.env.MAIL_FROM },
          manager,
          { messageId, purchaseId: null, recipient: mail.to.email, startsAt: mail.startsAt },
          async () => ({ ...(await mail.render()), to: { name: mail.to.name, address: mail.to.email }, stream }),
        );
      },
    );
  }

  /**
   * Sends an account holding tickets of a moved performance by accepted transfers its new-date
   * notice, once per move (`ticket-transfer-holder-rescheduled:<move id>.<holder id>`), on `stream`, naming
   * the seats it holds when the notice is sent. Decided under the holder's mail lock, then the mail
   * locks of the transfers it holds them by (in id order), so a "received" e-mail being sent
   * meanwhile is seen: `stale` when it holds none of them any more (passed on again, canceled);
   * `superseded` when the performance was canceled, or the start it was last told (its "received"
   * e-mails, an earlier move's notice: EmailDeliveriesRepository.lastToldHolderStartsAt) is the
   * current one (a ticket received after the move, two moves before the notices went out, a move
   * back); `not-confirmed` before any "received" e-mail of them went out (it, when it goes, shows
   * the start of then); `already-sent` for a redelivery. A "received" e-mail of an earlier mailer
   * recorded no start: the start it told is inferred from the moves recorded after it was sent.
   */
  deliverHolderReschedule(message: TicketHolderRescheduledMessage, stream: MailStream): Promise<TransferMailOutcome> {
    const messageId = ticketHolderRescheduledMessageId(message.rescheduleId, message.holderId);
    return deliverInTransaction(
      { transactions: this.transactions, deliveries: this.deliveries },
      messageId,
      async (manager) => {
        await this.deliveries.lockHolderMail(manager, message.holderId);
        const first = await this.transfers.holderMailFacts(message.holderId, message.performanceId, manager);
        if (!first) return 'stale';
        for (const transferId of first.transferIds) await this.deliveries.lockTransferMail(manager, transferId);
        // Read again after the transfers' locks: what a "received" e-mail or an accept changed meanwhile.
        const facts = await this.transfers.holderMailFacts(message.holderId, message.performanceId, manager);
        if (!facts) return 'stale';
        if (facts.performanceCanceled) return 'superseded';
        const received = facts.transferIds.map((id) => ticketTransferMessageId(id, 'received'));
        if (!(await this.deliveries.existsAny(manager, received))) return 'not-confirmed';
        // A redelivery of one sent already: counted as such, before the news check below.
        if (await this.deliveries.exists(manager, messageId)) return 'already-sent';
        // Null only with no "received" e-mail sent, answered `not-confirmed` above in this transaction.
        const told =
          (await this.deliveries.lastToldHolderStartsAt(
            manager,
            message.holderId,
            message.performanceId,
            facts.transferIds,
          )) ?? new Date(message.previousStartsAt);
        if (told.getTime() === facts.startsAt.getTime()) return 'superseded';
        return sendClaimed(
          { mailer: this.mailer, deliveries: this.deliveries, mailFrom: this.env.MAIL_FROM },
          manager,
          { messageId, purchaseId: null, recipient: facts.holder.email, startsAt: facts.startsAt },
          () => ({
            ...renderHolderRescheduleEmail(facts, told),
            to: { name: facts.holder.name, address: facts.holder.email },
            stream,
          }),
        );
      },
    );
  }

  /** The e-mail of `message` as things are now, or why none goes. */
  private async mailFor(
    message: TicketTransferMessage,
    facts: TransferMailFacts,
    manager: Transaction,
  ): Promise<TransferMail | 'stale' | 'not-confirmed' | 'superseded' | 'already-sent'> {
    const input: TicketTransferEmailInput = {
      transferId: facts.transfer.id,
      eventTitle: facts.eventTitle,
      venue: facts.venue,
      timeZone: facts.timeZone,
      startsAt: facts.startsAt,
      seat: facts.seat,
      sender: facts.sender,
      expiresAt: facts.transfer.expiresAt,
      recipient: facts.recipient ?? undefined,
      recipientEmail: facts.transfer.recipientEmail,
      cancelReason: facts.cancelReason,
      ticketUsable: facts.ticketUsable,
      offerUrl: this.env.TICKET_TRANSFER_URL,
    };
    // The address as the sender gave it: no account needs to have it.
    const address = { email: facts.transfer.recipientEmail, name: facts.transfer.recipientEmail };
    const ready = async (email: RenderedEmail) => email;
    switch (message.event) {
      case 'offered':
        if (facts.transfer.status !== 'PENDING') return 'stale';
        // Pending, but no accept can take it (its show canceled between the offer and this e-mail,
        // the bulk refund not at its purchase yet; or the ticket checked in): as for a new-date
        // offer, nothing to offer; the withdrawn notice that follows the refund finds no offer sent.
        if (!facts.ticketUsable) return 'superseded';
        return {
          to: address,
          render: () => ready(renderTicketTransferOfferEmail(input)),
          startsAt: facts.startsAt,
        };
      case 'rescheduled': {
        // An offer no longer pending (accepted, declined, canceled, expired) has nothing to re-offer.
        if (facts.transfer.status !== 'PENDING') return 'stale';
        // Still pending, but no accept can take it (its show canceled, the bulk refund not at its
        // purchase yet; or the ticket checked in): "the offer still stands" would be false, and the
        // withdrawn notice follows when its purchase's cancellation is written.
        if (!facts.ticketUsable) return 'superseded';
        if (!(await this.deliveries.exists(manager, ticketTransferMessageId(message.transferId, 'offered')))) {
          return 'not-confirmed';
        }
        // A redelivery of one sent already: counted as such, before the news check below.
        if (await this.deliveries.exists(manager, ticketTransferMessageIdOf(message))) return 'already-sent';
        const told = await this.deliveries.lastToldTransferStartsAt(manager, message.transferId);
        if (told !== null && told.getTime() === facts.startsAt.getTime()) return 'superseded';
        return {
          to: address,
          render: () => ready(renderTicketTransferRescheduledEmail({ ...input, previousStartsAt: told })),
          startsAt: facts.startsAt,
        };
      }
      case 'withdrawn':
        if (!(await this.deliveries.exists(manager, ticketTransferMessageId(message.transferId, 'offered')))) {
          return 'not-confirmed';
        }
        return { to: address, render: () => ready(renderTicketTransferWithdrawnEmail(input)) };
      case 'accepted':
        return { to: facts.sender, render: () => ready(renderTicketTransferAcceptedEmail(input)) };
      case 'declined':
        return { to: facts.sender, render: () => ready(renderTicketTransferDeclinedEmail(input)) };
      case 'received': {
        const held = facts.heldTicket;
        if (!facts.recipient || !held) return 'stale';
        return {
          to: facts.recipient,
          // What a new-date notice to the holder compares with (lastToldHolderStartsAt).
          startsAt: facts.startsAt,
          render: async () => {
            const images = await ticketImages(this.codes, [{ ...held, ...facts.seat }]);
            return { ...renderTicketTransferReceivedEmail(input, images.tickets[0]), attachments: images.attachments };
          },
        };
      }
      case 'canceled':
        if (!facts.recipient) return 'stale';
        return { to: facts.recipient, render: () => ready(renderTicketTransferCanceledEmail(input)) };
    }
  }
}
