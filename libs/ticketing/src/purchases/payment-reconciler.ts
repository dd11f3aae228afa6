import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Env } from '@app/config';
import {
  OpenPaymentAttempt,
  PaymentAttemptsRepository,
  RecheckedPaymentAttempt,
  PaymentAttemptStatus,
  PurchaseRefundsRepository,
  PurchaseRepository,
  PurchaseStatus,
  TransactionRunner,
} from '@app/database';
import { ROUTING } from '@app/messaging/contracts';
import { boundedGatewayCall } from './gateway-bound';
import { chargeLookupOf, PaymentGateway, partialRefundIdempotencyKey, refundIdempotencyKey } from './payment-gateway';
import { PurchaseStore } from './purchase.store';

const RECONCILE_OUTCOMES = [
  'completed',
  'refunded',
  'uncharged',
  'recheck_refunded',
  'recheck_uncharged',
  'deferred',
  'superseded',
  'contended',
] as const;

/**
 * What the reconciliation did with one attempt; `uncharged`: the gateway has no charge under its key
 * (its request died before its charge reached the processor), settled DECLINED with nothing given
 * back, and its key looked up once more PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS later;
 * `recheck_refunded`: that second look found a charge (the api's own, in flight at the first look,
 * landed after it, and never noted: its process died), refunded, the attempt REFUNDED;
 * `recheck_uncharged`: the second look found none either, the attempt DECLINED for good; `deferred`: nothing yet, its hold can still be bought (a retry with the same
 * Idempotency-Key would sell it on this very charge); `superseded`: nothing, a request took the
 * attempt up (a same-key retry touched it) or settled it meanwhile; `contended`: nothing, its row
 * was locked by another session when the settlement came, unchanged
 * since the claim (most often another reconciler looking for a stale attempt at that instant):
 * due again PAYMENT_RECONCILE_AFTER_SECONDS after the claim.
 */
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

/** The outcomes `reconciled` counts: each ReconcileOutcome, and `failed`. */
const RECONCILE_COUNTED = [...RECONCILE_OUTCOMES, 'failed'] as const;

/**
 * P9 in `batch`: settles payment attempts left open for PAYMENT_RECONCILE_AFTER_SECONDS (their
 * request died between charge and sale, or never finished; or it sold, and the api leaves a sold
 * purchase's attempt CHARGED; or its purchase was canceled, REFUND_OWED, and the api's own refund
 * was not recorded: it crashed, or the gateway failed it). One whose purchase's cancellation is
 * in PostgreSQL is refunded and marked REFUNDED (canceled in Redis only, it is left open until the
 * flush writes it). One whose purchase happened (the hold bought by it, the purchase in
 * Redis or PostgreSQL) is marked COMPLETED; any other is refunded and marked REFUNDED, with the
 * outbox row of its buyer's e-mail saying so (`noticeRefund`), once its hold
 * can no longer be bought (gone, no longer HELD, or expired by Redis TIME), and left open until then:
 * after a failover lost a sale (answered 503), the buyer's retry with the same key sells the hold
 * again on the same charge, so refunding it first would refuse a purchase that can still happen.
 * One with no charge id recorded (its request died around its charge) has its charge looked up
 * (PaymentGateway.findCharge), never charged again: none at the gateway is marked DECLINED
 * (`uncharged`: nothing taken, nothing given back).
 *
 * No row lock is held across a call whose end is not bounded: an attempt is first claimed (marked
 * touched in a statement of its own, `FOR UPDATE SKIP LOCKED`, so reconcilers running at once
 * never take the same one), then Redis and PostgreSQL are read with no lock held (a Redis node
 * that died must not leave the row locked, and with it the flusher's batch that completes it),
 * and only then, in one transaction, the row is locked again, without waiting, if it is still
 * untouched since the claim, and settled: the gateway calls of a refund run there, each bounded
 * by PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, so a same-key retry of the request never races a refund
 * (its `begin` finds the row held and answers it busy, without waiting: 409 PurchaseInProgress).
 * A retry that touched the attempt after the claim has it: it is left to that request (which
 * refunds a refused sale itself); one whose row another session holds at that instant without
 * having changed it (another reconciler's look for a stale attempt locks the rows it passes over
 * until its statement ends) is left for a later pass. Whether a purchase happened or a hold can be
 * bought, once read as over, does not change back, so reading it before the lock is safe.
 * A refund whose answer did not come in time (or whose commit failed) is asked again on a later
 * pass with the same request (RefundRequest: one idempotency key per purchase), which the gateway
 * answers as that one refund.
 */
