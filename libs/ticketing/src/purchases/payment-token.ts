import { InvalidInputError } from '../errors';

/**
 * A buyer's payment token (`paymentToken` of POST /purchases): what the processor's client SDK
 * returned (a Stripe PaymentMethod id, a Toss Payments paymentKey), 1–500 printable ASCII
 * characters without spaces.
 */
export const PAYMENT_TOKEN_PATTERN = /^[\x21-\x7E]{1,500}$/;

/** The 400 message of a payment token that breaks {@link PAYMENT_TOKEN_PATTERN} (it never quotes the value). */
export const PAYMENT_TOKEN_RULE = 'paymentToken must be 1-500 printable ASCII characters without spaces';

/** Throws InvalidInputError unless `token` is null or a well-formed payment token. */
export function assertPaymentToken(token: unknown): asserts token is string | null {
  if (token !== null && (typeof token !== 'string' || !PAYMENT_TOKEN_PATTERN.test(token))) {
    throw new InvalidInputError(PAYMENT_TOKEN_RULE);
  }
}
