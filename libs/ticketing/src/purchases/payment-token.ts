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

/** What stands for a payment token in an error that quoted it. */
export const REDACTED_PAYMENT_TOKEN = '[paymentToken]';

/**
 * `error` as it may be logged: a gateway's error whose message or stack quotes the buyer's
 * `token` (a processor's "No such PaymentMethod: 'pm_…'") becomes an Error of the same name and
 * `code` with every occurrence replaced by REDACTED_PAYMENT_TOKEN; any other value is answered
 * unchanged. The token is never logged (docs/guide/buying.md, "Payment tokens").
 */
export function withoutPaymentToken(error: unknown, token: string | null): unknown {
  if (token === null || !(error instanceof Error)) return error;
  const quotes = (text: string | undefined) => text !== undefined && text.includes(token);
  if (!quotes(error.message) && !quotes(error.stack)) return error;
  const redact = (text: string) => text.split(token).join(REDACTED_PAYMENT_TOKEN);
  const redacted = new Error(redact(error.message));
  redacted.name = error.name;
  if (error.stack !== undefined) redacted.stack = redact(error.stack);
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(redacted, { code });
  return redacted;
}
