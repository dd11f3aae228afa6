import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { PaymentDeclinedError } from '../errors';
import { sandboxChargeKey } from '../redis-keys';
import { ChargeRequest } from './payment-gateway';
import {
  PaymentOutcomeUnknownError,
  SANDBOX_CHARGE_TTL_SECONDS,
  SANDBOX_TOKENS,
  SandboxPaymentGateway,
} from './sandbox-payment-gateway';

/** SandboxPaymentGateway on real Redis, as two processes (an api and a batch) with their own clients see it. */
describe('SandboxPaymentGateway (real Redis)', () => {
  let fx: TicketingFixture;
  let api: SandboxPaymentGateway;
  let batch: SandboxPaymentGateway;

  beforeAll(() => {
    fx = ticketingFixture();
    api = new SandboxPaymentGateway(fx.redis);
    batch = new SandboxPaymentGateway(fx.connect().redis);
  });
  afterAll(() => fx?.close());

  const request = (paymentToken: string | null): ChargeRequest => {
    const purchaseId = randomUUID();
    return {
      purchaseId,
      reservationId: randomUUID(),
      idempotencyKey: purchaseId,
      paymentToken,
      userId: randomUUID(),
      amount: 1050,
      currency: 'KRW',
    };
  };

  /** The lookup `batch`'s reconciler makes of a charge request: its fields, no token. */
  const lookup = ({ paymentToken: _token, ...fields }: ChargeRequest) => fields;

  it('approves no token and any other token, with a charge id of the idempotency key, the same on every ask, kept in its books', async () => {
    for (const token of [null, 'pm_card_visa', 'tok_visa', 'x'.repeat(500)]) {
      const charge = request(token);
      const expected = { chargeId: `ch_sandbox_${charge.idempotencyKey}` };
      // Not charged yet: nothing under the key, for any process.
      expect(await batch.findCharge(lookup(charge))).toBeNull();
      expect(await api.charge(charge)).toEqual(expected);
      expect(await batch.charge(charge)).toEqual(expected);
      // Made: in its books, kept as a processor keeps a key, found by another process.
      expect(await fx.redis.get(sandboxChargeKey(charge.idempotencyKey))).toBe(expected.chargeId);
      expect(await fx.redis.ttl(sandboxChargeKey(charge.idempotencyKey))).toBeGreaterThan(
        SANDBOX_CHARGE_TTL_SECONDS - 60,
      );
      expect(await batch.findCharge(lookup(charge))).toEqual(expected);
    }
  });

  it('finds no charge under a key never charged, or only declined, and never charges when asked', async () => {
    const never = request('pm_card_visa');
    expect(await batch.findCharge(lookup(never))).toBeNull();
    expect(await api.findCharge(lookup(never))).toBeNull();
    expect(await fx.redis.exists(sandboxChargeKey(never.idempotencyKey))).toBe(0);
    const declined = request(SANDBOX_TOKENS.decline);
    await expect(api.charge(declined)).rejects.toBeInstanceOf(PaymentDeclinedError);
    expect(await batch.findCharge(lookup(declined))).toBeNull();
  });

  it('rejects a lookup it cannot answer (its Redis read fails), never answering null', async () => {
    const { redis } = fx.connect();
    // The read fails as it does while Redis is unreachable (a closed connection, a command timeout).
    vi.spyOn(redis, 'get').mockRejectedValueOnce(new Error('Connection is closed.'));
    await expect(new SandboxPaymentGateway(redis).findCharge(lookup(request('pm_card_visa')))).rejects.toThrow(
      'Connection is closed.',
    );
  });

  it('declines tok_decline on every ask, by any process, never naming the token', async () => {
    const charge = request(SANDBOX_TOKENS.decline);
    for (const gateway of [api, api, batch]) {
      const declined = gateway.charge(charge);
      await expect(declined).rejects.toBeInstanceOf(PaymentDeclinedError);
      await expect(declined).rejects.not.toThrow(SANDBOX_TOKENS.decline);
    }
    expect(await fx.redis.exists(sandboxChargeKey(charge.idempotencyKey))).toBe(0);
  });

  it('loses the answer of the first tok_timeout charge of a key, and answers that charge to every later ask, in any process', async () => {
    const charge = request(SANDBOX_TOKENS.timeout);
    const lost = api.charge(charge);
    await expect(lost).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    await expect(lost).rejects.not.toThrow(SANDBOX_TOKENS.timeout);
    // Made: in the sandbox's books under the deployment's prefix, kept as a processor keeps a key.
    const chargeId = `ch_sandbox_${charge.idempotencyKey}`;
    expect(await fx.redis.get(sandboxChargeKey(charge.idempotencyKey))).toBe(chargeId);
    const ttl = await fx.redis.ttl(sandboxChargeKey(charge.idempotencyKey));
    expect(ttl).toBeGreaterThan(SANDBOX_CHARGE_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(SANDBOX_CHARGE_TTL_SECONDS);
    // The reconciler in `batch` finds it; a same-key retry in the api gets it too.
    expect(await batch.findCharge(lookup(charge))).toEqual({ chargeId });
    expect(await batch.charge(charge)).toEqual({ chargeId });
    expect(await api.charge(charge)).toEqual({ chargeId });
    // Another key with the same token: its own first ask is lost again.
    await expect(batch.charge(request(SANDBOX_TOKENS.timeout))).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
  });

  it('answers a lost first ask to exactly one of many racing asks of one key', async () => {
    const charge = request(SANDBOX_TOKENS.timeout);
    const outcomes = await Promise.allSettled([api, batch, api, batch].map((gateway) => gateway.charge(charge)));
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
  });

  it('approves every refund', async () => {
    const refund = { chargeId: 'ch_sandbox_x', idempotencyKey: 'refund:x', amount: 1050, currency: 'KRW' };
    await expect(api.refund(refund)).resolves.toBeUndefined();
    await expect(batch.refund(refund)).resolves.toBeUndefined();
  });
});
