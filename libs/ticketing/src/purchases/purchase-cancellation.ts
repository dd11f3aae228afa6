import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { CanceledBy, StoreUnavailableError } from '@app/core';
import {
  CheckedInSeat,
  PaymentAttemptsRepository,
  PurchaseRefund,
  PerformanceRepository,
  PurchaseRefundsRepository,
  PurchaseRepository,
  PurchaseStatus,
  TicketsRepository,
} from '@app/database';
import {
  CancellationClosedError,
  CancellationNotReplicatedError,
  NotFoundError,
  PurchaseCanceledError,
  PurchaseCheckedInError,
  PurchaseNotWrittenYetError,
  PurchaseTransferredError,
  CompCancelError,
  IdempotencyKeyInUseError,
  SeatAlreadyRefundedError,
  SeatPricesUnknownError,
} from '../errors';
import { InvalidInputError } from '@app/core';
import { isUuid } from '../input';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { DeadAcceptMarks } from './dead-accept-marks';
import { boundedGatewayCall } from './gateway-bound';
import { PaymentGateway, partialRefundIdempotencyKey, refundIdempotencyKey } from './payment-gateway';
import { Purchase, purchaseFromPersisted } from './purchase';
import { refundRequestWords } from './purchase-scripts';
import type { CancelMode, CancelPurchaseResult, RefundSeatsResult } from './purchase-scripts';
import { isBuyersPurchase } from './purchase-reader';
import { OperatorRefundKey, PurchaseStore } from './purchase.store';

/**
 * Where the refund of a canceled purchase stands: `made` (made and recorded now), `owed` (not made
 * now: `batch`'s payment reconciler makes it, see PurchaseCancellation.refund), `none` (a free
 * purchase, amount 0: nothing was charged, so nothing is given back and nothing is owed),
 * `at-window` (a box office sale: its money was taken at the window, in cash or on the card
 * terminal, and is given back there; the gateway is never asked and nothing is owed by `batch`. An
 * operator's refund gives it back as it is made; the bulk refund of a canceled show leaves it owed at
 * the window, `window_refunds`, until an operator marks it paid), `earlier` (the buyer's cancel
 * repeated, see `cancel`: its refund stands as the first cancel left it, made or owed, and is not
 * asked for again).
 */
export type CancelRefund = 'made' | 'owed' | 'none' | 'at-window' | 'earlier';

/**
 * A canceled purchase, with the checked-in seats an operator's cancel left sold (none for a
 * buyer's), and where its refund stands (`refund`).
 */
export type CanceledPurchase = Purchase & { keptSeatIds: number[]; refund: CancelRefund };

/**
 * What an operator's refund of some seats did (`PurchaseCancellation.refundSeats`): the purchase as
 * it is now (PAID with its other seats, or CANCELED when they were its last), and this refund's part:
 * `refundedNow` (the seats and their prices summed, minor units), the checked-in seats of them kept
 * sold (`keptSeatIds`) and where its money stands (`refund`).
 */
export type SeatsRefunded = Purchase & {
  keptSeatIds: number[];
  refund: CancelRefund;
  refundedNow: { seatIds: number[]; amount: number };
} & RefundReplay;

/**
 * An operator's refund that was that of an Idempotency-Key made before carries `replayed` (the key's
 * first answer: nothing refunded now); a partial refund carries its id (`refundId`; absent for a
 * whole refund).
 */
export interface RefundReplay {
  replayed?: true;
  refundId?: string;
}

/** An operator's Idempotency-Key on a refund: whose key, and the key as sent. */
export interface RefundKeyOf {
  operatorId: string;
  idempotencyKey: string;
}

/** The refusal of an operator's Idempotency-Key sent before with another refund request. */
function refundKeyReused(): IdempotencyKeyInUseError {
  return new IdempotencyKeyInUseError(
    'Idempotency-Key was already used for another refund (another purchase, other seats, or another resellCheckedInSeats); nothing was refunded: send a new key',
  );
}

/** The longest Retry-After (seconds) of a partial refund whose purchase's flush is overdue. */
const OVERDUE_FLUSH_RETRY_MAX_SECONDS = 60;

