import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import {
  OpenPaymentAttempt,
  PaymentAttemptsRepository,
  PaymentAttemptStatus,
  PurchaseRepository,
  TransactionRunner,
} from '@app/database';
import { PaymentDeclinedError } from '../errors';
import { performanceKeys } from '../redis-keys';
import { PaymentGateway } from './payment-gateway';

/**
 * What the reconciliation did with one attempt; `deferred`: nothing yet, its hold can still be
 * bought (a retry with the same Idempotency-Key would sell it on this very charge).
 */
export type ReconcileOutcome = 'completed' | 'refunded' | 'declined' | 'deferred';

/**
 * P9 in `batch`: settles payment attempts left open for PAYMENT_RECONCILE_AFTER_SECONDS (their
 * request died between charge and sale, or never finished; or it sold, and the api leaves a sold
 * purchase's attempt CHARGED). One whose purchase happened (the hold bought by it, the purchase in
 * Redis or PostgreSQL) is marked COMPLETED; any other is refunded and marked REFUNDED once its hold
 * can no longer be bought (gone, no longer HELD, or expired by Redis TIME), and left open until then:
 * after a failover lost a sale (answered 503), the buyer's retry with the same key sells the hold
 * again on the same charge, so refunding it first would refuse a purchase that can still happen. Each
 * attempt is settled in its own transaction holding its row (`FOR UPDATE SKIP LOCKED`), so
 * reconcilers running at once never refund twice, and a retry of the request waits for it.
 */
@Injectable()
export class PaymentReconciler {
  private readonly logger = new Logger(PaymentReconciler.name);
  /** Attempts settled by this process since it started, by outcome (also a log field). */
  readonly settled: Record<ReconcileOutcome, number> = { completed: 0, refunded: 0, declined: 0, deferred: 0 };

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Env) private readonly env: Env,
    private readonly gateway: PaymentGateway,
    private readonly attempts: PaymentAttemptsRepository,
    private readonly purchases: PurchaseRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  /** Settles the oldest stale attempt, if any; returns its outcome, or null when none was due. */
  reconcileOnce(): Promise<ReconcileOutcome | null> {
    return this.transactions.run(async (manager) => {
      const [attempt] = await this.attempts.lockStale(manager, this.env.PAYMENT_RECONCILE_AFTER_SECONDS * 1000, 1);
      if (!attempt) return null;
      const outcome = await this.settle(attempt);
      if (outcome.outcome === 'deferred') {
        await this.attempts.touch(attempt.purchaseId, manager);
        this.settled.deferred += 1;
        this.logger.log({
          message: `payment attempt ${attempt.purchaseId} of reservation ${attempt.reservationId} left open: its hold can still be bought`,
          boxoffice: {
            payment_reconcile: { purchase_id: attempt.purchaseId, outcome: 'deferred', settled: this.settled },
          },
        });
        return 'deferred';
      }
      const status = {
        completed: PaymentAttemptStatus.Completed,
        refunded: PaymentAttemptStatus.Refunded,
        declined: PaymentAttemptStatus.Declined,
      } as const;
      await this.attempts.resolve(attempt.purchaseId, status[outcome.outcome], outcome.chargeId, manager);
      this.settled[outcome.outcome] += 1;
      this.logger.log({
        message: `payment attempt ${attempt.purchaseId} of reservation ${attempt.reservationId} reconciled: ${outcome.outcome}`,
        boxoffice: {
          payment_reconcile: {
            purchase_id: attempt.purchaseId,
            outcome: outcome.outcome,
            amount: attempt.amount,
            currency: attempt.currency,
            charge_id: outcome.chargeId,
            settled: this.settled,
          },
        },
      });
      return outcome.outcome;
    });
  }

  private async settle(attempt: OpenPaymentAttempt): Promise<{ outcome: ReconcileOutcome; chargeId: string | null }> {
    const state = await this.purchaseState(attempt);
    if (state === 'happened') return { outcome: 'completed', chargeId: null };
    if (state === 'buyable') return { outcome: 'deferred', chargeId: null };
    let chargeId = attempt.chargeId;
    if (chargeId === null) {
      // The request died around its charge: asking again with the attempt's key answers the charge
      // it made, if any, and charges nothing more (one made now is refunded at once below).
      try {
        ({ chargeId } = await this.gateway.charge(attempt));
      } catch (error) {
        if (error instanceof PaymentDeclinedError) return { outcome: 'declined', chargeId: null };
        throw error;
      }
    }
    await this.gateway.refund(chargeId);
    return { outcome: 'refunded', chargeId };
  }

  /**
   * `happened`: the hold was bought by this purchase, or the purchase is in Redis or PostgreSQL.
   * `buyable`: not yet, and the hold is still HELD and unexpired by Redis TIME, so a retry may
   * still buy it. `over`: neither; the charge can be refunded.
   */
  private async purchaseState(attempt: OpenPaymentAttempt): Promise<'happened' | 'buyable' | 'over'> {
    const keys = performanceKeys(attempt.performanceId);
    // One slot: the hold and the purchase share the performance's tag; TIME goes with them.
    const replies = ((await this.redis
      .pipeline()
      .hmget(keys.hold(attempt.reservationId), 'status', 'purchaseId', 'expiresAt')
      .exists(keys.purchase(attempt.purchaseId))
      .time()
      .exec()) ?? []) as [Error | null, unknown][];
    for (const [error] of replies) if (error) throw error;
    const [[, hold], [, inRedis], [, time]] = replies;
    const [status, boughtBy, expiresAt] = hold as (string | null)[];
    if ((status === 'PURCHASED' && boughtBy === attempt.purchaseId) || inRedis === 1) return 'happened';
    if ((await this.purchases.findById(attempt.purchaseId)) !== null) return 'happened';
    const [seconds, micros] = (time as string[]).map(Number);
    const now = seconds * 1000 + Math.floor(micros / 1000);
    return status === 'HELD' && Number(expiresAt) > now ? 'buyable' : 'over';
  }
}
