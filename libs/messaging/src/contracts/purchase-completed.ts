import { isCurrencyCode } from '@app/config';

/**
 * Body of a `purchase.completed` message, written to the outbox with the purchase rows and
 * relayed to RabbitMQ with the AMQP `messageId` {@link purchaseCompletedMessageId}. The flush
 * statement builds it from the purchase's columns (`PurchaseRepository.writeBatch`, as the
 * cancellation's message is built beside its UPDATE): keep the two in step (the purchases e2e
 * compares a flushed row with this shape).
 */
export interface PurchaseCompletedMessage {
  purchaseId: string;
  userId: string;
  performanceId: number;
  seatIds: number[];
  /** Sum of the seat prices, an integer in minor units of `currency` (1050 KRW is ₩1,050). */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  /** ISO 8601 time of the purchase. */
  createdAt: string;
}

/** A message that can never be handled, however often it is tried. */
export class MalformedMessageError extends Error {
  constructor(reason: string) {
    super(`malformed message: ${reason}`);
    this.name = 'MalformedMessageError';
  }
}

/** The one id of a purchase's completed message: outbox row, AMQP message and e-mail delivery share it. */
export function purchaseCompletedMessageId(purchaseId: string): string {
  return `purchase-completed:${purchaseId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses and checks a message body; throws {@link MalformedMessageError} when it is not one. */
export function parsePurchaseCompleted(content: Buffer): PurchaseCompletedMessage {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw new MalformedMessageError('not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new MalformedMessageError('not an object');
  const { purchaseId, userId, performanceId, seatIds, amount, currency, createdAt } = body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof userId !== 'string' || !UUID.test(userId)) throw new MalformedMessageError('userId');
  if (!Number.isSafeInteger(performanceId) || (performanceId as number) < 1) {
    throw new MalformedMessageError('performanceId');
  }
  if (!Array.isArray(seatIds) || seatIds.length === 0 || !seatIds.every((id) => Number.isSafeInteger(id) && id > 0)) {
    throw new MalformedMessageError('seatIds');
  }
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new MalformedMessageError('amount');
  }
  if (!isCurrencyCode(currency)) throw new MalformedMessageError('currency');
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))
    throw new MalformedMessageError('createdAt');
  return {
    purchaseId: purchaseId.toLowerCase(),
    userId,
    performanceId: performanceId as number,
    seatIds: seatIds as number[],
    amount,
    currency,
    createdAt,
  };
}
