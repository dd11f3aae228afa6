import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PaidPurchaseRef, PerformanceCancellationsRepository } from '@app/database';
import { CancellationNotReplicatedError, NotFoundError, PurchaseCanceledError } from '../errors';
import { PurchaseCancellation } from '../purchases/purchase-cancellation';
import { CANCELED_HOLDS_PAGE, PerformanceCancellationStore } from './performance-cancellation.store';

/** Paid purchases canceled in one step at most. */
export const BULK_REFUND_CHUNK = 100;

/** Cancels run side by side within a step. */
export const BULK_REFUND_CONCURRENCY = 8;

/** Least milliseconds between two looks for completed cancellations with a paid purchase again. */
export const REOPEN_CHECK_INTERVAL_MS = 5_000;

/** One step of a performance's bulk refund (see BulkRefund.refundOnce). */
export interface BulkRefundStep {
  performanceId: number;
  /**
   * Purchases this step canceled (their refunds made, or owed to the payment reconciler; free
   * ones, amount 0, with nothing to refund).
   */
  canceled: number;
  /**
   * Purchases whose cancel failed (left for a later pass) or whose refund the gateway did not make
   * (canceled, the refund owed to the reconciler) in this step: logged, `failing` in the progress.
   */
  failed: number;
  /** The cancellation has nothing left: marked completed. */
  completed: boolean;
}

/**
 * What one purchase's cancel came to in a step: `refunded` (canceled, refund made or left to its
 * flush), `free` (canceled, nothing was charged: nothing to refund), `owed` (canceled, the refund
 * not made now: the reconciler's), `skipped`, `failed` (not canceled).
 */
type CancelOutcome = 'refunded' | 'free' | 'owed' | 'skipped' | 'failed';

/**
 * The refunds of canceled performances, run by `batch`: each paid purchase goes through
 * PurchaseCancellation.cancelForCanceledPerformance, an operator's cancel recorded as by the
 * performance's cancellation for its notice (cancel-purchase.lua once only, the cancellation written
 * to PostgreSQL, the refund made at once or owed and made by the payment reconciler, one
 * cancellation notice through the outbox), so there is one refund path. Checked-in tickets are
 * refunded too (the show did not happen): 'operator-keep-checked-in', their seats staying sold.
 * A purchase still only in Redis's purchase stream (answered 201, not flushed yet) is canceled
 * once its flush wrote it, within PURCHASE_FLUSH_AGE_SECONDS and a pass: so it is in PostgreSQL
 * and its buyer gets the cancellation notice (the mailer sends it also when the confirmation had
 * not gone out yet, as the performance was canceled: see PurchaseMailService.deliverCancellation).
 * No cancellation holds back another: each step takes the open one tried least recently, and
 * within one, a purchase whose cancel or refund fails is noted (performance_refund_failures,
 * logged) and the pass goes on with the next ones (a cursor kept on the cancellation), coming
 * back to it on the next round. A completed cancellation whose performance has a PAID purchase
 * again (a sale its live state let through after losing the CANCELED status) is opened again.
 * The state is PostgreSQL's and Redis's, none of its own: a process killed mid-way, several
 * processes at once, or a buyer canceling the same purchase meanwhile refund each purchase once
 * (the cancel script decides), and the next step picks up where the last left.
 */
@Injectable()
export class BulkRefund {
  private readonly logger = new Logger(BulkRefund.name);
  private nextReopenCheck = 0;

  /**
   * Purchases the bulk refunds canceled and refunded, by this process; a free one (nothing charged,
   * nothing refunded) is not counted. In no registry until a process adds it.
   */
  readonly canceled = new Counter({
    name: 'boxoffice_performance_refunds_total',
    help: 'Purchases of canceled performances canceled and refunded (or owed to the payment reconciler) by the bulk refund; free ones (nothing charged) not counted',
    registers: [],
  });

  constructor(
    private readonly cancellations: PerformanceCancellationsRepository,
    private readonly store: PerformanceCancellationStore,
    private readonly cancellation: PurchaseCancellation,
  ) {}

