import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { PurchaseReceiptsRepository, TicketResendsRepository, TicketsRepository, TicketStatus } from '@app/database';
import {
  PURCHASE_TICKETS_RESENT_TYPE,
  purchaseTicketsResentMessageId,
  ROUTING,
  TicketsResentBy,
} from '@app/messaging/contracts';
import { NotFoundError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';
import type { Purchase } from '../purchases/purchase';
import { PurchaseReader } from '../purchases/purchase-reader';
import { CheckInStore } from './check-in.store';
import {
  CanceledPurchaseTicketsError,
  NoTicketsToSendError,
  TicketCanceledError,
  TicketsNotIssuedError,
  TooManyTicketResendsError,
} from './ticket.errors';

/** The audit action of an operator's resend of a buyer's tickets. */
export const TICKETS_RESEND_ACTION = 'purchase.resend-tickets';

/** The audit action of an operator's resend of one ticket to whoever holds it. */
export const TICKET_RESEND_ACTION = 'ticket.resend';

/**
 * A buyer's resends of their tickets: at most `perWindow` per `windowMs` (milliseconds) per
 * account, counted as the "confirm your e-mail address" e-mails are (3 per 15 minutes).
 */
export const TICKET_RESEND_LIMIT = { perWindow: 3, windowMs: 15 * 60_000 };

/** A resend queued: the e-mail's request id and the tickets it carries as of now (ids, decimal). */
export interface QueuedResend {
  purchaseId: string;
  resendId: string;
  ticketIds: string[];
}

/**
 * One ticket's resend queued: the e-mail's request id, and where it goes as of now (the mailer
 * sends it to whoever holds the ticket when it is sent).
 */
export interface QueuedTicketResend {
  ticketId: string;
  purchaseId: string;
  resendId: string;
  /**
   * The holder's address now: the account it was transferred to, else the purchase's own (a box
   * office sale's delivery address, else the buyer's).
   */
  recipientEmail: string;
  /** True when an account other than the buyer holds it by a transfer. */
  transferred: boolean;
}

/**
 * E-mailing a purchase's tickets to its buyer again (a lost confirmation), by the buyer or an
 * operator: an outbox row the relay takes to RabbitMQ and the mailer sends (the confirmation's
 * e-mail, with the purchase as it is when sent). Never SMTP from here.
 */
@Injectable()
export class TicketResend {
  constructor(
    private readonly purchases: PurchaseReader,
    private readonly tickets: TicketsRepository,
    private readonly resends: TicketResendsRepository,
    @Inject(Env) private readonly env: Env,
    private readonly receipts: PurchaseReceiptsRepository,
    private readonly marks: CheckInStore,
  ) {}

  /**
   * The caller's purchase's tickets, e-mailed to the caller again. Throws NotFoundError('purchase')
   * (anyone else's, unknown), the errors of {@link check}, and TooManyTicketResendsError (429,
   * Retry-After) past TICKET_RESEND_LIMIT, queueing nothing.
   */
  async resendForBuyer(userId: string, purchaseId: string): Promise<QueuedResend> {
    const purchase = await this.purchases.get(userId, purchaseId);
    return this.queue(purchase, 'buyer');
  }

  /**
   * Anyone's purchase's tickets, e-mailed to its buyer again by `operator`, with an audit row
   * (`purchase.resend-tickets`); not limited. Throws NotFoundError('purchase') and the errors of
   * {@link check}.
   */
  async resendForOperator(operator: Operator, purchaseId: string): Promise<QueuedResend> {
    const purchase = await this.purchases.find(purchaseId);
    if (!purchase) throw new NotFoundError('purchase');
    return this.queue(purchase, 'operator', operator);
  }

  /**
   * Ticket `ticketId` (a bigint, decimal) e-mailed by `operator` to whoever holds it: the account
   * it was transferred to, else its purchase's buyer (a box office sale's delivery address when it
   * has one), with its current code; the resend e-mail of its purchase, through the outbox and the
   * mailer, which reads the holder again when it sends. An audit row (`ticket.resend`, its subject
   * the purchase; `details`: ticketId, performanceId, resendId, holderId); not limited. Throws
   * NotFoundError('ticket') (no such ticket: also one of a purchase not written to PostgreSQL yet,
   * whose tickets have no ids) and TicketCanceledError (409: the ticket canceled or refunded, or
   * its purchase, also while the cancellation or the refund of its seat is only in Redis).
   */
  async resendTicketForOperator(operator: Operator, ticketId: string): Promise<QueuedTicketResend> {
    const facts = await this.receipts.ticketHolder(ticketId);
    if (!facts) throw new NotFoundError('ticket');
    const { purchaseId, performanceId, seatId } = facts.ticket;
    // A cancellation or refund (of the purchase, or of this seat) still only in Redis voids it too.
    if (facts.status !== TicketStatus.Active || (await this.marks.ticketCanceled(performanceId, purchaseId, seatId))) {
      throw new TicketCanceledError();
    }
    const resendId = randomUUID();
    await this.resends.queue({
      buyerId: facts.buyerId,
      message: {
        messageId: purchaseTicketsResentMessageId(resendId),
        routingKey: ROUTING.purchaseCompleted,
        payload: { type: PURCHASE_TICKETS_RESENT_TYPE, purchaseId, resendId, requestedBy: 'operator', ticketId },
      },
      audit: {
        actorId: operator.id,
        actorEmail: operator.email,
        action: TICKET_RESEND_ACTION,
        // The purchase, as an undone check-in's: the log's purchase filter finds it.
        subjectId: purchaseId,
        details: { ticketId, performanceId, resendId, holderId: facts.holder?.id ?? facts.buyerId },
      },
    });
    return {
      ticketId,
      purchaseId,
      resendId,
      recipientEmail: facts.recipientEmail,
      transferred: facts.holder !== null,
    };
  }

  private async queue(purchase: Purchase, by: TicketsResentBy, operator?: Operator): Promise<QueuedResend> {
    const ticketIds = await this.check(purchase);
    const resendId = randomUUID();
    const queued = await this.resends.queue({
      buyerId: purchase.userId,
      message: {
        messageId: purchaseTicketsResentMessageId(resendId),
        routingKey: ROUTING.purchaseCompleted,
        payload: { type: PURCHASE_TICKETS_RESENT_TYPE, purchaseId: purchase.id, resendId, requestedBy: by },
      },
      ...(by === 'buyer'
        ? { limit: { maxIssued: TICKET_RESEND_LIMIT.perWindow, windowMs: TICKET_RESEND_LIMIT.windowMs } }
        : {}),
      ...(operator
        ? {
            audit: {
              actorId: operator.id,
              actorEmail: operator.email,
              action: TICKETS_RESEND_ACTION,
              subjectId: purchase.id,
              details: { buyerId: purchase.userId, performanceId: purchase.performanceId, resendId, ticketIds },
            },
          }
        : {}),
    });
    if (queued.outcome === 'limited')
      throw new TooManyTicketResendsError(queued.retryAfterSeconds, TICKET_RESEND_LIMIT);
    return { purchaseId: purchase.id, resendId, ticketIds };
  }

  /**
   * The ids of the tickets the e-mail would carry now (active, held by the buyer: never
   * transferred away, or passed back to it). Throws CanceledPurchaseTicketsError (409 PurchaseCanceled) for a canceled or refunded purchase (also while
   * the cancellation is only in Redis), TicketsNotIssuedError (409, Retry-After) before the purchase
   * is written to PostgreSQL, NoTicketsToSendError (409) when every ticket was transferred away.
   */
  private async check(purchase: Purchase): Promise<string[]> {
    if (purchase.status === 'CANCELED') throw new CanceledPurchaseTicketsError();
    const persisted = await this.tickets.ofPurchase(purchase.id);
    if (!persisted) throw new TicketsNotIssuedError(this.env.PURCHASE_FLUSH_AGE_SECONDS + 1);
    // A ticket passed back to the buyer by a later transfer is the buyer's again.
    const sendable = persisted.tickets.filter(
      (ticket) =>
        ticket.status === TicketStatus.Active && (ticket.holderId === null || ticket.holderId === purchase.userId),
    );
    if (sendable.length === 0) throw new NoTicketsToSendError();
    return sendable.map((ticket) => ticket.ticketId);
  }
}