@Injectable()
export class PaymentReconciler {
  private readonly logger = new Logger(PaymentReconciler.name);
  /** Attempts settled by this process since it started, by outcome (also a log field). */
  readonly settled: Record<ReconcileOutcome, number> = {
    completed: 0,
    refunded: 0,
    uncharged: 0,
    recheck_refunded: 0,
    recheck_uncharged: 0,
    deferred: 0,
    superseded: 0,
    contended: 0,
  };
  /**
   * Reconciliation passes that claimed an attempt or failed, by outcome: a {@link ReconcileOutcome},
   * or `failed` (PostgreSQL, Redis or the gateway failed the pass; an attempt it had claimed is due
   * again PAYMENT_RECONCILE_AFTER_SECONDS after the claim). In no registry until a process adds it.
   */
  readonly reconciled = new Counter({
    name: 'boxoffice_payment_reconciliations_total',
    help: 'Payment reconciliation passes by outcome: what was done with the stale attempt claimed, or failed',
    labelNames: ['outcome'],
    registers: [],
  });

  constructor(
    private readonly store: PurchaseStore,
    @Inject(Env) private readonly env: Env,
    private readonly gateway: PaymentGateway,
    private readonly attempts: PaymentAttemptsRepository,
    private readonly purchases: PurchaseRepository,
    private readonly transactions: TransactionRunner,
    private readonly partialRefunds: PurchaseRefundsRepository,
  ) {
    // Every outcome's series from the start at 0, so `increase()` sees the first one counted.
    for (const outcome of RECONCILE_COUNTED) this.reconciled.inc({ outcome }, 0);
  }

  /**
   * Settles the oldest stale attempt, if any; returns its outcome, or null when none was due.
   * Rejects as the read, the gateway or the commit did (counted as `failed`).
   */
  async reconcileOnce(): Promise<ReconcileOutcome | null> {
    try {
      const outcome =
        (await this.settleOwedPartialRefund()) ?? (await this.settleOldest()) ?? (await this.recheckUncharged());
      if (outcome !== null) this.reconciled.inc({ outcome });
      return outcome;
    } catch (error) {
      this.reconciled.inc({ outcome: 'failed' });
      throw error;
    }
  }

  /**
   * Makes the partial refund (an operator refunded some seats of a purchase) owed longest, if owed
   * for PAYMENT_RECONCILE_AFTER_SECONDS (the api's own refund failed, or its process died, or the
   * flush wrote it): asks the gateway with its one key, so a refund made whose answer was lost is
   * answered again, not made twice, and records it REFUNDED. Null when none is due. One whose
   * purchase noted no charge (data of an older version) is left owed and logged: it needs an operator.
   */
  private async settleOwedPartialRefund(): Promise<ReconcileOutcome | null> {
    const owed = await this.partialRefunds.claimOwed(this.env.PAYMENT_RECONCILE_AFTER_SECONDS * 1000);
    if (!owed) return null;
    const log = {
      purchase_id: owed.purchaseId,
      refund_id: owed.refundId,
      amount: owed.amount,
      currency: owed.currency,
    };
    if (!owed.chargeId) {
      this.settled.deferred += 1;
      this.logger.warn({
        message: `partial refund ${owed.refundId} of purchase ${owed.purchaseId} left owed: its purchase noted no charge`,
        boxoffice: { payment_reconcile: { ...log, outcome: 'deferred', settled: this.settled } },
      });
      return 'deferred';
    }
    const refund = {
      chargeId: owed.chargeId,
      idempotencyKey: partialRefundIdempotencyKey(owed.purchaseId, owed.refundId),
      amount: owed.amount,
      currency: owed.currency,
    };
    await boundedGatewayCall(this.gateway.refund(refund), 'refund', this.env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS);
    await this.partialRefunds.markRefunded(owed.refundId);
    this.settled.refunded += 1;
    this.logger.log({
      message: `partial refund ${owed.refundId} of purchase ${owed.purchaseId} reconciled: refunded`,
      boxoffice: { payment_reconcile: { ...log, outcome: 'refunded', settled: this.settled } },
    });
    return 'refunded';
  }