/**
 * The Retry-After (whole seconds, at least 1) of a partial refund refused because its purchase,
 * sold `ageMs` ago (null: unknown), is not in PostgreSQL yet: the seconds until its flush is due
 * (`flushAgeSeconds`, PURCHASE_FLUSH_AGE_SECONDS, after the sale), rounded up, and one more for the
 * flusher's pass that writes it (its pause between passes, then the write). The flusher's lag
 * histogram lives in `batch` and says nothing of this purchase; once its flush is overdue (the
 * flusher behind, or `batch` down) nothing here tells how far behind it is, so the flush age itself
 * (at least 1, at most OVERDUE_FLUSH_RETRY_MAX_SECONDS): the write-behind lag the deployment accepts,
 * so retries of a stalled flush come at its pace rather than every second, and an operator at the
 * window is never told to wait more than a minute.
 */
export function flushRetryAfterSeconds(ageMs: number | null, flushAgeSeconds: number): number {
  const dueInMs = flushAgeSeconds * 1000 - (ageMs ?? 0);
  if (dueInMs > 0) return Math.ceil(dueInMs / 1000) + 1;
  return Math.min(Math.max(flushAgeSeconds, 1), OVERDUE_FLUSH_RETRY_MAX_SECONDS);
}

/**
 * Who a cancellation is by: `canceledBy` words its notice; `canceledById`, an operator's cancel only,
 * is the operator's account (who refunded it, at the window who gave the money back).
 */
interface CanceledByWhom {
  canceledBy: CanceledBy;
  canceledById?: string;
}

/** Canceling paid purchases: refund, seats for sale again, the cancellation written behind. */
@Injectable()
export class PurchaseCancellation {
  private readonly logger = new Logger(PurchaseCancellation.name);

  constructor(
    private readonly store: PurchaseStore,
    private readonly purchases: PurchaseRepository,
    private readonly attempts: PaymentAttemptsRepository,
    private readonly gateway: PaymentGateway,
    private readonly tickets: TicketsRepository,
    private readonly rebuilder: SeatStateRebuilder,
    @Inject(Env) private readonly env: Env,
    private readonly performances: PerformanceRepository,
    private readonly partialRefunds: PurchaseRefundsRepository,
    private readonly deadMarks: DeadAcceptMarks,
  ) {}

