import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { refusedForLackOfReplicas } from '@app/redis';
import {
  IdempotencyKeyInUseError,
  NotFoundError,
  PurchaseNotReplicatedError,
  REFUSED_FOR_LACK_OF_REPLICAS,
} from '../errors';
import { newIdOf, performanceOfId } from '../ids';
import { assertIdempotencyKey, assertUserId } from '../input';
import {
  claimRenewalMs,
  digestOfPaymentToken,
  IDEMPOTENCY_ANSWER_TTL_SECONDS,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  isClaim,
  newClaim,
  purchaseIdFor,
} from './idempotency';
import { ClaimRenewals } from './claim-renewals';
import { IdempotencyStore } from './idempotency.store';
import { Purchase } from './purchase';
import { holdClaimLeaseMs, PurchaseCheckout, tokenReused } from './purchase-checkout';
import { assertPaymentToken } from './payment-token';
import { HoldCheck, PurchaseStore } from './purchase.store';

/**
 * Buying holds: finds the hold, and with an Idempotency-Key runs the buy under the key's
 * protocol (one charge, one answer per user and key). The buying itself is PurchaseCheckout's;
 * reads are PurchaseReader's, cancellations PurchaseCancellation's. A purchase lives in Redis
 * (hash, per-user index, stream entry) until `batch` writes it to PostgreSQL.
 */
@Injectable()
export class PurchaseService {
  constructor(
    private readonly store: PurchaseStore,
    private readonly keys: IdempotencyStore,
    private readonly checkout: PurchaseCheckout,
    @Inject(Env) private readonly env: Env,
    private readonly renewals: ClaimRenewals,
  ) {}

  /**
   * Charges the caller for their live hold, then turns it into a purchase in one atomic step
   * (refunding the charge if the hold can no longer be bought). The payment attempt is recorded
   * in PostgreSQL before the charge, so `batch` refunds a charge whose purchase never happened
   * (P9). With an `idempotencyKey`, the same user and key get the first successful answer again
   * for 24 h, also while racing. `paymentToken` (what the processor's client SDK returned, or null)
   * goes to the gateway with the charge and is kept with the payment attempt, so every charge of it
   * sends the same one; a request whose key was used with another token is a 409 (the key reused
   * with another request), as one for another hold. Throws InvalidInputError, NotFoundError('reservation'),
   * IdempotencyKeyInUseError and the errors of PurchaseCheckout.buy.
   */
  async purchase(
    userId: string,
    holdId: string,
    idempotencyKey?: string,
    paymentToken: string | null = null,
  ): Promise<Purchase> {
    assertUserId(userId);
    if (idempotencyKey !== undefined) assertIdempotencyKey(idempotencyKey);
    assertPaymentToken(paymentToken);
    // An id that carries its performance (every hold since `ids`) is read without a promise: only
    // an older id waits for its pointer key (PurchaseStore.performanceOfHold).
    const performanceId = performanceOfId(holdId) ?? (await this.store.performanceOfHold(holdId));
    if (performanceId === null) throw new NotFoundError('reservation');
    if (idempotencyKey === undefined) {
      const purchaseId = newIdOf(performanceId);
      const hold = await this.claimHold(performanceId, holdId, userId, purchaseId);
      return this.checkout.buy(userId, holdId, performanceId, purchaseId, hold, undefined, paymentToken);
    }
    const purchaseId = purchaseIdFor(userId, idempotencyKey, holdId, performanceId);
    return this.buyOnce(userId, holdId, performanceId, purchaseId, idempotencyKey, paymentToken);
  }

  /**
   * The operator path's purchase (CompService, BoxOfficeService; never a buyer's route): sells the
   * owner's operator hold (hold-comp-seats.lua: a comp's, amount 0, or a box office sale's, paid at
   * the window, so never charged), as `purchase` sells a hold without an Idempotency-Key. The
   * scripts sell an operator's hold only on this path, and only an operator's hold on it:
   * `purchase` finds one not found, so its owner cannot buy one left by an api that died before its
   * purchase (a comp or sale without its audit row). Throws as `purchase`.
   */
  async purchaseOperatorHold(ownerId: string, holdId: string): Promise<Purchase> {
    assertUserId(ownerId);
    const performanceId = await this.store.performanceOfHold(holdId);
    if (performanceId === null) throw new NotFoundError('reservation');
    const purchaseId = newIdOf(performanceId);
    const hold = await this.claimHold(performanceId, holdId, ownerId, purchaseId, true);
    return this.checkout.buy(ownerId, holdId, performanceId, purchaseId, hold);
  }

  /**
   * The pre-check of the hold, claiming it for this attempt (PurchaseStore.claimHold; `operator`: on
   * the operator path). A primary that refuses writes for lack of replicas (min-replicas-to-write) is a 503
   * before any charge.
   */
  private claimHold(
    performanceId: number,
    holdId: string,
    userId: string,
    purchaseId: string,
    operator = false,
  ): Promise<HoldCheck> {
    return this.store
      .claimHold(performanceId, holdId, { userId, purchaseId, leaseMs: holdClaimLeaseMs(this.env), operator })
      .catch((error: unknown) => {
        if (refusedForLackOfReplicas(error)) throw new PurchaseNotReplicatedError(REFUSED_FOR_LACK_OF_REPLICAS);
        throw error;
      });
  }