  private async settleOldest(): Promise<ReconcileOutcome | null> {
    const attempt = await this.attempts.claimStale(this.env.PAYMENT_RECONCILE_AFTER_SECONDS * 1000);
    if (!attempt) return null;
    // A canceled purchase's refund owed: nothing to read, the charge is given back.
    let state: Awaited<ReturnType<PaymentReconciler['purchaseState']>> | 'refundsUnwritten' =
      attempt.status === PaymentAttemptStatus.RefundOwed ? 'canceled' : await this.purchaseState(attempt);
    // The whole refund gives back the charge less the partial refunds PostgreSQL has (`refund`): one
    // Redis lists that PostgreSQL does not have yet (its write failed; the flush writes it, and the
    // reconciler refunds it then) would be given back twice. The cancellation may reach PostgreSQL
    // before it (the api writes it at once), so the whole refund waits for it. Once canceled, a
    // purchase's partial refunds in Redis no longer grow, and PostgreSQL's sum only does.
    if ((state === 'canceled' || state === 'over') && (await this.partialRefundsUnwritten(attempt))) {
      state = 'refundsUnwritten';
    }
    if (state === 'buyable' || state === 'cancelUnwritten' || state === 'refundsUnwritten') {
      // The claim touched it: looked at again PAYMENT_RECONCILE_AFTER_SECONDS from now.
      this.settled.deferred += 1;
      const why = {
        buyable: 'its hold can still be bought',
        cancelUnwritten: 'its purchase’s cancellation is not in PostgreSQL yet (refunded once it is)',
        refundsUnwritten: 'partial refunds of its purchase are not in PostgreSQL yet (refunded once they are)',
      }[state];
      this.logger.log({
        message: `payment attempt ${attempt.purchaseId} of reservation ${attempt.reservationId} left open: ${why}`,
        boxoffice: {
          payment_reconcile: { purchase_id: attempt.purchaseId, outcome: 'deferred', settled: this.settled },
        },
      });
      return 'deferred';
    }
    const outcome = await this.transactions.run(async (manager) => {
      const lock = await this.attempts.lockClaimed(manager, attempt);
      if (lock !== 'locked') return lock;
      const settled =
        state === 'happened'
          ? { outcome: 'completed' as const, chargeId: null, amount: 0 }
          : await this.refund(attempt, manager);
      const status = {
        completed: PaymentAttemptStatus.Completed,
        refunded: PaymentAttemptStatus.Refunded,
        uncharged: PaymentAttemptStatus.Declined,
      } as const;
      // Nothing under its key now: looked up once more later, for a charge still in flight.
      const recheckAfterMs =
        settled.outcome === 'uncharged' ? this.env.PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS * 1000 : null;
      await this.attempts.resolve(
        attempt.purchaseId,
        status[settled.outcome],
        settled.chargeId,
        manager,
        recheckAfterMs,
      );
      // A charge whose purchase never happened or was lost (not a cancellation: that has its own
      // notice): its buyer, who may hold a `201`, is told of the refund with it.
      if (state === 'over' && settled.outcome === 'refunded') await this.noticeRefund(manager, attempt, settled.amount);
      return settled;
    });
    if (outcome === 'changed' || outcome === 'busy') return this.leftAlone(attempt, outcome);
    return this.report(attempt, outcome);
  }