  /**
   * An operator's refund of some seats of a buyer's (`buyerId`) paid purchase, whenever: the seats go
   * back on sale (with 'operator-keep-checked-in', checked-in ones stay sold), their tickets are void,
   * and their prices summed are refunded through the gateway (nothing for free seats). The purchase
   * stays PAID with its other seats; naming all the seats it still has is its whole refund
   * (`cancelAsOperator`). Decided in refund-seats.lua, so of concurrent refunds each seat goes to one.
   * A partial refund is written to PostgreSQL before its money moves (as a cancellation is), then
   * refunded under its own idempotency key (`partialRefundIdempotencyKey`); a refund not made now is
   * owed, and `batch`'s payment reconciler makes it. `seatIds`: distinct, at least one (the caller
   * checked). Throws NotFoundError('purchase'), PurchaseCanceledError, InvalidInputError (a seat not
   * the purchase's), SeatAlreadyRefundedError, PurchaseCheckedInError (a checked-in seat named,
   * mode 'operator'), SeatPricesUnknownError, PurchaseNotWrittenYetError (a partial refund within
   * PURCHASE_FLUSH_AGE_SECONDS of the sale), CancellationNotReplicatedError.
   *
   * With `key` (an operator's Idempotency-Key), the key is recorded with the refund in the same
   * script run (refund-request.lua): a retry of the same request (the same purchase, seats and mode)
   * answers as the first did (`replayed`), settling again what the first may not have finished (the
   * PostgreSQL write, a gateway refund: each under its own id, so nothing twice), even when the api
   * that made the first died before answering; the key sent with another request throws
   * IdempotencyKeyInUseError (409), refunding nothing.
   *
   * `operatorId`: who makes the refund (at the window, who gives the money back): carried on its
   * stream entry and written with it (`purchase_refunds.refunded_by_id`, or `purchases.canceled_by_id`
   * for its whole refund), whichever of the api and the flush writes it.
   */
  async refundSeats(
    buyerId: string,
    purchaseId: string,
    seatIds: readonly number[],
    mode: 'operator' | 'operator-keep-checked-in',
    operatorId: string,
    key?: RefundKeyOf,
  ): Promise<SeatsRefunded> {
    if (!isUuid(purchaseId)) throw new NotFoundError('purchase');
    const checkedIn = await this.tickets.checkedInSeats(purchaseId);
    const row = await this.purchases.findById(purchaseId);
    if (row && row.userId !== buyerId) throw new NotFoundError('purchase');
    let refundId: string = randomUUID();
    const request = {
      mode,
      checkedIn,
      refundId,
      seatIds,
      flushed: row !== null,
      operatorId,
      ...(key ? { key: { ...key, request: refundRequestWords(purchaseId, mode, seatIds) } } : {}),
    };
    let performanceId = await this.store.performanceOfPurchase(purchaseId);
    let result: RefundSeatsResult = { outcome: 'NOT_FOUND' };
    if (performanceId !== null)
      result = await this.refundInRegistered(performanceId, purchaseId, buyerId, null, request);
    if (result.outcome === 'NOT_FOUND' && row) {
      // With a key, a canceled purchase may be the key's own whole refund: the script tells.
      if (row.status === PurchaseStatus.Canceled && !key) throw new PurchaseCanceledError();
      performanceId = row.performanceId;
      result = await this.refundInRegistered(performanceId, purchaseId, buyerId, purchaseFromPersisted(row), request);
    }
    if (performanceId === null) throw new NotFoundError('purchase');
    const refundNode = this.store.salesNode(performanceId);
    const replayed = result.outcome === 'REPLAY';
    let refundedSeatIds = [...seatIds];
    if (result.outcome === 'REPLAY') {
      refundId = result.refundId;
      refundedSeatIds = result.seatIds;
      result = result.first;
    }
    switch (result.outcome) {
      case 'KEY_REUSED':
        throw refundKeyReused();
      case 'NOT_FOUND':
        throw new NotFoundError('purchase');
      case 'ALREADY_CANCELED':
        throw new PurchaseCanceledError();
      case 'ALREADY_REFUNDED':
        throw new SeatAlreadyRefundedError(result.seatId);
      case 'NOT_IN_PURCHASE':
        throw new InvalidInputError(`seat ${result.seatId} is not a seat of this purchase`, {
          seatIds: [result.seatId],
        });
      case 'CHECKED_IN':
        throw new PurchaseCheckedInError(
          result.seatIds,
          '; to refund it anyway and keep the checked-in seats off sale, send {"resellCheckedInSeats": false}',
        );
      case 'NO_PRICES':
        throw new SeatPricesUnknownError();
      case 'NOT_WRITTEN':
        throw new PurchaseNotWrittenYetError(flushRetryAfterSeconds(result.ageMs, this.env.PURCHASE_FLUSH_AGE_SECONDS));
      case 'NOT_REGISTERED':
        throw new StoreUnavailableError('redis', new Error(`performance ${performanceId} is not in Redis`));
      case 'CANCELED':
      case 'REFUNDED': {
        const where = { performanceId, purchaseId, buyerId, node: refundNode };
        // CANCELED: its last seats, so its whole refund, as an operator's cancel settles it.
        const settled = await this.settle(where, () =>
          result.outcome === 'CANCELED'
            ? this.settleRefund(purchaseId, result, { canceledBy: 'operator', canceledById: operatorId })
            : this.settlePartialRefund({
                refundId,
                refundedById: operatorId,
                purchaseId,
                seatIds: refundedSeatIds,
                keptSeatIds: result.keptSeatIds,
                amount: result.amount,
                currency: result.currency,
                chargeId: result.chargeId,
                refundedAt: new Date(result.refundedAt),
                paymentMethod: result.paymentMethod,
              }),
        );
        return {
          ...settled,
          keptSeatIds: result.keptSeatIds,
          refundedNow: { seatIds: refundedSeatIds, amount: result.amount },
          ...(replayed ? { replayed } : {}),
          ...(result.outcome === 'REFUNDED' ? { refundId } : {}),
        };
      }
    }
  }