  /**
   * Claims the key before any work, so racing requests with one key charge once. A request
   * that meets another's live claim answers at once (409 with Retry-After), never waits; one
   * that meets the stored answer returns it. The claim is a short lease (IDEMPOTENCY_CLAIM_LEASE_MS)
   * renewed while the request works (every fifth of it, by the process's one claim timer,
   * ClaimRenewals: at most 1.5 of those periods apart): a claim whose request died lapses within a lease and a retry
   * takes over, finding the purchase the dead request may have made (its id comes from user, key
   * and hold).
   * A failed attempt drops its claim, so a retry runs again. The stored answer keeps a digest of the
   * request's payment token (never the token): a retry with another token is refused as one for
   * another hold is; before an answer, the payment attempt's token decides (PurchaseCheckout).
   */
  private async buyOnce(
    userId: string,
    holdId: string,
    performanceId: number,
    purchaseId: string,
    key: string,
    paymentToken: string | null,
  ): Promise<Purchase> {
    const record = this.keys.recordOf(userId, key);
    const claim = newClaim();
    const leaseMs = this.env.IDEMPOTENCY_CLAIM_LEASE_MS;
    // Issued together, so they share one round trip; the pre-check is wasted only when the key
    // turns out taken. Concurrent commands, not one pipeline: the record is in another Redis
    // Cluster slot than the hold, and they cost the client less CPU (docs/performance.md).
    const claimedAt = performance.now();
    const [claimed, hold] = await Promise.all([
      this.keys.claim(record, claim, leaseMs),
      this.claimHold(performanceId, holdId, userId, purchaseId),
    ]);
    if (claimed.outcome === 'TAKEN') {
      // A live claim of the key may be a request for this very hold (same purchase id, so the
      // hold's claim is its own, whichever of the two took it first): left alone.
      if (isClaim(claimed.record)) {
        throw new IdempotencyKeyInUseError(
          'a request with this Idempotency-Key is still in progress; retry shortly',
          IDEMPOTENCY_RETRY_AFTER_SECONDS,
        );
      }
      // The key was answered: no request of it works on this hold any more, so a claim just
      // taken for it (the key used for another hold) is dropped and blocks no purchase.
      if (hold.claim === 'CLAIMED') await this.store.releaseHoldClaim(performanceId, holdId, purchaseId);
      const { purchase: answer, paymentTokenDigest } = purchaseFromAnswer(claimed.record);
      if (answer.reservationId !== holdId) {
        throw new IdempotencyKeyInUseError('Idempotency-Key was already used for another reservation');
      }
      if (paymentTokenDigest !== digestOfPaymentToken(paymentToken)) throw tokenReused();
      return answer;
    }

    let purchase: Purchase;
    // When the claim was last known to be this request's, by this process's monotonic clock (taken
    // before the command that confirmed it, so never later than Redis counted the lease from; a wall
    // clock set back would hide a stall).
    let confirmedAt = claimedAt;
    const renew = () => {
      const askedAt = performance.now();
      return this.keys.renew(record, claim, leaseMs).then((renewed) => {
        if (renewed) confirmedAt = askedAt;
        return renewed;
      });
    };
    // Checked right before the charge. Within half a lease of its last confirmation the claim is
    // still this request's, with no round trip; past that (the process stalled: its timers too),
    // it is renewed, and a claim another request took over meanwhile is not charged on.
    const keyStillClaimed = () => (performance.now() - confirmedAt < leaseMs / 2 ? Promise.resolve(true) : renew());
    try {
      // Renewed by the process's one claim timer (ClaimRenewals) while the buy works.
      purchase = await this.renewals.whileRenewed(
        { periodMs: claimRenewalMs(leaseMs), renew, what: 'Idempotency-Key claim' },
        () => this.checkout.buy(userId, holdId, performanceId, purchaseId, hold, keyStillClaimed, paymentToken),
      );
    } catch (error) {
      await this.keys.release(record, claim);
      throw error;
    }
    await this.keys.answer(record, purchase, digestOfPaymentToken(paymentToken), IDEMPOTENCY_ANSWER_TTL_SECONDS);
    return purchase;
  }
}

/**
 * A stored Idempotency-Key answer (a purchase as JSON, with the digest of the payment token of the
 * request that made it: null for none, and for an answer stored before tokens were kept) read back.
 */
function purchaseFromAnswer(stored: string): { purchase: Purchase; paymentTokenDigest: string | null } {
  const { paymentTokenDigest, ...answer } = JSON.parse(stored) as Omit<Purchase, 'createdAt' | 'canceledAt'> & {
    createdAt: string;
    canceledAt: string | null;
    paymentTokenDigest?: string | null;
  };
  return {
    purchase: {
      ...answer,
      createdAt: new Date(answer.createdAt),
      canceledAt: answer.canceledAt === null ? null : new Date(answer.canceledAt),
    },
    paymentTokenDigest: paymentTokenDigest ?? null,
  };
}
