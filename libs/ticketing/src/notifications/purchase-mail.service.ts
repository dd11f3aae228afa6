import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import {
  EmailDeliveriesRepository,
  PurchaseReceipt,
  PurchaseReceiptsRepository,
  PurchaseStatus,
  TicketStatus,
  TransactionRunner,
} from '@app/database';
import {
  PurchaseCanceledMessage,
  purchaseCanceledMessageId,
  PurchaseCompletedMessage,
  purchaseCompletedMessageId,
  PurchaseRefundedMessage,
  purchaseRefundedMessageId,
  PurchaseRescheduledMessage,
  purchaseRescheduledMessageId,
  PurchaseTicketsResentMessage,
  purchaseTicketsResentMessageId,
} from '@app/messaging/contracts';
import { TicketCodes } from '../tickets/ticket-codes';
import { EmailAttachment, Mailer, MailStream } from './mailer.port';
import { deliverInTransaction, sendClaimed, Transaction } from './send-claimed';
import { renderCancellationEmail } from './cancellation-email.template';
import { renderPartialRefundEmail } from './partial-refund-email.template';
import { renderRescheduleEmail } from './reschedule-email.template';
import { RenderedEmail } from './email-layout';
import { renderPurchaseEmail, renderTicketsResentEmail } from './purchase-email.template';
import { ticketImages } from './ticket-images';

/** The purchase is not in PostgreSQL (yet): worth another try later. */
export class PurchaseNotPersistedError extends Error {
  constructor(readonly purchaseId: string) {
    super(`purchase ${purchaseId} is not in the database`);
    this.name = 'PurchaseNotPersistedError';
  }
}

/**
 * A cancellation notice's purchase has partial refunds Redis made before the cancel that PostgreSQL
 * has not written yet (what PostgreSQL leaves to refund exceeds what the cancel gave back): its
 * seats would read canceled with the rest. Retried as PurchaseNotPersistedError is.
 */
export class PartialRefundNotWrittenError extends Error {
  constructor(readonly purchaseId: string) {
    super(`purchase ${purchaseId} has a partial refund not written to the database yet`);
    this.name = 'PartialRefundNotWrittenError';
  }
}

/**
 * `canceled`: the purchase was canceled before its confirmation went out, so it confirms nothing
 * (P5); `not-confirmed`: a notice (cancellation, new date) of a purchase that was never confirmed,
 * not sent; `superseded`: a new-date notice not needed when its turn came (the buyer was told the
 * current start already, or the purchase or its performance was canceled since), not sent.
 */
export type DeliveryOutcome =
  'sent' | 'already-sent' | 'canceled' | 'not-confirmed' | 'superseded' | 'uncertain' | 'no-recipient';

