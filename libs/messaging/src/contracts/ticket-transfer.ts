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
 * canceled show's) and relayed with the AMQP `messageId`
 * {@link ticketTransferMessageId}. The mailer reads everything else (addresses, seat, event) from
 * PostgreSQL when it sends.
 */
export interface TicketTransferMessage {
  type: typeof TICKET_TRANSFER_TYPE;
  /** The transfer (`ticket_transfers.id`). */
  transferId: string;
  event: TicketTransferMailEvent;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The one id of a transfer e-mail's message: outbox row, AMQP message and e-mail delivery share it. */
export function ticketTransferMessageId(transferId: string, event: TicketTransferMailEvent): string {
  return `ticket-transfer-${event}:${transferId}`;
}

/** Whether a parsed body is a ticket-transfer one (by its `type`). */
export function isTicketTransferBody(body: unknown): boolean {
  return hasMessageType(body, TICKET_TRANSFER_TYPE);
}

/** Checks a parsed ticket-transfer body; throws MalformedMessageError naming the first bad field. */
export function toTicketTransfer(body: unknown): TicketTransferMessage {
  if (!isTicketTransferBody(body)) throw new MalformedMessageError(`not a ${TICKET_TRANSFER_TYPE} message`);
  const { transferId, event } = body as Record<string, unknown>;
  if (typeof transferId !== 'string' || !UUID.test(transferId)) throw new MalformedMessageError('transferId');
  if (typeof event !== 'string' || !MAIL_EVENTS.includes(event)) throw new MalformedMessageError('event');
  return { type: TICKET_TRANSFER_TYPE, transferId: transferId.toLowerCase(), event: event as TicketTransferMailEvent };
}