  /**
   * One step on the open cancellation tried least recently that no other process works on (its
   * row locked meanwhile): cancels up to BULK_REFUND_CHUNK purchases PAID in PostgreSQL, after the
   * last one the previous step reached, and ends up to CANCELED_HOLDS_PAGE holds still in the
   * performance's hold expiry index. When none is left to cancel, no hold is left in the index, no entry of the performance's
   * purchase stream is left unwritten and every canceled purchase's refund is settled, marks the
   * cancellation completed. First, at most every REOPEN_CHECK_INTERVAL_MS, opens again the completed
   * cancellations that have a PAID purchase. Null when no open cancellation is free. Throws what
   * PostgreSQL or Redis throws (the step is retried: what it did stands); a failing cancel of one
   * purchase is counted in `failed`, not thrown.
   */
  async refundOnce(): Promise<BulkRefundStep | null> {
    await this.reopenIfDue();
    let canceled = 0;
    let failed = 0;
    const worked = await this.cancellations.workOnOpen(async ({ cancellation: { performanceId }, refundCursor }) => {
      // The stream first: an entry written after this read is in PostgreSQL for the paid query.
      const unwritten = await this.store.unwrittenEntries(performanceId);
      const paid = await this.cancellations.paidPurchases(performanceId, refundCursor, BULK_REFUND_CHUNK);
      const outcomes = await this.cancelAll(performanceId, paid);
      // The cancel's request ended the live holds before it answered; a page here ends any it left
      // (its process died mid-way), and the cancellation completes only once none is left.
      const holdsLeft = (await this.store.endHolds(performanceId, CANCELED_HOLDS_PAGE)).entries === CANCELED_HOLDS_PAGE;
      canceled = outcomes.filter(
        (outcome) => outcome === 'refunded' || outcome === 'free' || outcome === 'owed',
      ).length;
      failed = outcomes.filter((outcome) => outcome === 'owed' || outcome === 'failed').length;
      // A full chunk: the next step goes on after it; else the next round starts from the first.
      const next = paid.length === BULK_REFUND_CHUNK ? paid[paid.length - 1].purchaseId : null;
      if (holdsLeft || paid.length > 0 || unwritten > 0 || refundCursor !== null) {
        return { completed: false, refundCursor: next };
      }
      const figures = await this.cancellations.figures(performanceId);
      return { completed: figures.paid === 0 && figures.refundOwed === 0, refundCursor: null };
    });
    if (!worked) return null;
    const { performanceId } = worked.cancellation;
    if (worked.completed) this.logger.log(`performance ${performanceId}: every purchase refunded`);
    return { performanceId, canceled, failed, completed: worked.completed };
  }

  /** Opens again completed cancellations with a PAID purchase, at most every REOPEN_CHECK_INTERVAL_MS. */
  private async reopenIfDue(): Promise<void> {
    if (Date.now() < this.nextReopenCheck) return;
    this.nextReopenCheck = Date.now() + REOPEN_CHECK_INTERVAL_MS;
    for (const performanceId of await this.cancellations.reopenWithPaid()) {
      this.logger.warn(
        `performance ${performanceId}: a purchase was sold after its cancellation (its live state lost the CANCELED status); refunding again`,
      );
    }
  }

  /**
   * Cancels each purchase, BULK_REFUND_CONCURRENCY at a time; answers each one's outcome. Every
   * cancel has ended when this answers (none runs on past the step).
   */
  private async cancelAll(performanceId: number, purchases: PaidPurchaseRef[]): Promise<CancelOutcome[]> {
    let next = 0;
    const outcomes: CancelOutcome[] = [];
    const worker = async () => {
      while (next < purchases.length) {
        const index = next++;
        outcomes[index] = await this.cancelOne(performanceId, purchases[index]);
      }
    };
    const workers = await Promise.allSettled(
      Array.from({ length: Math.min(BULK_REFUND_CONCURRENCY, purchases.length) }, worker),
    );
    const broken = workers.find((settled) => settled.status === 'rejected');
    if (broken) throw (broken as PromiseRejectedResult).reason;
    this.canceled.inc(outcomes.filter((outcome) => outcome === 'refunded' || outcome === 'owed').length);
    return outcomes;
  }

  /**
   * `refunded` when this call canceled the purchase (its refund made, or owed to the payment
   * reconciler when its replicas did not confirm the cancel in time: its flush owes the refund);
   * `free` when it canceled a free one (amount 0: nothing to refund).
   * `skipped`: already canceled (its buyer, another process, or a cancel whose PostgreSQL write is
   * still to come) or gone (parked by the flusher: its charge is the payment reconciler's).
   * `owed`: canceled, but the gateway did not make the refund now (the reconciler tries again);
   * `failed`: the cancel threw. Both noted in performance_refund_failures and logged for an
   * operator; the pass goes on.
   */
  private async cancelOne(performanceId: number, { purchaseId, userId }: PaidPurchaseRef): Promise<CancelOutcome> {
    let why: string;
    let outcome: CancelOutcome = 'failed';
    try {
      const canceled = await this.cancellation.cancelForCanceledPerformance(userId, purchaseId);
      // A failure noted on an earlier try went with the refund's record (markRefunded).
      if (canceled.refund === 'made') return 'refunded';
      // A box office sale's money goes back at the window (its holder brings the tickets there; its
      // cancellation's write recorded the refund owed there, window_refunds): nothing for the gateway,
      // nothing owed by `batch`, as for a free purchase.
      if (canceled.refund === 'none' || canceled.refund === 'at-window') {
        // A failure noted when it was not written yet: nothing is owed now.
        await this.cancellations.clearFailure(purchaseId);
        return 'free';
      }
      why = 'the refund was not made now (owed to the payment reconciler)';
      outcome = 'owed';
    } catch (error) {
      if (error instanceof CancellationNotReplicatedError) return 'refunded';
      if (error instanceof PurchaseCanceledError || error instanceof NotFoundError) return 'skipped';
      why = `the cancel failed: ${(error as Error).message}`;
    }
    this.logger.warn({
      message: `performance ${performanceId}: purchase ${purchaseId} not refunded: ${why}; the bulk refund goes on with the others`,
      boxoffice: { bulk_refund: { performance_id: performanceId, purchase_id: purchaseId, outcome: 'failed' } },
    });
    await this.cancellations.recordFailure(performanceId, purchaseId, why);
    return outcome;
  }
}