  /**
   * What follows a cancel or refund Redis answered, in order: its replication confirmed
   * (`confirmReplicated`, from the node `where.node` that answered it), its money settled by
   * `settleMoney` (the whole or the partial refund), the purchase read back from Redis as it is now
   * and put back into its buyer's list. Throws CancellationNotReplicatedError (nothing settled),
   * NotFoundError('purchase') when the purchase left Redis meanwhile.
   */
  private async settle(
    where: { performanceId: number; purchaseId: string; buyerId: string; node: string },
    settleMoney: () => Promise<CancelRefund>,
  ): Promise<Purchase & { refund: CancelRefund }> {
    const { performanceId, purchaseId, buyerId, node } = where;
    await this.confirmReplicated(performanceId, purchaseId, node);
    const refund = await settleMoney();
    const purchase = await this.store.read(performanceId, purchaseId);
    if (!purchase) throw new NotFoundError('purchase');
    await this.store.index(buyerId, performanceId, purchaseId, purchase.createdAt.getTime());
    return { ...purchase, refund };
  }

  /**
   * Writes a partial refund to PostgreSQL, then gives its money back: made now once written (and
   * recorded REFUNDED), else owed (the flush of its stream entry writes it, and the payment reconciler
   * refunds it). Free seats (amount 0) refund nothing. Failures are logged, not thrown: the refund
   * stands in Redis, and `batch` finishes it with the same idempotency key. A box office sale's
   * (`paymentMethod` not ''): paid at the window, so given back there ('at-window'); its row is
   * written REFUNDED (writePartialRefunds) and the gateway is never asked, now or by `batch`.
   */
  private async settlePartialRefund(
    refund: PurchaseRefund & { refundedById: string; paymentMethod: string },
  ): Promise<CancelRefund> {
    const { paymentMethod, ...row } = refund;
    const atWindow = paymentMethod !== '' && refund.amount > 0;
    try {
      await this.partialRefunds.written(row);
    } catch (error) {
      this.logger.warn(
        `partial refund ${refund.refundId} of purchase ${refund.purchaseId} not written to PostgreSQL now ` +
          `(${(error as Error).message}); its flush writes it, and the payment reconciler refunds it then`,
      );
      return refund.amount === 0 ? 'none' : atWindow ? 'at-window' : 'owed';
    }
    if (refund.amount === 0) return 'none';
    if (atWindow) return 'at-window';
    if (!refund.chargeId) return 'owed';
    try {
      const request = {
        chargeId: refund.chargeId,
        idempotencyKey: partialRefundIdempotencyKey(refund.purchaseId, refund.refundId),
        amount: refund.amount,
        currency: refund.currency,
      };
      await boundedGatewayCall(this.gateway.refund(request), 'refund', this.env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS);
      await this.partialRefunds.markRefunded(refund.refundId);
      return 'made';
    } catch (error) {
      this.logger.warn(
        `partial refund ${refund.refundId} of purchase ${refund.purchaseId} not made or not recorded ` +
          `(${(error as Error).message}); the payment reconciler refunds it`,
      );
      return 'owed';
    }
  }

  /** PurchaseStore.refundSeats on a performance whose live state Redis holds (rebuilt when lost), as `cancelInRegistered`. */
  private async refundInRegistered(
    performanceId: number,
    purchaseId: string,
    userId: string,
    persisted: Purchase | null,
    request: Parameters<PurchaseStore['refundSeats']>[4],
  ): Promise<RefundSeatsResult> {
    const result = await this.store.refundSeats(performanceId, purchaseId, userId, persisted, request);
    if (result.outcome !== 'NOT_REGISTERED') return result;
    try {
      await this.rebuilder.ensure(performanceId);
    } catch (error) {
      if (error instanceof NotFoundError) return { outcome: 'NOT_FOUND' };
      throw error;
    }
    return this.store.refundSeats(performanceId, purchaseId, userId, persisted, request);
  }

