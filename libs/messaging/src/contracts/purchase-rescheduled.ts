import { MalformedMessageError } from './purchase-completed';

/** `type` of a purchase-rescheduled body: routed `purchase.rescheduled`, it travels on the bulk mail queue. */
export const PURCHASE_RESCHEDULED_TYPE = 'purchase.rescheduled';

/**
 * Body of a `purchase.rescheduled` message: the notice to a paid purchase's buyer that its
 * performance moved (`performance_reschedules`), queued in the outbox by `batch`
 * (PerformanceReschedulesRepository.queueNextNotices) and relayed with the AMQP `messageId`
 * {@link purchaseRescheduledMessageId}.
 */
export interface PurchaseRescheduledMessage {
  type: typeof PURCHASE_RESCHEDULED_TYPE;
  purchaseId: string;
  /** The move (`performance_reschedules.id`): a bigint as decimal digits. */
  rescheduleId: string;
  /** RFC 3339 times: when the performance was to start before this move, and after it. */
  previousStartsAt: string;
  startsAt: string;
}

/** The one id of a purchase's notice of one move: outbox row, AMQP message and e-mail delivery share it. */
export function purchaseRescheduledMessageId(rescheduleId: string, purchaseId: string): string {
  return `performance-rescheduled:${rescheduleId}.${purchaseId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9][0-9]{0,18}$/;

/** Whether a parsed body is a purchase-rescheduled one (by its `type`). */
export function isPurchaseRescheduledBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === PURCHASE_RESCHEDULED_TYPE;
}

/** Checks a parsed purchase-rescheduled body; throws {@link MalformedMessageError} when it is not one. */
export function toPurchaseRescheduled(body: unknown): PurchaseRescheduledMessage {
  if (!isPurchaseRescheduledBody(body)) throw new MalformedMessageError('not a purchase-rescheduled message');
  const { purchaseId, rescheduleId, previousStartsAt, startsAt } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof rescheduleId !== 'string' || !BIGINT.test(rescheduleId)) throw new MalformedMessageError('rescheduleId');
  for (const [name, value] of [
    ['previousStartsAt', previousStartsAt],
    ['startsAt', startsAt],
  ] as const) {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new MalformedMessageError(name);
  }
  return {
    type: PURCHASE_RESCHEDULED_TYPE,
    purchaseId: purchaseId.toLowerCase(),
    rescheduleId,
    previousStartsAt: previousStartsAt as string,
    startsAt: startsAt as string,
  };
}
