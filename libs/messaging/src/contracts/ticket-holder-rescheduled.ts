import { MalformedMessageError } from './purchase-completed';

/** `type` of a ticket-holder.rescheduled body: routed `purchase.rescheduled`, it travels on the bulk mail queue. */
export const TICKET_HOLDER_RESCHEDULED_TYPE = 'ticket-holder.rescheduled';

/**
 * Body of a `ticket-holder.rescheduled` message: the notice to an account holding tickets of a
 * performance by accepted transfers (`tickets.holder_id`, not their purchase's buyer) that the
 * performance moved (`performance_reschedules`), queued in the outbox by `batch` with the move's
 * buyers' notices (PerformanceReschedulesRepository.queueNextNotices), one per holder and move,
 * relayed with the AMQP `messageId` {@link ticketHolderRescheduledMessageId}. The mailer reads the
 * seats the account holds when it sends.
 */
export interface TicketHolderRescheduledMessage {
  type: typeof TICKET_HOLDER_RESCHEDULED_TYPE;
  /** The holder's account (`users.id`). */
  holderId: string;
  performanceId: number;
  /** The move (`performance_reschedules.id`): a bigint as decimal digits. */
  rescheduleId: string;
  /** RFC 3339: when the performance was to start before this move. */
  previousStartsAt: string;
}

/**
 * The one id of a holder's notice of one move: outbox row, AMQP message and e-mail delivery share
 * it. `ticket-transfer-` as every transfer e-mail's: `email_deliveries` takes a row of no purchase
 * under that prefix (its check constraint), so this needs no migration.
 */
export function ticketHolderRescheduledMessageId(rescheduleId: string, holderId: string): string {
  return `ticket-transfer-holder-rescheduled:${rescheduleId}.${holderId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9][0-9]{0,18}$/;

/** Whether a parsed body is a ticket-transfer-holder-rescheduled one (by its `type`). */
export function isTicketHolderRescheduledBody(body: unknown): boolean {
  return (
    typeof body === 'object' && body !== null && (body as { type?: unknown }).type === TICKET_HOLDER_RESCHEDULED_TYPE
  );
}

/** Checks a parsed ticket-holder.rescheduled body; throws {@link MalformedMessageError} naming the first bad field. */
export function toTicketHolderRescheduled(body: unknown): TicketHolderRescheduledMessage {
  if (!isTicketHolderRescheduledBody(body)) throw new MalformedMessageError('not a ticket-holder.rescheduled message');
  const { holderId, performanceId, rescheduleId, previousStartsAt } = body as Record<string, unknown>;
  if (typeof holderId !== 'string' || !UUID.test(holderId)) throw new MalformedMessageError('holderId');
  if (typeof performanceId !== 'number' || !Number.isSafeInteger(performanceId) || performanceId < 1) {
    throw new MalformedMessageError('performanceId');
  }
  if (typeof rescheduleId !== 'string' || !BIGINT.test(rescheduleId)) throw new MalformedMessageError('rescheduleId');
  if (typeof previousStartsAt !== 'string' || Number.isNaN(Date.parse(previousStartsAt))) {
    throw new MalformedMessageError('previousStartsAt');
  }
  return {
    type: TICKET_HOLDER_RESCHEDULED_TYPE,
    holderId: holderId.toLowerCase(),
    performanceId,
    rescheduleId,
    previousStartsAt,
  };
}
