import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { PaymentDeclinedError } from '../errors';
import { sandboxChargeKey } from '../redis-keys';
import { ChargeLookup, ChargeRequest, PaymentGateway, RefundRequest } from './payment-gateway';

/** The sandbox's test tokens (`paymentToken` of POST /purchases), as a processor's test cards. */
export const SANDBOX_TOKENS = {
  /** Every charge with it is declined: 402, nothing charged. */
  decline: 'tok_decline',
  /** The first charge of a key is made and its answer lost; every later ask of that key answers it. */
  timeout: 'tok_timeout',
} as const;

/**
 * How long, in seconds, the sandbox remembers a charge: 24 h, as Stripe keeps an idempotency key. A
 * retry or the reconciler comes far sooner (PAYMENT_RECONCILE_AFTER_SECONDS).
 */
export const SANDBOX_CHARGE_TTL_SECONDS = 24 * 60 * 60;

/**
 * A charge the gateway made whose answer never came (a timeout, a connection cut after the
 * processor took it): its outcome is unknown to the caller. Not a DomainError: it is a failure of a
 * dependency, answered as any other gateway failure (ChargeOutcomeUnknownError: 503 with
 * Retry-After, the attempt left PENDING for a same-key retry or `batch`'s reconciler). Its message never names the buyer's token.
 */
export class PaymentOutcomeUnknownError extends Error {
  constructor() {
    super('payment gateway: the charge was sent but its answer was lost; its outcome is unknown');
    this.name = 'PaymentOutcomeUnknownError';
  }
}

/**
 * PAYMENT_GATEWAY=sandbox (refused in production): moves no money, and reads the buyer's
 * `paymentToken` as a processor reads its test cards, so a running stack can try the 402 and the
 * unknown-outcome paths. `tok_decline`: declined (PaymentDeclinedError). `tok_timeout`: the first
 * charge of an idempotency key is recorded in the sandbox's books and answered with
 * PaymentOutcomeUnknownError; every later charge of that key (a retry with the same Idempotency-Key,
 * `batch`'s reconciler looking it up) answers that charge, as a processor answers a repeated
 * idempotency key. Anything else, or no token: approved. Refunds: approved. A charge's id follows
 * from its key (`ch_sandbox_<key>`), so every process and every ask agree on it.
 *
 * Its books: every charge made (approved, or `tok_timeout`'s), in Redis under the deployment's
 * REDIS_KEY_PREFIX ({@link sandboxChargeKey}), one `SET` each (`NX` for `tok_timeout`: its first ask
 * is the one whose answer is lost), kept 24 h, so every process sees one charge per key and
 * `findCharge` tells a charge made from a request that died before its charge (nothing under its
 * key: null). A declined charge is not in them (nothing was taken).
 */
@Injectable()
export class SandboxPaymentGateway extends PaymentGateway {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    super();
  }

  async charge(request: ChargeRequest): Promise<{ chargeId: string }> {
    const chargeId = `ch_sandbox_${request.idempotencyKey}`;
    if (request.paymentToken === SANDBOX_TOKENS.decline) {
      throw new PaymentDeclinedError('payment was declined (sandbox gateway: the declining test token)');
    }
    const key = sandboxChargeKey(request.idempotencyKey);
    if (request.paymentToken === SANDBOX_TOKENS.timeout) {
      const first = await this.redis.set(key, chargeId, 'EX', SANDBOX_CHARGE_TTL_SECONDS, 'NX');
      if (first === 'OK') throw new PaymentOutcomeUnknownError();
    } else {
      await this.redis.set(key, chargeId, 'EX', SANDBOX_CHARGE_TTL_SECONDS);
    }
    return { chargeId };
  }

  /** The charge in its books under the key, or null; rejects as Redis does (it cannot tell then). */
  async findCharge(lookup: ChargeLookup): Promise<{ chargeId: string } | null> {
    const chargeId = await this.redis.get(sandboxChargeKey(lookup.idempotencyKey));
    return chargeId === null ? null : { chargeId };
  }

  refund(_request: RefundRequest): Promise<void> {
    return Promise.resolve();
  }
}
