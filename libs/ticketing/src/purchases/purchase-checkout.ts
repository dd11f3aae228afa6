import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { NewPaymentAttempt, PaymentAttemptsRepository, PaymentAttemptStatus } from '@app/database';
import { refusedForLackOfReplicas } from '@app/redis';
import {
  ChargeOutcomeUnknownError,
  DomainError,
  HoldExpiredError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  NotFoundError,
  PaymentDeclinedError,
  PurchaseCanceledError,
  PurchaseInProgressError,
  PurchaseNotReplicatedError,
  REFUSED_FOR_LACK_OF_REPLICAS,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
} from '../errors';
import { HOLD_RETENTION_MS } from '../holds/hold';
import { chargeRequestOf, PaymentGateway, refundIdempotencyKey } from './payment-gateway';
import { withoutPaymentToken } from './payment-token';
import { Purchase, seatsFromLists } from './purchase';
import type { PurchaseResult, SalesRefusal } from './purchase-scripts';
import { ClaimRenewals } from './claim-renewals';
import { claimRenewalMs } from './idempotency';
import { HoldCheck, PurchaseStore } from './purchase.store';

/**
 * Buying a hold: the checks before charging, the charge with its payment attempt (P9), the sale
 * in Redis, and the refund of a charge whose sale was refused. A free hold (amount 0: every seat
 * priced 0) is sold without a payment step: no attempt, no charge, no refund.
 */
@Injectable()
export class PurchaseCheckout {
  private readonly logger = new Logger(PurchaseCheckout.name);

  constructor(
    private readonly store: PurchaseStore,
    private readonly gateway: PaymentGateway,
    private readonly attempts: PaymentAttemptsRepository,
    @Inject(Env) private readonly env: Env,
    private readonly renewals: ClaimRenewals,
  ) {}

