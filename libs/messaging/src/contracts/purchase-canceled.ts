import { CANCELED_BY, CanceledBy } from '@app/core';
import { MalformedMessageError } from './purchase-completed';

/**
 * `type` of a purchase-canceled body. Routed `purchase.canceled` (a buyer's cancel, an operator's
 * refund: the urgent mail queue, beside purchase-completed ones) or `purchase.canceled.performance`
 * (the bulk refund of a canceled performance: the bulk mail queue); see ROUTING.
 */
export const PURCHASE_CANCELED_TYPE = 'purchase.canceled';

/**
 * Body of a `purchase.canceled` message, written to the outbox in the transaction that cancels a
 * persisted purchase (PAID → CANCELED) and relayed with the AMQP `messageId`
 * {@link purchaseCanceledMessageId}: the cancellation notice of a confirmed purchase (P5).
 */
export interface PurchaseCanceledMessage {
  type: typeof PURCHASE_CANCELED_TYPE;
  purchaseId: string;
  /** RFC 3339 time of the cancellation. */
  canceledAt: string;
  /**
   * Who canceled (CanceledBy of @app/core): its buyer, an operator's refund, or the bulk refund of
   * its canceled performance; the notice is worded by it. Absent in a message written before the
   * cancellation carried it.
   */
  canceledBy?: CanceledBy;
  /**
   * Seat ids of checked-in tickets the cancel kept sold, never resold (an operator's refund with
   * `resellCheckedInSeats: false`, or a canceled show's bulk refund); the notice names them as
   * kept. Absent when none was kept, and in a message written before the cancellation carried them.
   */
  keptSeatIds?: number[];
  /**
   * What the cancellation gives back as Redis decided it: the purchase's amount less every partial
   * refund before it, an integer in minor units of the purchase's currency. Written by the api's
   * cancel of a written purchase, so the mailer waits for a partial refund PostgreSQL has not written
   * yet before it lists the seats canceled. Absent otherwise (the flush writes partial refunds before
   * the cancellation), and in a message written before the cancellation carried it.
   */
  amount?: number;
}

/** The one id of a purchase's canceled message: outbox row, AMQP message and e-mail delivery share it. */
export function purchaseCanceledMessageId(purchaseId: string): string {
  return `purchase-canceled:${purchaseId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a parsed body is a purchase-canceled one (by its `type`), rather than a purchase-completed one. */
export function isPurchaseCanceledBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === PURCHASE_CANCELED_TYPE;
}

/** Checks a parsed purchase-canceled body; throws {@link MalformedMessageError} when it is not one. */
export function toPurchaseCanceled(body: unknown): PurchaseCanceledMessage {
  if (!isPurchaseCanceledBody(body)) throw new MalformedMessageError('not a purchase-canceled message');
  const { purchaseId, canceledAt, canceledBy, keptSeatIds, amount } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof canceledAt !== 'string' || Number.isNaN(Date.parse(canceledAt))) {
    throw new MalformedMessageError('canceledAt');
  }
  if (canceledBy !== undefined && !CANCELED_BY.includes(canceledBy as CanceledBy)) {
    throw new MalformedMessageError('canceledBy');
  }
  if (
    keptSeatIds !== undefined &&
    !(Array.isArray(keptSeatIds) && keptSeatIds.every((id) => Number.isSafeInteger(id) && (id as number) > 0))
  ) {
    throw new MalformedMessageError('keptSeatIds');
  }
  if (amount !== undefined && !(Number.isSafeInteger(amount) && (amount as number) >= 0)) {
    throw new MalformedMessageError('amount');
  }
  return {
    type: PURCHASE_CANCELED_TYPE,
    purchaseId: purchaseId.toLowerCase(),
    canceledAt,
    ...(canceledBy === undefined ? {} : { canceledBy: canceledBy as CanceledBy }),
    ...(keptSeatIds === undefined ? {} : { keptSeatIds: keptSeatIds as number[] }),
    ...(amount === undefined ? {} : { amount: amount as number }),
  };
}
