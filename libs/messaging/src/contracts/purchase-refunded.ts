import { MalformedMessageError } from './purchase-completed';

/**
 * `type` of a purchase-refunded body: the notice of a partial refund (an operator refunded some
 * seats of a purchase, which stays paid with the others). Routed `purchase.canceled`, the urgent
 * mail queue, as an operator's refund of a whole purchase is (see ROUTING).
 */
export const PURCHASE_REFUNDED_TYPE = 'purchase.refunded';

/**
 * Body of a `purchase.refunded` message, written to the outbox in the transaction that writes the
 * partial refund to PostgreSQL and relayed with the AMQP `messageId` {@link purchaseRefundedMessageId}:
 * one notice a partial refund (P5).
 */
export interface PurchaseRefundedMessage {
  type: typeof PURCHASE_REFUNDED_TYPE;
  purchaseId: string;
  /** The partial refund's id (`purchase_refunds.id`). */
  refundId: string;
  /** RFC 3339 time of the refund. */
  refundedAt: string;
  /** The seats refunded: their tickets no longer admit anyone. */
  seatIds: number[];
  /** Of `seatIds`, the checked-in seats kept sold (never resold); absent when none. */
  keptSeatIds?: number[];
  /** What went back to the buyer, an integer in minor units of `currency` (0: free seats). */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
}

/** The one id of a partial refund's message: outbox row, AMQP message and e-mail delivery share it. */
export function purchaseRefundedMessageId(refundId: string): string {
  return `purchase-refunded:${refundId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const seatList = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((id) => Number.isSafeInteger(id) && (id as number) > 0);

/** Whether a parsed body is a purchase-refunded one (by its `type`). */
export function isPurchaseRefundedBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === PURCHASE_REFUNDED_TYPE;
}

/** Checks a parsed purchase-refunded body; throws {@link MalformedMessageError} when it is not one. */
export function toPurchaseRefunded(body: unknown): PurchaseRefundedMessage {
  if (!isPurchaseRefundedBody(body)) throw new MalformedMessageError('not a purchase-refunded message');
  const { purchaseId, refundId, refundedAt, seatIds, keptSeatIds, amount, currency } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof refundId !== 'string' || !UUID.test(refundId)) throw new MalformedMessageError('refundId');
  if (typeof refundedAt !== 'string' || Number.isNaN(Date.parse(refundedAt))) {
    throw new MalformedMessageError('refundedAt');
  }
  if (!seatList(seatIds) || seatIds.length === 0) throw new MalformedMessageError('seatIds');
  if (keptSeatIds !== undefined && !seatList(keptSeatIds)) throw new MalformedMessageError('keptSeatIds');
  if (!Number.isSafeInteger(amount) || (amount as number) < 0) throw new MalformedMessageError('amount');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new MalformedMessageError('currency');
  return {
    type: PURCHASE_REFUNDED_TYPE,
    purchaseId: purchaseId.toLowerCase(),
    refundId: refundId.toLowerCase(),
    refundedAt,
    seatIds,
    ...(keptSeatIds === undefined || keptSeatIds.length === 0 ? {} : { keptSeatIds }),
    amount: amount as number,
    currency,
  };
}