  /**
   * Cancels the caller's paid purchase: refunds it and frees its seats for sale again. The
   * cancellation goes through the purchase stream, so it reaches PostgreSQL whether or not the
   * purchase had been written there yet. A purchase PostgreSQL has is refunded at once, its
   * cancellation written there first; one it does not have yet is refunded by `batch` after its
   * flush (see `durablyCanceled`); a free one (amount 0) has nothing to refund. A box office sale
   * is not canceled here (an admin refunds it, at the window): it is the venue's, not the selling
   * account's; nor a comp (CompCancelError: an operator takes it back with an admin's refund).
   * Throws NotFoundError('purchase') (unknown, anyone else's, or a box office sale), PurchaseCanceledError, CancellationClosedError (past the performance's cancelUntil, by
   * Redis TIME in the script, or none allowed), PurchaseCheckedInError (a ticket of it was checked
   * in; decided in the cancel script against concurrent check-ins, see check-in-mark.lua),
   * PurchaseTransferredError (a ticket of a seat it still has was accepted by a transfer's recipient,
   * or an accept is under way: PostgreSQL's `holder_id` read first and passed to the cancel script,
   * which also sees concurrent accepts, see transfer-mark.lua; a seat a partial refund took off the
   * purchase no longer counts), CancellationNotReplicatedError (REDIS_WAIT_REPLICAS replicas did not confirm it in time).
   *
   * Safe to retry: a cancel of a purchase its buyer canceled already (an answer lost, a 503 from a
   * Redis that timed out after the cancel script ran, a double click, concurrent requests) answers
   * as the first cancel did, the purchase CANCELED with its first `canceledAt` (`refund`
   * 'earlier': nothing refunded or written again, so one refund and one notice). Told by the
   * purchase's Redis record (`canceledBy` 'buyer'), kept until the cancellation is in PostgreSQL and
   * FLUSHED_RETENTION_MS (24 h) after; one canceled otherwise (an operator's refund, its canceled
   * performance), or known canceled to PostgreSQL alone, still throws PurchaseCanceledError.
   */
  async cancel(userId: string, purchaseId: string): Promise<CanceledPurchase> {
    return this.cancelAs(userId, purchaseId, 'buyer', { canceledBy: 'buyer' });
  }

  /**
   * An operator's cancel of a buyer's purchase (`buyerId`), at any time. A purchase with a
   * checked-in ticket is refused (PurchaseCheckedInError) unless `mode` is
   * 'operator-keep-checked-in': then its checked-in seats stay sold, never to be resold, and the
   * others are freed. With `key` (an operator's Idempotency-Key), as `refundSeats` with one: recorded
   * with the cancel, a retry of the same request answered as the first (`replayed`), the key with
   * another request refused (IdempotencyKeyInUseError). `operatorId`: who refunds it (at the window,
   * who gives the money back), carried on the cancel entry and written with the cancellation
   * (`purchases.canceled_by_id`). Otherwise as `cancel`.
   */
  cancelAsOperator(
    buyerId: string,
    purchaseId: string,
    mode: 'operator' | 'operator-keep-checked-in',
    operatorId: string,
    key?: RefundKeyOf,
  ): Promise<CanceledPurchase & RefundReplay> {
    return this.cancelAs(buyerId, purchaseId, mode, { canceledBy: 'operator', canceledById: operatorId }, key);
  }

  /**
   * The bulk refund's cancel of a purchase of a canceled performance: as an operator's that keeps
   * checked-in seats sold (the show did not happen), recorded as by the performance's cancellation,
   * so its buyer's notice says so (and goes out even before a confirmation). Otherwise as `cancel`.
   */
  cancelForCanceledPerformance(buyerId: string, purchaseId: string): Promise<CanceledPurchase> {
    return this.cancelAs(buyerId, purchaseId, 'operator-keep-checked-in', { canceledBy: 'performance' });
  }