  /**
   * Charges `userId` for the hold checked and claimed in `hold` (see PurchaseStore.claimHold), then
   * sells it as `purchaseId` in one atomic step (on the operator path when `hold.operator`: a comp's
   * or box office sale's hold), refunding the charge if the hold can no longer be
   * bought. A hold whose amount is 0, or a box office sale's (paid at the window), is sold without any of that: nothing is recorded or charged
   * (real processors refuse a charge of 0), and the purchase has no charge (`chargeId` ''); the
   * Idempotency-Key's claim is checked before its sale as before a charge. A hold another attempt has claimed is refused before anything is charged; a declined
   * payment, or an attempt stopped before its charge, drops this attempt's claim so the buyer may
   * retry at once (a crashed attempt's claim lapses by itself).
   * Throws NotFoundError('reservation') (not the caller's), HoldPurchasedError, HoldExpiredError,
   * HoldReleasedError, PurchaseInProgressError (another attempt's live claim, or its payment attempt's
   * row held by `batch`'s reconciler settling it), SeatsUnavailableError,
   * PurchaseCanceledError (a same-key retry of a purchase canceled since),
   * SalesClosedError, SalesNotOpenError (both before charging when the pre-check saw them),
   * PaymentDeclinedError,
   * IdempotencyKeyInUseError (the attempt was refunded already, or recorded with another
   * `paymentToken`: the Idempotency-Key reused with another request; or `keyStillClaimed` answered false
   * right before the charge: the request's Idempotency-Key claim lapsed), PurchaseNotReplicatedError (not
   * confirmed by REDIS_WAIT_REPLICAS replicas in time; see confirmReplicated).
   */
  async buy(
    userId: string,
    holdId: string,
    performanceId: number,
    purchaseId: string,
    hold: HoldCheck,
    keyStillClaimed?: () => Promise<boolean>,
    paymentToken: string | null = null,
  ): Promise<Purchase> {
    const { owner, status, expiresAt, amount, currency, boughtBy, now, claim, sales } = hold;
    // Checked before charging, so a hold that plainly cannot be bought costs no charge.
    if (owner !== userId) throw new NotFoundError('reservation');
    if (status === 'PURCHASED' && boughtBy !== purchaseId) throw new HoldPurchasedError();
    // Paused, closed, ended or not open yet: refused as the sale would refuse it, before anything
    // is recorded or charged, so a retry with the same Idempotency-Key buys once sales reopen.
    if (sales !== null) throw salesRefusal(sales);
    if (status === 'HELD' && Number(expiresAt) <= now) throw new HoldExpiredError();
    if (status !== 'HELD' && status !== 'PURCHASED') throw refusal({ outcome: status as 'EXPIRED' });
    // A hold recorded before amounts carried their currency (an upgrade during a sale): never
    // charge it; the buyer holds the seats again once it has expired.
    if (amount === null || currency === null) throw new HoldExpiredError();
    // Another attempt (a double click, another or no Idempotency-Key) is charging this hold.
    if (claim === 'BUSY') throw new PurchaseInProgressError();
    // A same-key retry of a purchase made already (its answer never stored: the api died first)
    // replays it, unless it was canceled since: then the retry is told so, and nothing is charged.
    if (status === 'PURCHASED' && (await this.store.read(performanceId, purchaseId))?.status === 'CANCELED') {
      await this.dropClaim(performanceId, holdId, purchaseId);
      throw new PurchaseCanceledError();
    }

    // The hold's amount is the sale's (purchase.lua sells the hold as recorded, prices included).
    // A box office sale's money was taken at the window: like a free hold, nothing is charged.
    const free = Number(amount) === 0 || hold.boxOffice !== null;
    const { chargeId, completed, result } = await this.whileClaimed(performanceId, holdId, purchaseId, async () => {
      const { chargeId: charged, completed } = free
        ? await this.noCharge(status === 'PURCHASED', keyStillClaimed)
        : await this.charge(
            {
              purchaseId,
              reservationId: holdId,
              userId,
              performanceId,
              amount: Number(amount),
              currency,
              // The purchase id follows from user, Idempotency-Key and hold: a retry charges the same key.
              idempotencyKey: purchaseId,
              // Kept with the attempt: every charge of this key sends it (a retry, the reconciler).
              paymentToken,
            },
            keyStillClaimed,
          );
      // Test-only (refused outside NODE_ENV=test): a crash between the charge and the sale (P9).
      if (this.env.FAULT_CRASH_AFTER_CHARGE) process.kill(process.pid, 'SIGKILL');
      // The user's index entry travels with the sale, in the same round trip (PurchaseStore.sell).
      // Its score is at most the purchase's createdAt (on a Cluster the pre-check's Redis time):
      // the reads go up to a keyset bound and filter by createdAt, and skip a member whose
      // purchase does not exist.
      const sold = await this.store
        .sell(
          performanceId,
          {
            holdId,
            userId,
            purchaseId,
            chargeId: charged,
            holdRetentionMs: HOLD_RETENTION_MS,
            operator: hold.operator,
          },
          now,
        )
        .catch((error: unknown) => {
          // min-replicas-to-write: the primary refused the script, nothing was sold. The charge
          // stays CHARGED and `batch` refunds it (P9) unless a retry with the key sells it.
          if (refusedForLackOfReplicas(error)) throw new PurchaseNotReplicatedError(REFUSED_FOR_LACK_OF_REPLICAS);
          throw error;
        });
      return { chargeId: charged, completed, result: sold };
    });
    if (result.outcome === 'CANCELED' || (result.outcome !== 'OK' && completed)) {
      // The purchase happened on this charge before (a same-key retry): its charge is the
      // purchase's, never refunded here. Canceled since (its cancel refunds it), or its hold's
      // record gone (retention, a Redis loss): the retry is refused, and the attempt left as it is.
      await this.dropClaim(performanceId, holdId, purchaseId);
      this.logger.log(`purchase ${purchaseId} replay refused (${result.outcome}); its charge is the purchase's, kept`);
      throw refusal(result);
    }
    if (result.outcome !== 'OK') {
      if (free) {
        this.logger.log(`purchase ${purchaseId} refused (${result.outcome}); free, nothing was charged`);
      } else {
        await this.gateway.refund({
          chargeId,
          idempotencyKey: refundIdempotencyKey(purchaseId),
          amount: Number(amount),
          currency,
        });
        await this.attempts.resolve(purchaseId, PaymentAttemptStatus.Refunded);
        this.logger.log(`purchase ${purchaseId} refused (${result.outcome}) after charging; charge refunded`);
      }
      // The index entry a Cluster's sale left for a purchase that never happened (a single Redis
      // adds none for a refused sale); readers skip it meanwhile.
      await this.store.unindex(userId, performanceId, purchaseId);
      // Refused and refunded: this attempt is over, so it blocks no retry (sales reopened, say).
      await this.dropClaim(performanceId, holdId, purchaseId);
      throw refusal(result);
    }
    // The node that answered the sale (the client's slot map follows a MOVED or a re-send at once;
    // before its first command a lazy client has none): its WAIT must run there (confirmReplicated).
    const saleNode = this.store.salesNode(performanceId);
    await this.confirmReplicated(performanceId, purchaseId, saleNode);
    // The attempt stays CHARGED: `batch` marks it COMPLETED (the flusher with the purchase, or the
    // reconciler, which finds the purchase), a write off the request's path. A free one has none.
    return {
      id: purchaseId,
      reservationId: holdId,
      userId,
      performanceId: result.performanceId,
      ...seatsFromLists(result.seats, result.prices),
      amount: result.amount,
      refundedSeatIds: [],
      refundedAmount: 0,
      currency: result.currency,
      status: 'PAID',
      createdAt: new Date(result.createdAt),
      canceledAt: null,
      chargeId,
      // As the purchase's hash and stream entry have it, so its reads answer the same (purchaseFromRecord).
      ...(result.presale ? { presaleId: result.presale } : {}),
    };
  }