  /**
   * The second look for the charge of an attempt settled `uncharged` (the gateway had none under its
   * key), due PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS after the first (a charge request the api
   * sent before dying may have been in flight then, and landed since; nothing else would ever give
   * it back). Claimed as a stale attempt is (the claim puts its look PAYMENT_RECONCILE_AFTER_SECONDS
   * ahead, so a look that fails is made again then), then, under the row lock if it is still as
   * claimed: looked up (`findCharge`, never a charge); a charge found is refunded with the
   * purchase's one refund key and the attempt marked REFUNDED (`recheck_refunded`); none, the
   * attempt stays DECLINED for good (`recheck_uncharged`). The api's late note of that charge
   * (`markCharged`) reopens the attempt and ends the look (the api or a later pass refunds it, as
   * any charge whose sale did not happen); a note that comes after this refund finds the attempt
   * REFUNDED and sells nothing. Null when none is due.
   */
  private async recheckUncharged(): Promise<ReconcileOutcome | null> {
    const attempt = await this.attempts.claimRecheck(this.env.PAYMENT_RECONCILE_AFTER_SECONDS * 1000);
    if (!attempt) return null;
    const outcome = await this.transactions.run(async (manager) => {
      const lock = await this.attempts.lockRecheck(manager, attempt);
      if (lock !== 'locked') return lock;
      const settled = await this.refund(attempt, manager);
      await this.attempts.endRecheck(
        manager,
        attempt.purchaseId,
        settled.outcome === 'refunded' ? settled.chargeId : null,
      );
      if (settled.outcome === 'refunded') await this.noticeRefund(manager, attempt, settled.amount);
      return {
        outcome: settled.outcome === 'refunded' ? ('recheck_refunded' as const) : ('recheck_uncharged' as const),
        chargeId: settled.chargeId,
      };
    });
    if (outcome === 'changed' || outcome === 'busy') return this.leftAlone(attempt, outcome);
    return this.report(attempt, outcome);
  }

  /**
   * Writes, in `manager`'s transaction (the one recording the refund), the notice telling the buyer
   * that `amount` (minor units) of the attempt's charge was refunded and no tickets were issued. None
   * when nothing was given back (`amount` 0: a free purchase, or one refunded in whole by an
   * operator's partial refunds already), or when a purchase of that id is in PostgreSQL.
   */
  private async noticeRefund(
    manager: Parameters<PaymentAttemptsRepository['writeRefundNotice']>[0],
    attempt: OpenPaymentAttempt | RecheckedPaymentAttempt,
    amount: number,
  ): Promise<void> {
    if (amount > 0) await this.attempts.writeRefundNotice(manager, attempt.purchaseId, amount, ROUTING.paymentRefunded);
  }

  /** Counts and logs an attempt left to another session (`changed`: superseded; `busy`: contended). */
  private leftAlone(
    attempt: OpenPaymentAttempt | RecheckedPaymentAttempt,
    outcome: 'changed' | 'busy',
  ): ReconcileOutcome {
    const left = {
      changed: {
        outcome: 'superseded' as const,
        why: 'left to the request that took it up (touched or settled since the claim)',
      },
      busy: {
        outcome: 'contended' as const,
        why:
          'left for a later pass: its row was locked by another session (most often another reconciler), ' +
          `due again in ${this.env.PAYMENT_RECONCILE_AFTER_SECONDS} s`,
      },
    }[outcome];
    this.settled[left.outcome] += 1;
    this.logger.log({
      message: `payment attempt ${attempt.purchaseId} of reservation ${attempt.reservationId} ${left.why}`,
      boxoffice: {
        payment_reconcile: { purchase_id: attempt.purchaseId, outcome: left.outcome, settled: this.settled },
      },
    });
    return left.outcome;
  }

  /** Counts and logs what was done with an attempt (its outcome, and the charge when one was learnt). */
  private report(
    attempt: OpenPaymentAttempt | RecheckedPaymentAttempt,
    outcome: { outcome: ReconcileOutcome; chargeId: string | null },
  ): ReconcileOutcome {
    this.settled[outcome.outcome] += 1;
    this.logger.log({
      message: `payment attempt ${attempt.purchaseId} of reservation ${attempt.reservationId} reconciled: ${outcome.outcome}`,
      boxoffice: {
        payment_reconcile: {
          purchase_id: attempt.purchaseId,
          outcome: outcome.outcome,
          amount: attempt.amount,
          currency: attempt.currency,
          // Absent, not null, when no charge was learnt: a keyword field takes no null (custom-fields.json).
          ...(outcome.chargeId !== null && { charge_id: outcome.chargeId }),
          settled: this.settled,
        },
      },
    });
    return outcome.outcome;
  }

  /**
   * Whether Redis's record of the attempt's purchase lists partial refunds that PostgreSQL does not
   * have yet (their amounts summed exceed PostgreSQL's).
   */
  private async partialRefundsUnwritten(attempt: OpenPaymentAttempt): Promise<boolean> {
    const inRedis = await this.store.refundedInRedis(attempt.performanceId, attempt.purchaseId);
    return inRedis > 0 && inRedis > (await this.partialRefunds.refundedAmount(attempt.purchaseId));
  }

