import { hasMessageType } from './sealed-token';
import { MalformedMessageError } from './purchase-completed';

/** `type` of a payment-refunded body: it travels on the urgent mail queue. */
export const PAYMENT_REFUNDED_TYPE = 'payment-refunded';

/**
 * Body of a `payment.refunded` message: the notice to a buyer whose charge `batch`'s payment
 * reconciliation refunded because its purchase never happened or was lost (a crash between charge
 * and sale; a `201` purchase lost with Redis's data; one the flusher parked). Written to the outbox
 * in the transaction that marks the payment attempt REFUNDED (PaymentAttemptsRepository
 * .writeRefundNotice), named after the attempt ({@link paymentRefundedMessageId}). It carries every
 * fact the e-mail shows: there is no purchase in PostgreSQL to read them from. `email` and `name`
 * are the buyer's account's at the refund.
 */
export interface PaymentRefundedMessage {
  type: typeof PAYMENT_REFUNDED_TYPE;
  /** The payment attempt's id (the purchase id the api gave it). */
  purchaseId: string;
  email: string;
  name: string;
  /** What was given back: an integer in minor units of `currency`, above 0. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  eventTitle: string;
  venue: string;
  /** IANA name of the venue's time zone. */
  timeZone: string;
  /** RFC 3339 start of the performance. */
  startsAt: string;
  /** RFC 3339 time of the refund (the attempt's settlement). */
  refundedAt: string;
}

/** The one id of a refund notice's message: outbox row, AMQP message and e-mail delivery share it. */
export function paymentRefundedMessageId(purchaseId: string): string {
  return `payment-refunded:${purchaseId}`;
}

/** Whether a parsed body is a payment-refunded one (by its `type`). */
export function isPaymentRefundedBody(body: unknown): boolean {
  return hasMessageType(body, PAYMENT_REFUNDED_TYPE);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURRENCY = /^[A-Z]{3}$/;

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

/** Checks a parsed payment-refunded body; throws MalformedMessageError naming the first bad field. */
export function toPaymentRefunded(body: unknown): PaymentRefundedMessage {
  if (!isPaymentRefundedBody(body)) throw new MalformedMessageError(`not a ${PAYMENT_REFUNDED_TYPE} message`);
  const { purchaseId, email, name, amount, currency, eventTitle, venue, timeZone, startsAt, refundedAt } =
    body as Record<string, unknown>;
  if (typeof purchaseId !== 'string' || !UUID.test(purchaseId)) throw new MalformedMessageError('purchaseId');
  if (typeof email !== 'string' || !email.includes('@')) throw new MalformedMessageError('email');
  if (typeof name !== 'string') throw new MalformedMessageError('name');
  if (!Number.isSafeInteger(amount) || (amount as number) <= 0) throw new MalformedMessageError('amount');
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) throw new MalformedMessageError('currency');
  if (!isText(eventTitle)) throw new MalformedMessageError('eventTitle');
  if (!isText(venue)) throw new MalformedMessageError('venue');
  if (!isText(timeZone)) throw new MalformedMessageError('timeZone');
  if (!isTime(startsAt)) throw new MalformedMessageError('startsAt');
  if (!isTime(refundedAt)) throw new MalformedMessageError('refundedAt');
  return {
    type: PAYMENT_REFUNDED_TYPE,
    purchaseId: purchaseId.toLowerCase(),
    email,
    name,
    amount: amount as number,
    currency,
    eventTitle,
    venue,
    timeZone,
    startsAt,
    refundedAt,
  };
}