  /**
   * With REDIS_WAIT_REPLICAS, the sale must reach that many replicas before it is answered 201, so
   * no failover can undo a confirmed purchase. When it does not in time, throws
   * PurchaseNotReplicatedError (503) and leaves the sale as it is: the flusher writes it if the
   * primary keeps it, `batch` refunds the charge if a failover lost it (P9), and a retry with the
   * same Idempotency-Key replays the same purchase and charge (P6).
   *
   * The count is only worth something from the node that ran the sale (`saleNode`). A Redis
   * Cluster client re-sends a command whose connection closed, and follows a MOVED, to the slot's
   * new primary after a failover: there WAIT counts that node's writes, which may lack the sale
   * (lost with the old primary), and answers at once. So when the performance's primary in the
   * client's slot map once WAIT answered is no longer the one it named once the sale answered, the
   * sale is answered 503 as well.
   */
  private async confirmReplicated(performanceId: number, purchaseId: string, saleNode: string): Promise<void> {
    const wanted = this.env.REDIS_WAIT_REPLICAS;
    if (wanted === 0) return;
    const unconfirmed = await this.store.unreplicated(performanceId, saleNode, wanted, this.env.REDIS_WAIT_TIMEOUT_MS);
    if (unconfirmed === null) return;
    this.logger.warn(`purchase ${purchaseId} not confirmed: ${unconfirmed.why}; answered 503`);
    throw new PurchaseNotReplicatedError(unconfirmed.reason);
  }

