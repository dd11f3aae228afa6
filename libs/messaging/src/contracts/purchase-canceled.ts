import { MalformedMessageError, parsePurchaseCompleted, PurchaseCompletedMessage } from './purchase-completed';

/** `type` of a purchase-canceled body: it travels on the purchase-mail queue beside purchase-completed ones. */
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
  const { purchaseId, canceledAt } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof canceledAt !== 'string' || Number.isNaN(Date.parse(canceledAt))) {
    throw new MalformedMessageError('canceledAt');
  }
  return { type: PURCHASE_CANCELED_TYPE, purchaseId: purchaseId.toLowerCase(), canceledAt };
}

/** A message of the purchase-mail queue: a confirmation to send, or a cancellation notice. */
export type PurchaseMailMessage =
  { kind: 'completed'; message: PurchaseCompletedMessage } | { kind: 'canceled'; message: PurchaseCanceledMessage };

/**
 * Parses a body of the purchase-mail queue: purchase-canceled when its `type` says so, else
 * purchase-completed (whose bodies carry no `type`). Throws {@link MalformedMessageError}.
 */
export function parsePurchaseMailMessage(content: Buffer): PurchaseMailMessage {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw new MalformedMessageError('not JSON');
  }
  if (isPurchaseCanceledBody(body)) return { kind: 'canceled', message: toPurchaseCanceled(body) };
  return { kind: 'completed', message: parsePurchaseCompleted(content) };
}
