import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PaidPurchaseRef, PerformanceCancellationsRepository } from '@app/database';
import { CancellationNotReplicatedError, NotFoundError, PurchaseCanceledError } from '../errors';
import { PurchaseCancellation } from '../purchases/purchase-cancellation';
import { PerformanceCancellationStore } from './performance-cancellation.store';

/** Paid purchases canceled in one step at most. */
export const BULK_REFUND_CHUNK = 100;

/** Cancels run side by side within a step. */
export const BULK_REFUND_CONCURRENCY = 8;

/** One step of a performance's bulk refund (see BulkRefund.refundOnce). */
export interface BulkRefundStep {
  performanceId: number;
  /** Purchases this step canceled (their refunds made, or owed to the payment reconciler). */
  canceled: number;
  /** The cancellation has nothing left: marked completed. */
  completed: boolean;
}

/**
 * The refunds of canceled performances, run by `batch`: each paid purchase goes through
 * PurchaseCancellation's operator cancel (cancel-purchase.lua once only, the cancellation written
 * to PostgreSQL, the refund made at once or owed and made by the payment reconciler, one
 * cancellation notice through the outbox), so there is one refund path. Checked-in tickets are
 * refunded too (the show did not happen): 'operator-keep-checked-in', their seats staying sold.
 * A purchase still only in Redis's purchase stream (answered 201, not flushed yet) is canceled
 * once its flush wrote it, within PURCHASE_FLUSH_AGE_SECONDS and a pass: so it is confirmed first
 * and its buyer gets the cancellation notice P5 promises a confirmed purchase; canceled before
 * its flush, it would be written canceled with no mail at all (as a buyer's own quick cancel is),
 * and its buyer, who did nothing, would never be told.
 * The state is PostgreSQL's and Redis's, none of its own: a process killed mid-way, several
 * processes at once, or a buyer canceling the same purchase meanwhile refund each purchase once
 * (the cancel script decides), and the next step picks up where the last left.
 */
@Injectable()
export class BulkRefund {
  private readonly logger = new Logger(BulkRefund.name);

  /** Purchases the bulk refunds canceled, by this process. In no registry until a process adds it. */
  readonly canceled = new Counter({
    name: 'boxoffice_performance_refunds_total',
    help: 'Purchases of canceled performances canceled and refunded (or owed to the payment reconciler) by the bulk refund',
    registers: [],
  });

  constructor(
    private readonly cancellations: PerformanceCancellationsRepository,
    private readonly store: PerformanceCancellationStore,
    private readonly cancellation: PurchaseCancellation,
  ) {}

  /**
   * One step on the oldest open cancellation no other process works on (its row locked meanwhile):
   * cancels up to BULK_REFUND_CHUNK purchases PAID in PostgreSQL. When none is left to cancel, no
   * entry of the performance's purchase stream is left unwritten (no purchase is still only in
   * Redis: no sale lands after the cancel, and each flush writes what is there) and every canceled
   * purchase's refund is recorded, marks the cancellation completed. Null when no
   * open cancellation is free. Throws what PostgreSQL, Redis or a cancel throws (the step is
   * retried: what it did stands).
   */
  async refundOnce(): Promise<BulkRefundStep | null> {
    let canceled = 0;
    const worked = await this.cancellations.workOnOpen(async ({ performanceId }) => {
      // The stream first: an entry written after this read is in PostgreSQL for the paid query.
      const unwritten = await this.store.unwrittenEntries(performanceId);
      const paid = await this.cancellations.paidPurchases(performanceId, BULK_REFUND_CHUNK);
      canceled = await this.cancelAll(paid);
      if (paid.length > 0 || unwritten > 0) return false;
      const figures = await this.cancellations.figures(performanceId);
      return figures.paid === 0 && figures.refundOwed === 0;
    });
    if (!worked) return null;
    if (worked.completed) this.logger.log(`performance ${worked.cancellation.performanceId}: every purchase refunded`);
    return { performanceId: worked.cancellation.performanceId, canceled, completed: worked.completed };
  }

  /** Cancels each purchase, BULK_REFUND_CONCURRENCY at a time; answers how many this call canceled. */
  private async cancelAll(purchases: PaidPurchaseRef[]): Promise<number> {
    let next = 0;
    let canceled = 0;
    const worker = async () => {
      while (next < purchases.length) {
        const purchase = purchases[next++];
        if (await this.cancelOne(purchase)) canceled += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(BULK_REFUND_CONCURRENCY, purchases.length) }, worker));
    this.canceled.inc(canceled);
    return canceled;
  }

  /**
   * True when this call canceled the purchase. Already canceled (its buyer, another process, or a
   * cancel whose PostgreSQL write is still to come) or gone (parked by the flusher: its charge is the
   * payment reconciler's) is false. A cancel whose replicas did not confirm in time stands: its
   * flush owes the refund.
   */
  private async cancelOne({ purchaseId, userId }: PaidPurchaseRef): Promise<boolean> {
    try {
      await this.cancellation.cancelAsOperator(userId, purchaseId, 'operator-keep-checked-in');
      return true;
    } catch (error) {
      if (error instanceof CancellationNotReplicatedError) return true;
      if (error instanceof PurchaseCanceledError || error instanceof NotFoundError) return false;
      throw error;
    }
  }
}