  /**
   * Runs `work` (the charge and the sale) while renewing the attempt's claim on the hold every
   * fifth of its lease (holdClaimLeaseMs), so a charge slower than the lease keeps the hold to this
   * attempt: no second attempt claims it and charges too. The renewal stops when `work` ends, or
   * once the claim is no longer this attempt's (dropped, or the hold no longer HELD). The lease
   * still bounds what a dead attempt blocks: its process renews nothing, and the hold's own expiry
   * ends every claim on it (claim-hold.lua refuses an expired hold; purchase.lua refuses its sale,
   * and the charge is refunded, P9). A failed renewal is logged; the next one tries again.
   * One timer renews every live claim of the process (ClaimRenewals), not one a purchase.
   */
  private whileClaimed<T>(
    performanceId: number,
    holdId: string,
    purchaseId: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const leaseMs = holdClaimLeaseMs(this.env);
    return this.renewals.whileRenewed(
      {
        periodMs: claimRenewalMs(leaseMs),
        renew: () => this.store.renewHoldClaim(performanceId, holdId, purchaseId, leaseMs),
        what: `claim of hold ${holdId}`,
      },
      work,
    );
  }

  /**
   * Drops the attempt's claim on the hold (release-hold-claim.lua: only while it is still this
   * attempt's). Never hides the error at hand: a claim not dropped lapses with its lease.
   */
  private async dropClaim(performanceId: number, holdId: string, purchaseId: string): Promise<void> {
    await this.store
      .releaseHoldClaim(performanceId, holdId, purchaseId)
      .catch((error: Error) => this.logger.warn(`claim of hold ${holdId} not dropped: ${error.message}`));
  }

  /**
   * Records the attempt, then charges it with its idempotency key; returns the charge, and
   * `completed` when the attempt was COMPLETED already (its purchase happened: a same-key retry). An attempt
   * refunded already (its request died and `batch` refunded it, or its purchase was canceled) or
   * owing its refund is never charged again: the buyer retries with a new Idempotency-Key. When nothing was charged (the attempt not recorded or spent, the payment
   * declined) the attempt's claim on the hold is dropped; a charge whose outcome is unknown (the
   * gateway failed otherwise) keeps it until its lease ends.
   */
  private async charge(
    attempt: NewPaymentAttempt,
    keyStillClaimed?: () => Promise<boolean>,
  ): Promise<{ chargeId: string; completed: boolean }> {
    const spent = () =>
      new IdempotencyKeyInUseError(
        'the payment of this request was refunded (its purchase failed, or was canceled); retry with a new Idempotency-Key',
      );
    const unclaim = () => this.dropClaim(attempt.performanceId, attempt.reservationId, attempt.purchaseId);
    let begun: PaymentAttemptStatus;
    let otherToken: boolean;
    let busy: boolean | undefined;
    try {
      ({ status: begun, otherToken, busy } = await this.attempts.begin(attempt));
    } catch (error) {
      await unclaim();
      throw error;
    }
    if (busy) {
      // `batch`'s reconciler is settling this attempt (across a gateway call): nothing is charged
      // now; the retry after it is answered by what it settled.
      await unclaim();
      throw new PurchaseInProgressError('the payment of this request is being settled; retry in a moment');
    }
    if (otherToken) {
      // The key's first request paid with another token: charging its key with this one would be
      // another request under the processor's idempotency key (an error at Stripe). Nothing was
      // changed. Its claim on the hold stays while that attempt's charge may be in flight or
      // unknown (PENDING, CHARGED: it lapses with its lease); else it is dropped (a declined card, say).
      if (begun !== PaymentAttemptStatus.Pending && begun !== PaymentAttemptStatus.Charged) await unclaim();
      throw tokenReused();
    }
    if (begun === PaymentAttemptStatus.Refunded || begun === PaymentAttemptStatus.RefundOwed) {
      await unclaim();
      throw spent();
    }
    // A request whose process stalled past its Idempotency-Key claim's lease (the attempt's row
    // waited for, then SIGSTOP) must not charge: another request with the key may have taken it
    // over meanwhile, for another hold (a stranger's review: two charges under one key). The
    // attempt and the hold's claim are left as they are: they may be a same-key retry's too (same
    // purchase id); the attempt is settled like one whose request died before its charge.
    if (keyStillClaimed && !(await keyStillClaimed())) throw lostKeyClaim();
    let chargeId: string;
    try {
      ({ chargeId } = await this.gateway.charge(chargeRequestOf(attempt)));
    } catch (error) {
      if (error instanceof PaymentDeclinedError) {
        await this.attempts.resolve(attempt.purchaseId, PaymentAttemptStatus.Declined);
        await unclaim();
        throw error;
      }
      // Charged or not, unknown: the attempt stays PENDING for a same-key retry or the reconciler.
      throw error instanceof DomainError
        ? error
        : new ChargeOutcomeUnknownError(withoutPaymentToken(error, attempt.paymentToken));
    }
    // Not open any more: this request outlived PAYMENT_RECONCILE_AFTER_SECONDS and `batch` refunded it.
    if (!(await this.attempts.markCharged(attempt.purchaseId, chargeId))) throw spent();
    return { chargeId, completed: begun === PaymentAttemptStatus.Completed };
  }

