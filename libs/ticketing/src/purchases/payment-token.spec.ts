import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED_PAYMENT_TOKEN, withoutPaymentToken } from './payment-token';

const TOKEN = 'pm_1QxSecretCardToken';

/** Where `text` quotes `part`: the index of every occurrence, overlapping ones included. */
function startsOf(text: string, part: string): number[] {
  const starts: number[] = [];
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) starts.push(at);
  return starts;
}

describe('withoutPaymentToken', () => {
  it("replaces every quote of the token in a gateway error's message and stack, keeping its name and code", () => {
    const error = Object.assign(new Error(`No such PaymentMethod: '${TOKEN}' (${TOKEN})`), {
      name: 'StripeInvalidRequestError',
      code: 'resource_missing',
    });
    const redacted = withoutPaymentToken(error, TOKEN) as Error & { code?: string };
    expect(redacted.message).toBe(`No such PaymentMethod: '${REDACTED_PAYMENT_TOKEN}' (${REDACTED_PAYMENT_TOKEN})`);
    expect(redacted.stack).not.toContain(TOKEN);
    expect(redacted.name).toBe('StripeInvalidRequestError');
    expect(redacted.code).toBe('resource_missing');
  });

  it('answers an error that does not quote the token, a non-error, or no token unchanged', () => {
    const plain = new Error('gateway unreachable');
    expect(withoutPaymentToken(plain, TOKEN)).toBe(plain);
    expect(withoutPaymentToken('text', TOKEN)).toBe('text');
    const quoting = new Error(TOKEN);
    expect(withoutPaymentToken(quoting, null)).toBe(quoting);
  });

  it('never leaves a token in what it answers, whatever the message around it (generated)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\x21-\x7E]{1,40}$/),
        fc.array(fc.string(), { minLength: 1, maxLength: 4 }),
        (token, parts) => {
          const error = new Error(parts.join(token));
          const logged = withoutPaymentToken(error, token) as Error;
          // Every quote of the token is gone; one the marker itself takes part in may be new (text
          // "--[" with the token "-[" is logged "-[paymentToken]"), and shows nothing the text hid.
          const markers = startsOf(logged.message, REDACTED_PAYMENT_TOKEN);
          for (const at of startsOf(logged.message, token)) {
            const inMarker = markers.some((m) => m < at + token.length && at < m + REDACTED_PAYMENT_TOKEN.length);
            expect(inMarker, `${JSON.stringify(logged.message)} quotes the token at ${at}`).toBe(true);
          }
        },
      ),
      // Met by a hunt of 2,000 runs (seed 1781025825), rarely drawn.
      { examples: [['-[', ['-', '']]] },
    );
  });
});