  /**
   * The refusal of a cancel past `cancelUntil` (epoch ms; null: none allowed), told on the venue's
   * clock: its event's time zone, read from PostgreSQL (a refusal, off the hot path; a performance
   * with purchases is never deleted).
   */
  private async cancellationClosed(
    performanceId: number,
    cancelUntil: number | null,
  ): Promise<CancellationClosedError> {
    const performance = await this.performances.findById(performanceId);
    return new CancellationClosedError(
      cancelUntil === null ? null : new Date(cancelUntil),
      performance?.timeZone ?? 'UTC',
    );
  }

  private async cancelAs(
    userId: string,
    purchaseId: string,
    mode: CancelMode,
    by: CanceledByWhom,
    key?: RefundKeyOf,
  ): Promise<CanceledPurchase & RefundReplay> {
    if (!isUuid(purchaseId)) throw new NotFoundError('purchase');
    const asked = key ? { ...key, request: refundRequestWords(purchaseId, mode, null) } : undefined;
    let answered = await this.cancelAnywhere(userId, purchaseId, { mode, ...by }, asked);
    if (answered.result.outcome === 'TRANSFERRED') {
      // Refused for accept marks: those no accept can follow any more (its offer expired, or was
      // settled otherwise, after an accept's process stopped between its mark and its commit) are
      // taken back, and the cancel asked again, once (faults trial 2026-12-07, F2's residual).
      const takenBack = await this.deadMarks.takeBack({ purchaseId, seatIds: answered.result.seatIds });
      if (takenBack.length > 0) answered = await this.cancelAnywhere(userId, purchaseId, { mode, ...by }, asked);
    }
    const { performanceId } = answered;
    const replayed = answered.result.outcome === 'REPLAY';
    const result = answered.result.outcome === 'REPLAY' ? answered.result.first : answered.result;
    if (result.outcome === 'KEY_REUSED') throw refundKeyReused();
    // The node that answered the cancel, read before anything else can move the slot map.
    const cancelNode = this.store.salesNode(performanceId);
    if (result.outcome === 'CANCEL_CLOSED') throw await this.cancellationClosed(performanceId, result.cancelUntil);
    if (result.outcome === 'CHECKED_IN') {
      throw new PurchaseCheckedInError(
        result.seatIds,
        mode === 'buyer'
          ? ''
          : '; to refund it anyway and keep the checked-in seats off sale, send {"resellCheckedInSeats": false}',
      );
    }
    if (result.outcome === 'TRANSFERRED') throw new PurchaseTransferredError(result.seatIds);
    // A box office sale is the venue's: to the account that sold it, as anyone else's purchase.
    if (result.outcome === 'BOX_OFFICE') throw new NotFoundError('purchase');
    if (result.outcome === 'COMP') throw new CompCancelError();
    if (result.outcome === 'CANCELED_BY_BUYER') {
      // The first cancel settles the money (or left it owed to batch); this one only confirms the
      // cancel stands, as durably as the first had to before answering, and reads it back.
      const repeated = await this.settle({ performanceId, purchaseId, buyerId: userId, node: cancelNode }, () =>
        Promise.resolve('earlier' as const),
      );
      return { ...repeated, keptSeatIds: [] };
    }
    if (result.outcome !== 'CANCELED') {
      throw result.outcome === 'NOT_FOUND' ? new NotFoundError('purchase') : new PurchaseCanceledError();
    }

    // Test-only (refused outside NODE_ENV=test): a crash between the cancel and its refund.
    if (this.env.FAULT_CRASH_AFTER_CANCEL) process.kill(process.pid, 'SIGKILL');
    const where = { performanceId, purchaseId, buyerId: userId, node: cancelNode };
    const settled = await this.settle(where, () => this.settleRefund(purchaseId, result, by));
    return { ...settled, keptSeatIds: result.keptSeatIds, ...(replayed ? { replayed } : {}) };
  }

