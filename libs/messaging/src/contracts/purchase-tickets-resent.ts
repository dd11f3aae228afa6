import { MalformedMessageError } from './purchase-completed';

/**
 * `type` of a purchase-tickets-resent body. Routed `purchase.completed` (ROUTING.purchaseCompleted):
 * it travels on the urgent mail queue with the confirmations, whose binding it shares, so it needs
 * no topology of its own.
 */
export const PURCHASE_TICKETS_RESENT_TYPE = 'purchase.tickets-resent';

/** Who asked for the tickets again: the buyer (`POST /purchases/:id/tickets/resend`) or an operator. */
export type TicketsResentBy = 'buyer' | 'operator';

/**
 * Body of a purchase-tickets-resent message: the purchase's tickets e-mailed to its buyer again
 * (a lost confirmation), or one ticket of it to its holder (`ticketId`), as they are when the
 * mailer sends it. Written to the outbox by the api
 * (TicketResendsRepository.queue) and relayed with the AMQP `messageId`
 * {@link purchaseTicketsResentMessageId}: each request its own e-mail.
 */
export interface PurchaseTicketsResentMessage {
  type: typeof PURCHASE_TICKETS_RESENT_TYPE;
  purchaseId: string;
  /** The request (a UUID): one e-mail per request, however often its message is delivered. */
  resendId: string;
  requestedBy: TicketsResentBy;
  /**
   * An operator's resend of this one ticket of the purchase (a bigint, decimal) to whoever holds it
   * when the e-mail is sent (`POST /admin/tickets/:ticketId/resend`): the account it was
   * transferred to, else the purchase's own address. Absent: the purchase's tickets to its buyer.
   */
  ticketId?: string;
}

/** The one id of one resend request: outbox row, AMQP message and e-mail delivery share it. */
export function purchaseTicketsResentMessageId(resendId: string): string {
  return `purchase-tickets-resent:${resendId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A ticket id: a positive bigint in canonical decimal digits. */
const TICKET_ID = /^[1-9][0-9]{0,18}$/;

/** Whether a parsed body is a purchase-tickets-resent one (by its `type`). */
export function isPurchaseTicketsResentBody(body: unknown): boolean {
  return (
    typeof body === 'object' && body !== null && (body as { type?: unknown }).type === PURCHASE_TICKETS_RESENT_TYPE
  );
}

/** Checks a parsed purchase-tickets-resent body; throws {@link MalformedMessageError} when it is not one. */
export function toPurchaseTicketsResent(body: unknown): PurchaseTicketsResentMessage {
  if (!isPurchaseTicketsResentBody(body)) throw new MalformedMessageError('not a purchase-tickets-resent message');
  const { purchaseId, resendId, requestedBy, ticketId } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof resendId !== 'string' || !UUID.test(resendId)) throw new MalformedMessageError('resendId');
  if (requestedBy !== 'buyer' && requestedBy !== 'operator') throw new MalformedMessageError('requestedBy');
  if (ticketId !== undefined && (typeof ticketId !== 'string' || !TICKET_ID.test(ticketId))) {
    throw new MalformedMessageError('ticketId');
  }
  return {
    type: PURCHASE_TICKETS_RESENT_TYPE,
    purchaseId: purchaseId.toLowerCase(),
    resendId: resendId.toLowerCase(),
    requestedBy,
    ...(ticketId !== undefined ? { ticketId } : {}),
  };
}
