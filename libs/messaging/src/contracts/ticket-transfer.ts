import { hasMessageType } from './sealed-token';
import { MalformedMessageError } from './purchase-completed';

/** `type` of a ticket-transfer body: it travels on the urgent mail queue. */
export const TICKET_TRANSFER_TYPE = 'ticket-transfer';

/**
 * Which e-mail of a transfer: the offer to the recipient's address; "accepted" to the sender and
 * "received" (the ticket with its new code) to the account that accepted it; "declined" to the
 * sender; "withdrawn" to the recipient's address when a pending offer ends by the sender's cancel
 * or with its ticket (purchase canceled or refunded, show canceled); or "canceled" to the account
 * that accepted it, once the ticket's purchase is canceled or refunded (or its show canceled) while
 * that account holds it.
 */
export type TicketTransferMailEvent = 'offered' | 'accepted' | 'received' | 'declined' | 'withdrawn' | 'canceled';

const MAIL_EVENTS: readonly string[] = [
  'offered',
  'accepted',
  'received',
  'declined',
  'withdrawn',
  'canceled',
] satisfies readonly TicketTransferMailEvent[];

/**
 * Body of a `ticket.transfer` message, written to the outbox in the transaction that offers,
 * accepts, declines or cancels the transfer (`TicketTransfersRepository`), or that writes the
 * cancellation of the ticket's purchase (`PurchaseRepository`; `purchase.canceled.performance` for a
 * canceled show's), and relayed with the AMQP `messageId` {@link ticketTransferMessageIdOf}; or a
 * {@link TicketTransferRescheduledMessage}. The mailer reads everything else (addresses, seat,
 * event) from PostgreSQL when it sends.
 */
export interface TicketTransferEventMessage {
  type: typeof TICKET_TRANSFER_TYPE;
  /** The transfer (`ticket_transfers.id`). */
  transferId: string;
  event: TicketTransferMailEvent;
}

/**
 * The offer again, to its recipient's address, after its performance moved (`performance_reschedules`):
 * queued in the outbox by `batch` with the move's buyers' notices
 * (PerformanceReschedulesRepository.queueNextNotices, routed `purchase.rescheduled`: the bulk mail
 * queue), one per pending offer and move.
 */
export interface TicketTransferRescheduledMessage {
  type: typeof TICKET_TRANSFER_TYPE;
  transferId: string;
  event: 'rescheduled';
  /** The move (`performance_reschedules.id`): a bigint as decimal digits. */
  rescheduleId: string;
}

/** A ticket-transfer message: one e-mail of a transfer. */
export type TicketTransferMessage = TicketTransferEventMessage | TicketTransferRescheduledMessage;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9][0-9]{0,18}$/;

/** The one id of a transfer e-mail's message: outbox row, AMQP message and e-mail delivery share it. */
export function ticketTransferMessageId(transferId: string, event: TicketTransferMailEvent): string {
  return `ticket-transfer-${event}:${transferId}`;
}

/**
 * The one id of the new-date offer of transfer `transferId` after move `rescheduleId`: outbox row,
 * AMQP message and e-mail delivery share it, so each move re-offers each pending offer once.
 */
export function ticketTransferRescheduledMessageId(rescheduleId: string, transferId: string): string {
  return `ticket-transfer-rescheduled:${rescheduleId}.${transferId}`;
}

/** The message id of a ticket-transfer message, whichever e-mail it is. */
export function ticketTransferMessageIdOf(message: TicketTransferMessage): string {
  return message.event === 'rescheduled'
    ? ticketTransferRescheduledMessageId(message.rescheduleId, message.transferId)
    : ticketTransferMessageId(message.transferId, message.event);
}

/** Whether a parsed body is a ticket-transfer one (by its `type`). */
export function isTicketTransferBody(body: unknown): boolean {
  return hasMessageType(body, TICKET_TRANSFER_TYPE);
}

/**
 * Checks a parsed ticket-transfer body (a `rescheduled` one with its `rescheduleId`); throws
 * MalformedMessageError naming the first bad field.
 */
export function toTicketTransfer(body: unknown): TicketTransferMessage {
  if (!isTicketTransferBody(body)) throw new MalformedMessageError(`not a ${TICKET_TRANSFER_TYPE} message`);
  const { transferId, event, rescheduleId } = body as Record<string, unknown>;
  if (typeof transferId !== 'string' || !UUID.test(transferId)) throw new MalformedMessageError('transferId');
  if (event === 'rescheduled') {
    if (typeof rescheduleId !== 'string' || !BIGINT.test(rescheduleId)) throw new MalformedMessageError('rescheduleId');
    return { type: TICKET_TRANSFER_TYPE, transferId: transferId.toLowerCase(), event, rescheduleId };
  }
  if (typeof event !== 'string' || !MAIL_EVENTS.includes(event)) throw new MalformedMessageError('event');
  return { type: TICKET_TRANSFER_TYPE, transferId: transferId.toLowerCase(), event: event as TicketTransferMailEvent };
}