/**
 * Sends the buyer's e-mail for a completed purchase, once.
 *
 * Claim first: one transaction inserts the delivery row (keyed by the message id), sends over
 * SMTP, records the server's answer and commits. A message redelivered after the commit finds
 * the row and sends nothing; two copies handled at once serialize on the row (the second
 * waits for the first transaction and then finds the row). A failed send rolls the claim back,
 * so the message can be tried again. A transaction lost after the SMTP server accepted the e-mail
 * (PostgreSQL restarted before the commit) does not send it again: the process that sent it
 * writes the row in a transaction of its own once PostgreSQL answers (deliverInTransaction). The
 * one window left is a crash of the mailer after the SMTP server accepted the e-mail and before
 * the row is committed: that message is sent again on redelivery (SMTP cannot be made
 * exactly-once), with the same `Message-ID` header.
 *
 * A purchase's confirmation and its notices may come in any order: they travel on two mail queues
 * (the confirmation and a single cancellation on the urgent one, a show's new-date and
 * cancellation notices on the bulk one), and a retry reorders any queue. Every method therefore
 * decides from what PostgreSQL and `email_deliveries` hold under the purchase's mail lock, never
 * from the order of arrival.
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
    private readonly clock: Clock,
  ) {}

  /**
   * Sends the confirmation of a purchase written to PostgreSQL, once. The purchase is read under
   * its mail lock: a notice handled before (a cancellation, a new date) found no confirmation and
   * sent nothing, so this one must show the purchase as it is now. `stream`: the mail queue the
   * message came through (as for every method here). Throws PurchaseNotPersistedError.
   */
  async deliver(message: PurchaseCompletedMessage, stream: MailStream): Promise<DeliveryOutcome> {
    const messageId = purchaseCompletedMessageId(message.purchaseId);
    return this.inTransaction(messageId, async (manager) => {
      const status = await this.deliveries.lockPurchaseMail(manager, message.purchaseId);
      if (status === null) throw new PurchaseNotPersistedError(message.purchaseId);
      // A confirmation of a canceled purchase would let its seat, sold again, be shown twice at the door.
      if (status === PurchaseStatus.Canceled) return 'canceled';
      const receipt = await this.receiptOf(message.purchaseId, manager);
      return this.claimAndSend(manager, messageId, receipt, stream, { tellsStart: true }, async () => {
        const { tickets, attachments } = await ticketImages(this.codes, receipt.tickets);
        return { ...renderPurchaseEmail(receipt, tickets), attachments };
      });
    });
  }

  /**
   * Sends the cancellation notice of a purchase canceled after it was written to PostgreSQL, once,
   * as {@link deliver} sends a confirmation. Only a purchase whose confirmation went out (or may
   * have: uncertain) gets one; `not-confirmed` otherwise, and then no confirmation ever follows:
   * both take the purchase's mail lock, and the purchase was CANCELED before this message existed.
   * Except a purchase canceled because its performance was canceled (the message's `canceledBy`
   * is 'performance': the bulk refund canceled it): its buyer did nothing, and the confirmation is
   * dropped as canceled, so the notice goes out even without one (saying the performance was
   * canceled and the charge refunded), still once. Only such a notice speaks of the performance's
   * cancellation; one by the buyer or an operator does not, whatever happened to the performance
   * since. A message without `canceledBy` (written by an older version) counts as the performance's
   * when the performance was canceled at all, so no buyer of a canceled show goes untold.
   * Throws PurchaseNotPersistedError, and PartialRefundNotWrittenError while the message's `amount`
   * (what the cancel gave back) is below what PostgreSQL leaves to refund: a partial refund made
   * before the cancel is still to be written, and the notice would list its seats as canceled.
   */
  async deliverCancellation(message: PurchaseCanceledMessage, stream: MailStream): Promise<DeliveryOutcome> {
    const receipt = await this.receiptOf(message.purchaseId);
    // Redis refunded some seats before this cancel that PostgreSQL has not written yet: rendered now,
    // the notice would list them among the seats canceled (their tickets read canceled with the
    // rest). Their write follows within a flush; the message is tried again (money trial M1).
    if (message.amount !== undefined && receipt.amount > message.amount) {
      throw new PartialRefundNotWrittenError(receipt.purchaseId);
    }
    const messageId = purchaseCanceledMessageId(receipt.purchaseId);
    return this.inTransaction(messageId, async (manager) => {
      await this.deliveries.lockPurchaseMail(manager, receipt.purchaseId);
      const confirmed = await this.deliveries.exists(manager, purchaseCompletedMessageId(receipt.purchaseId));
      const byCalledOff =
        message.canceledBy === undefined
          ? receipt.performanceCancellation !== null
          : message.canceledBy === 'performance';
      if (!confirmed && !byCalledOff) return 'not-confirmed';
      return this.claimAndSend(manager, messageId, receipt, stream, { tellsStart: false }, () =>
        renderCancellationEmail(receipt, new Date(message.canceledAt), {
          confirmed,
          calledOff: byCalledOff,
          byBoxOffice: message.canceledBy === 'operator',
          keptSeatIds: message.keptSeatIds,
        }),
      );
    });
  }

  /**
   * Sends the notice of a partial refund (an operator refunded some seats of the purchase), once
   * (its delivery is keyed by the refund: `purchase-refunded:<refund id>`). Only a purchase whose
   * confirmation went out (or may have: uncertain) gets one, under the purchase's mail lock:
   * `not-confirmed` otherwise, and the confirmation that follows shows the purchase without the
   * refunded seats, as PostgreSQL has it then.
   */
  async deliverPartialRefund(message: PurchaseRefundedMessage, stream: MailStream): Promise<DeliveryOutcome> {
    const receipt = await this.receiptOf(message.purchaseId);
    const messageId = purchaseRefundedMessageId(message.refundId);
    return this.inTransaction(messageId, async (manager) => {
      await this.deliveries.lockPurchaseMail(manager, receipt.purchaseId);
      const confirmed = await this.deliveries.exists(manager, purchaseCompletedMessageId(receipt.purchaseId));
      if (!confirmed) return 'not-confirmed';
      return this.claimAndSend(manager, messageId, receipt, stream, { tellsStart: false }, () =>
        renderPartialRefundEmail(receipt, message),
      );
    });
  }

  /**
   * Sends a confirmed purchase's buyer the notice that its performance moved, once, if they need
   * it: under the purchase's mail lock, only when its confirmation went out (or may have:
   * uncertain) and what the buyer was last told by e-mail (the confirmation, or a notice of an
   * earlier move: EmailDeliveriesRepository.lastToldStartsAt) differs from the start PostgreSQL
   * has now; the notice tells both times. So a confirmation sent after the move (it showed the new
   * time), a second move before the first's notices went out, or a move back answer `superseded`
   * or `not-confirmed` and send nothing, as does a purchase or performance canceled since; a
   * redelivered notice sent already answers `already-sent`. Throws PurchaseNotPersistedError.
   */
  async deliverReschedule(message: PurchaseRescheduledMessage, stream: MailStream): Promise<DeliveryOutcome> {
    const messageId = purchaseRescheduledMessageId(message.rescheduleId, message.purchaseId);
    return this.inTransaction(messageId, async (manager) => {
      const status = await this.deliveries.lockPurchaseMail(manager, message.purchaseId);
      if (status === null) throw new PurchaseNotPersistedError(message.purchaseId);
      if (status === PurchaseStatus.Canceled) return 'superseded';
      if (!(await this.deliveries.exists(manager, purchaseCompletedMessageId(message.purchaseId)))) {
        return 'not-confirmed';
      }
      // A redelivery of a notice sent already: counted as such, before the news check below.
      if (await this.deliveries.exists(manager, messageId)) return 'already-sent';
      const receipt = await this.receiptOf(message.purchaseId, manager);
      if (receipt.performanceCancellation !== null) return 'superseded';
      const told = await this.deliveries.lastToldStartsAt(manager, message.purchaseId);
      if (told === null || told.getTime() === receipt.performanceStartsAt.getTime()) return 'superseded';
      return this.claimAndSend(manager, messageId, receipt, stream, { tellsStart: true }, () =>
        renderRescheduleEmail(receipt, told, this.clock.now()),
      );
    });
  }

  /**
   * Sends a purchase's tickets to its buyer again on request (a lost confirmation: the buyer's
   * `POST /purchases/:id/tickets/resend` or an operator's), once per request: the confirmation's
   * e-mail with the purchase as it is now, under its mail lock (tickets canceled or transferred
   * away since are not in it, those passed back to the buyer are, with their current codes; the
   * start is today's, recorded as told). With `ticketId` (an
   * operator's resend of one ticket), that ticket alone to whoever holds it now (see
   * resendTicket). `superseded`, nothing sent, when the purchase was canceled since the request or
   * has no ticket left to show. Throws PurchaseNotPersistedError.
   */
  async deliverResend(message: PurchaseTicketsResentMessage, stream: MailStream): Promise<DeliveryOutcome> {
    const messageId = purchaseTicketsResentMessageId(message.resendId);
    return this.inTransaction(messageId, async (manager) => {
      const status = await this.deliveries.lockPurchaseMail(manager, message.purchaseId);
      if (status === null) throw new PurchaseNotPersistedError(message.purchaseId);
      if (status === PurchaseStatus.Canceled) return 'superseded';
      const receipt = await this.receiptOf(message.purchaseId, manager);
      if (message.ticketId !== undefined) {
        return this.resendTicket(manager, messageId, receipt, message.ticketId, stream);
      }
      // The tickets the buyer holds now: also those a transfer passed back, with their current codes.
      if (receipt.heldTickets.length === 0) return 'superseded';
      return this.claimAndSend(manager, messageId, receipt, stream, { tellsStart: true }, async () => {
        const { tickets, attachments } = await ticketImages(this.codes, receipt.heldTickets);
        return { ...renderTicketsResentEmail(receipt, tickets, message.requestedBy), attachments };
      });
    });
  }

  /**
   * An operator's resend of ticket `ticketId` of `receipt`'s purchase (under its mail lock, in
   * `manager`'s transaction) to whoever holds it now: the account it was transferred to (its name
   * and address; the start told is not recorded as the buyer's), else the purchase's own address;
   * the resend e-mail with that ticket alone, its current code. `superseded`, nothing sent, when
   * the ticket is no longer ACTIVE (canceled or refunded since the request) or not of this purchase.
   */
  private async resendTicket(
    manager: Transaction,
    messageId: string,
    receipt: PurchaseReceipt,
    ticketId: string,
    stream: MailStream,
  ): Promise<DeliveryOutcome> {
    const facts = await this.receipts.ticketHolder(ticketId, manager);
    if (!facts || facts.ticket.purchaseId !== receipt.purchaseId || facts.status !== TicketStatus.Active) {
      return 'superseded';
    }
    // The purchase's e-mail as the holder sees it: this ticket alone, addressed to the holder.
    const view: PurchaseReceipt = {
      ...receipt,
      tickets: [facts.ticket],
      transferredSeats: [],
      ...(facts.holder ? { buyerEmail: facts.holder.email, buyerName: facts.holder.name } : {}),
    };
    return this.claimAndSend(manager, messageId, view, stream, { tellsStart: facts.holder === null }, async () => {
      const { tickets, attachments } = await ticketImages(this.codes, view.tickets);
      return { ...renderTicketsResentEmail(view, tickets, 'operator'), attachments };
    });
  }

  /**
   * Runs `work`, which decides and sends at most one e-mail, that of message `messageId`, in one
   * transaction (deliverInTransaction).
   */
  private inTransaction(
    messageId: string,
    work: (manager: Transaction) => Promise<DeliveryOutcome>,
  ): Promise<DeliveryOutcome> {
    return deliverInTransaction({ transactions: this.transactions, deliveries: this.deliveries }, messageId, work);
  }

  /** The receipt of purchase `purchaseId`, read in `manager`'s transaction when given. Throws PurchaseNotPersistedError. */
  private async receiptOf(purchaseId: string, manager?: Transaction): Promise<PurchaseReceipt> {
    const receipt = await this.receipts.findByPurchaseId(purchaseId, manager);
    if (!receipt) throw new PurchaseNotPersistedError(purchaseId);
    return receipt;
  }

  /**
   * Claims message `messageId` for the buyer of `receipt` (`already-sent` when it was claimed
   * before), then sends it on `stream` as `email` renders it (only once the claim is held) and
   * completes the claim; inside the transaction holding the purchase's mail lock. `tellsStart`: the
   * e-mail tells the performance's start, recorded with the claim (what a later new-date notice
   * compares with: EmailDeliveriesRepository.lastToldStartsAt).
   */
  private async claimAndSend(
    manager: Transaction,
    messageId: string,
    receipt: PurchaseReceipt,
    stream: MailStream,
    { tellsStart }: { tellsStart: boolean },
    email: () => Promise<RenderedEmail & { attachments?: EmailAttachment[] }> | RenderedEmail,
  ): Promise<DeliveryOutcome> {
    return sendClaimed(
      { mailer: this.mailer, deliveries: this.deliveries, mailFrom: this.env.MAIL_FROM },
      manager,
      {
        messageId,
        purchaseId: receipt.purchaseId,
        recipient: receipt.buyerEmail,
        ...(tellsStart ? { startsAt: receipt.performanceStartsAt } : {}),
      },
      async () => ({ to: { name: receipt.buyerName, address: receipt.buyerEmail }, stream, ...(await email()) }),
    );
  }
}