  /**
   * The payment step of a free hold (amount 0): none. No payment attempt is recorded (no charge
   * exists for P9 to settle) and the gateway is not called; the request's Idempotency-Key claim is
   * checked as `charge` checks it, so a stalled request sells no second purchase under another's
   * key. `completed`: the hold was bought by this purchase already (a same-key retry).
   */
  private async noCharge(
    completed: boolean,
    keyStillClaimed?: () => Promise<boolean>,
  ): Promise<{ chargeId: string; completed: boolean }> {
    if (keyStillClaimed && !(await keyStillClaimed())) throw lostKeyClaim();
    return { chargeId: '', completed };
  }
}

/**
 * A request whose Idempotency-Key was used before with another `paymentToken` (same key, another
 * request): the 409 of a key reused. Never names either token.
 */
export function tokenReused(): IdempotencyKeyInUseError {
  return new IdempotencyKeyInUseError(
    'Idempotency-Key was already used with another paymentToken; retry with a new Idempotency-Key',
  );
}

/** A request that lost its Idempotency-Key claim before its charge (or its free sale). */
function lostKeyClaim(): IdempotencyKeyInUseError {
  return new IdempotencyKeyInUseError(
    'this request lost its Idempotency-Key claim while it waited (another request with the key took over); nothing was charged',
  );
}

/**
 * How long a purchase attempt's claim keeps its hold to itself (ms) from its last renewal: twice
 * the bound on one payment gateway call (PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, 10 s by default).
 * A live attempt renews it while it charges and sells (PurchaseCheckout.whileClaimed), however
 * slow its gateway; a crashed one blocks other attempts of the hold this long at most.
 */
export function holdClaimLeaseMs(env: Pick<Env, 'PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS'>): number {
  return 2 * env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS;
}

function refusal(result: Exclude<PurchaseResult, { outcome: 'OK' }>): DomainError {
  switch (result.outcome) {
    case 'NOT_FOUND':
      return new NotFoundError('reservation');
    case 'PURCHASED':
      return new HoldPurchasedError();
    case 'EXPIRED':
      return new HoldExpiredError();
    case 'RELEASED':
      return new HoldReleasedError();
    case 'UNAVAILABLE':
      return new SeatsUnavailableError([]);
    case 'IN_PROGRESS':
      return new PurchaseInProgressError();
    case 'CANCELED':
      return new PurchaseCanceledError();
    case 'SALES_CLOSED':
      return salesRefusal(result);
    case 'SALES_NOT_OPEN':
      return salesRefusal({ reason: 'NOT_OPEN', salesOpenAt: result.salesOpenAt });
  }
}

/** The error of a performance that does not sell now: 403 SalesNotOpen or 409 SalesClosed, as a new hold gets. */
function salesRefusal(sales: SalesRefusal): DomainError {
  return sales.reason === 'NOT_OPEN'
    ? new SalesNotOpenError(new Date(sales.salesOpenAt))
    : new SalesClosedError(sales.reason);
}