  /**
   * Refunds the charge of an attempt whose purchase did not happen, or was canceled; under its row
   * lock. An attempt with no charge id has its charge looked up (`findCharge`): none at the gateway
   * is `uncharged` (settled DECLINED, no refund); the lookup failing fails the pass, the attempt
   * left open for a later one. An attempt of 0 (a free purchase's, which an older version charged
   * and recorded) is settled REFUNDED with no gateway call: there is nothing to give back, and real processors refuse
   * an amount of 0, so asking would leave a refund owed for ever. A purchase partially refunded
   * before (an operator refunded some seats) gets back only the rest of its charge: its partial
   * refunds Redis lists are in PostgreSQL by now (see `partialRefundsUnwritten`). `amount`: what was
   * given back, in minor units (0 when nothing was).
   */
  private async refund(
    attempt: OpenPaymentAttempt | RecheckedPaymentAttempt,
    manager: Parameters<PurchaseRefundsRepository['refundedAmount']>[1],
  ): Promise<{ outcome: 'refunded' | 'uncharged'; chargeId: string | null; amount: number }> {
    const amount = attempt.amount - (await this.partialRefunds.refundedAmount(attempt.purchaseId, manager));
    if (amount <= 0) return { outcome: 'refunded', chargeId: attempt.chargeId, amount: 0 };
    let chargeId = attempt.chargeId;
    if (chargeId === null) {
      // The request died around its charge: the gateway is asked whether a charge was made under the
      // attempt's key, never charged again (a request that died before its charge reached the
      // processor would be charged now, and refunded at once: a charge and a refund on the buyer's
      // card for a purchase that never happened). None: nothing to give back.
      const found = await boundedGatewayCall(
        this.gateway.findCharge(chargeLookupOf(attempt)),
        'findCharge',
        this.env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS,
      );
      if (found === null) return { outcome: 'uncharged', chargeId: null, amount: 0 };
      chargeId = found.chargeId;
    }
    // The key every refund of this purchase carries (the api's, the bulk refund's): a refund made
    // before whose answer was lost is answered again, not made twice.
    const refund = {
      chargeId,
      idempotencyKey: refundIdempotencyKey(attempt.purchaseId),
      amount,
      currency: attempt.currency,
    };
    await boundedGatewayCall(this.gateway.refund(refund), 'refund', this.env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS);
    return { outcome: 'refunded', chargeId, amount };
  }

  /**
   * `canceled`: the purchase happened and its cancellation is in PostgreSQL: its charge is owed
   * back, whether or not the api's own refund went through (the same refund key: the gateway
   * answers a repeat as that one refund). `cancelUnwritten`: canceled in Redis only, left open until the
   * flush writes it (the attempt then becomes REFUND_OWED): a failover could still lose that
   * cancel, and the purchase would stand paid with its ticket valid and its charge given back.
   * `happened`: the hold was bought by this purchase, or the purchase is in Redis or PostgreSQL,
   * unless the flusher parked it (`parkedAt` on its hash), which is `over`.
   * `buyable`: not yet, and the hold is still HELD and unexpired by Redis TIME, so a retry may
   * still buy it. `over`: neither; the charge can be refunded.
   */
  private async purchaseState(
    attempt: OpenPaymentAttempt,
  ): Promise<'canceled' | 'cancelUnwritten' | 'happened' | 'buyable' | 'over'> {
    const { hold, purchaseInRedis, parked, canceled, now } = await this.store.saleTrace(
      attempt.performanceId,
      attempt.reservationId,
      attempt.purchaseId,
    );
    // Parked by the flusher (PostgreSQL refused it for good): sold in Redis, but it will never
    // reach PostgreSQL, so its charge is refunded (P9). Its hold stays PURCHASED: it cannot be bought again.
    if (parked) return 'over';
    // The hash in Redis is the purchase's latest state (a cancel puts a flushed one back first).
    if (purchaseInRedis && !canceled) return 'happened';
    const persisted = await this.purchases.findById(attempt.purchaseId);
    if (persisted?.status === PurchaseStatus.Canceled) return 'canceled';
    if (canceled) return 'cancelUnwritten';
    if ((hold.status === 'PURCHASED' && hold.boughtBy === attempt.purchaseId) || persisted !== null) return 'happened';
    return hold.status === 'HELD' && hold.expiresAt !== null && hold.expiresAt > now ? 'buyable' : 'over';
  }
}