  /**
   * Writes the cancellation to PostgreSQL (`durablyCanceled`), then refunds: made now once it is
   * there, or owed (see `refund`). A free purchase (amount 0) was never charged: its cancellation
   * is written all the same, and nothing goes to the gateway (real processors refuse an amount of 0).
   */
  private async settleRefund(
    purchaseId: string,
    result: {
      canceledAt: number;
      chargeId: string;
      amount: number;
      currency: string;
      keptSeatIds: number[];
      paymentMethod: string;
    },
    by: CanceledByWhom,
  ): Promise<CancelRefund> {
    const durable = await this.durablyCanceled(purchaseId, result, by);
    if (result.amount === 0) return 'none';
    // Paid at the window, never through the gateway (no charge, no payment attempt): given back there.
    if (result.paymentMethod !== '') return 'at-window';
    return durable && (await this.refund(purchaseId, result)) ? 'made' : 'owed';
  }

  /**
   * With REDIS_WAIT_REPLICAS, the cancel must reach that many replicas before its refund: a
   * failover that lost a cancel already refunded would leave a paid purchase, its ticket valid,
   * with its charge given back (a stranger's review). When it does not in time, throws
   * CancellationNotReplicatedError (503) and refunds nothing: if the cancel stands, its flush
   * owes the refund and `batch` makes it; if a failover lost it, the purchase stays paid.
   */
  private async confirmReplicated(performanceId: number, purchaseId: string, cancelNode: string): Promise<void> {
    const wanted = this.env.REDIS_WAIT_REPLICAS;
    if (wanted === 0) return;
    const unconfirmed = await this.store.unreplicated(
      performanceId,
      cancelNode,
      wanted,
      this.env.REDIS_WAIT_TIMEOUT_MS,
    );
    if (unconfirmed === null) return;
    this.logger.warn(
      `cancel of purchase ${purchaseId} not confirmed: ${unconfirmed.why}; answered 503, refund left to batch`,
    );
    throw new CancellationNotReplicatedError();
  }

  /**
   * Writes the cancellation of a purchase PostgreSQL already has (flushed) there now, before its
   * refund: a Redis that lost the cancel later (no AOF, a restart without persistence, keys lost)
   * would otherwise bring the purchase back paid, its ticket valid, with its charge given back (a
   * stranger's review). True when the refund may go now: the cancellation is in PostgreSQL. False,
   * the refund left to `batch` once the flush has written the cancellation: the purchase is not in
   * PostgreSQL yet (or a flush in flight, invisible here, is writing it paid), or PostgreSQL could
   * not be written.
   */
  private async durablyCanceled(
    purchaseId: string,
    { canceledAt, keptSeatIds, amount }: { canceledAt: number; keptSeatIds: number[]; amount: number },
    { canceledBy, canceledById }: CanceledByWhom,
  ): Promise<boolean> {
    try {
      // Redis's amount goes into the notice: the mailer waits for a partial refund Redis made before
      // this cancel (so not part of it) that PostgreSQL has yet to write (money trial M1).
      const written = await this.purchases.cancelWritten(
        purchaseId,
        new Date(canceledAt),
        canceledBy,
        keptSeatIds,
        amount,
        canceledById ?? null,
      );
      return written === 'canceled';
    } catch (error) {
      this.logger.warn(
        `cancellation of purchase ${purchaseId} not written to PostgreSQL now (${(error as Error).message}); ` +
          'its flush writes it, and the payment reconciler refunds it then',
      );
      return false;
    }
  }

  /**
   * Gives the canceled purchase's charge back and records it (attempt REFUNDED). Called once the
   * cancellation is in PostgreSQL with the attempt REFUND_OWED, which `batch`'s payment reconciler
   * refunds if this does not record it. So a failed gateway call or record is logged, not thrown:
   * the cancellation stands, and `batch` finishes the refund with the same idempotency key (a
   * refund made whose answer was lost is answered again, not made twice). The gateway call is bounded by
   * PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, as the reconciler's are: a buyer's request, or the bulk
   * refund holding its cancellation's row lock, never waits on a gateway that does not answer.
   * True when the refund was made and recorded.
   */
  private async refund(
    purchaseId: string,
    { chargeId, amount, currency }: { chargeId: string; amount: number; currency: string },
  ): Promise<boolean> {
    // No charge noted on the purchase (data of an older version): nothing to refund by id here, and
    // nothing recorded; its attempt, if any, is owed once flushed, and the reconciler asks the
    // gateway for the charge by the attempt's key.
    if (!chargeId) return false;
    try {
      const refund = { chargeId, idempotencyKey: refundIdempotencyKey(purchaseId), amount, currency };
      await boundedGatewayCall(this.gateway.refund(refund), 'refund', this.env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS);
      await this.attempts.markRefunded(purchaseId);
      return true;
    } catch (error) {
      this.logger.warn(
        `refund of canceled purchase ${purchaseId} not made or not recorded (${(error as Error).message}); ` +
          'the payment reconciler refunds it',
      );
      return false;
    }
  }

