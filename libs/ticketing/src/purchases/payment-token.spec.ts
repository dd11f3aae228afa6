import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED_PAYMENT_TOKEN, withoutPaymentToken } from './payment-token';

const TOKEN = 'pm_1QxSecretCardToken';

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
          expect(logged.message.includes(token) && !REDACTED_PAYMENT_TOKEN.includes(token)).toBe(false);
        },
      ),
    );
  });
});