  /**
   * Cancels in Redis; a purchase gone from there (flushed long ago) is put back from PostgreSQL
   * first. The seats PostgreSQL has checked in go with it: the Redis marks of check-ins expire.
   */
  private async cancelAnywhere(
    userId: string,
    purchaseId: string,
    cause: { mode: CancelMode } & CanceledByWhom,
    key: OperatorRefundKey | undefined,
  ): Promise<{ performanceId: number; result: CancelPurchaseResult }> {
    const checkedIn = await this.tickets.checkedInSeats(purchaseId);
    // Accepted transfers PostgreSQL holds (their Redis marks expire); one under way is the script's
    // to see (transfer-mark.lua marks before PostgreSQL records the accept). The script counts only
    // the seats the purchase still has: a partial refund, maybe only in Redis yet, took some off.
    const transferredSeatIds = cause.mode === 'buyer' ? await this.tickets.transferredSeatIds(purchaseId) : [];
    const { canceledById, ...asked } = cause;
    const options = {
      ...asked,
      checkedIn,
      transferredSeatIds,
      ...(key ? { key } : {}),
      ...(canceledById ? { operatorId: canceledById } : {}),
    };
    const performanceId = await this.store.performanceOfPurchase(purchaseId);
    if (performanceId !== null) {
      const result = await this.cancelInRegistered(performanceId, purchaseId, userId, null, options);
      if (result.outcome !== 'NOT_FOUND') return { performanceId, result };
    }
    const row = await this.purchases.findById(purchaseId);
    if (!row || row.userId !== userId) throw new NotFoundError('purchase');
    if (cause.mode === 'buyer' && !isBuyersPurchase(purchaseFromPersisted(row), userId)) {
      throw new NotFoundError('purchase');
    }
    // With a key, a canceled purchase may be the key's own refund: the script tells.
    if (row.status === PurchaseStatus.Canceled && !key) throw new PurchaseCanceledError();
    return {
      performanceId: row.performanceId,
      result: await this.cancelInRegistered(row.performanceId, purchaseId, userId, purchaseFromPersisted(row), options),
    };
  }

  /**
   * PurchaseStore.cancel on a performance whose live state Redis holds: when Redis lost it, it is
   * rebuilt from PostgreSQL (as reads and holds do) and the cancel runs again, so the freed seats
   * are not overwritten as sold by a later rebuild and the performance's cancelUntil applies.
   * NOT_FOUND for a performance PostgreSQL does not know either.
   */
  private async cancelInRegistered(
    performanceId: number,
    purchaseId: string,
    userId: string,
    persisted: Purchase | null,
    options: {
      mode: CancelMode;
      canceledBy: CanceledBy;
      checkedIn: readonly CheckedInSeat[];
      transferredSeatIds: readonly number[];
      key?: OperatorRefundKey;
      operatorId?: string;
    },
  ): Promise<CancelPurchaseResult> {
    const result = await this.store.cancel(performanceId, purchaseId, userId, persisted, options);
    if (result.outcome !== 'NOT_REGISTERED') return result;
    try {
      await this.rebuilder.ensure(performanceId);
    } catch (error) {
      if (error instanceof NotFoundError) return { outcome: 'NOT_FOUND' };
      throw error;
    }
    const again = await this.store.cancel(performanceId, purchaseId, userId, persisted, options);
    if (again.outcome === 'NOT_REGISTERED') {
      throw new StoreUnavailableError(
        'redis',
        new Error(`performance ${performanceId} left Redis again while its purchase was canceled`),
      );
    }
    return again;
  }
}
