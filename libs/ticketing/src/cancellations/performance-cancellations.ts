import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import { PerformanceCancellationRecord, PerformanceCancellationsRepository } from '@app/database';
import { CatalogCache } from '../catalog/catalog-cache';
import { InvalidInputError, NotFoundError, PerformanceCancelNotReplicatedError } from '../errors';
import { codePointLength, isPositiveInteger } from '../input';
import type { Operator } from '../purchases/admin-purchases';
import { lifecycleOf, SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import { CANCELED_HOLDS_PAGE, PerformanceCancellationStore } from './performance-cancellation.store';

/** The audit action of a performance's cancellation (`admin_audit_log`). */
export const PERFORMANCE_CANCEL_ACTION = 'performance.cancel';

/** Longest reason an operator may give, in Unicode code points (as the DTO and PostgreSQL's varchar count). */
export const MAX_CANCELLATION_REASON_LENGTH = 500;

/** The stream entries the progress reads to count purchases not written to PostgreSQL yet. */
const PROGRESS_STREAM_READ = 10_000;

/**
 * Where a performance's cancellation stands, counted in purchases. `refunded`: canceled with the
 * refund settled (payment attempt REFUNDED, or DECLINED: no charge was made; the buyers' own
 * cancels before it included); `remaining`: still to cancel or to refund (PAID in PostgreSQL, PAID
 * in Redis and not written yet, or canceled with the refund not settled yet); `failing`: those of
 * `remaining` whose cancel or refund failed on its last try (the bulk refund goes on with the
 * others and tries them again; see the batch log); `owedAtWindow`: box office sales canceled whose
 * refund is owed at the window (not `remaining`: the window gives it back, then it counts in
 * `refunded`). While `IN_PROGRESS` the counts are a moment's
 * view from two stores (a purchase being flushed may be counted twice for an instant);
 * `COMPLETED` only with `remaining` 0 (a purchase that appears after the cancellation completed
 * turns it back to `IN_PROGRESS`, `completedAt` null, until it is refunded).
 */
export interface CancellationProgress extends PerformanceCancellationRecord {
  status: 'IN_PROGRESS' | 'COMPLETED';
  refunded: number;
  remaining: number;
  failing: number;
  owedAtWindow: number;
}

/**
 * Canceling a performance (the show is called off): it stops selling for good at once, and
 * `batch` (BulkRefund) then cancels and refunds each of its paid purchases.
 */
@Injectable()
export class PerformanceCancellations {
  private readonly logger = new Logger(PerformanceCancellations.name);

  constructor(
    private readonly cancellations: PerformanceCancellationsRepository,
    private readonly store: PerformanceCancellationStore,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly cache: CatalogCache,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Cancels the performance: `status` CANCELED in PostgreSQL and in the live state the hold,
   * purchase and check-in scripts read, under the performance's row lock, before this answers;
   * from then on no hold, purchase (also of a hold made before) or check-in of it goes through on
   * any replica. Then, before this answers, every hold of it still live is ended (RELEASED, reason
   * PERFORMANCE_CANCELED) and its seats freed: also on a repeated cancel, which so finishes what a
   * failed one left (and `batch`'s bulk refund ends any left too), and drops the catalog caches
   * again. Its refunds are `batch`'s (BulkRefund). The audit log records who canceled, in
   * the same transaction. Canceling again answers the first cancellation's progress with `created`
   * false. `reason`: up to 500 characters for the buyers, or null. Throws NotFoundError('performance'), InvalidInputError (reason), StoreUnavailableError
   * (Redis lost the performance again while it was canceled: nothing changed, retry).
   */
  async cancel(
    performanceId: number,
    reason: string | null,
    operator: Operator,
  ): Promise<{ created: boolean; progress: CancellationProgress }> {
    if (!isPositiveInteger(performanceId)) throw new NotFoundError('performance');
    if (reason !== null && codePointLength(reason) > MAX_CANCELLATION_REASON_LENGTH) {
      throw new InvalidInputError(`reason must be at most ${MAX_CANCELLATION_REASON_LENGTH} characters`);
    }
    // Before the row lock: a rebuild reads under the row's share lock (SeatStateRebuilder).
    await this.rebuilder.ensure(performanceId);
    const result = await this.cancellations
      .cancel(
        performanceId,
        { reason, requestedBy: operator.id },
        async (row) => {
          if (!(await this.store.setLifecycle(performanceId, row.salesOpenAt, lifecycleOf(row)))) {
            throw new StoreUnavailableError(
              'redis',
              new Error(`performance ${performanceId} left Redis again while it was canceled`),
            );
          }
          await this.confirmReplicated(performanceId);
        },
        {
          actorId: operator.id,
          actorEmail: operator.email,
          action: PERFORMANCE_CANCEL_ACTION,
          subjectId: `performance:${performanceId}`,
          details: { performanceId, reason },
        },
      )
      .catch(async (error: unknown) => {
        // The CANCELED status went to Redis before the commit that did not happen: written back
        // from PostgreSQL, or holds and sales would stay refused with nothing to refund.
        if (error instanceof PerformanceCancelNotReplicatedError) await this.writeBackLiveState(performanceId);
        throw error;
      });
    if (!result) throw new NotFoundError('performance');
    // Before the holds' walk, and on a repeat too: a walk or a drop that failed leaves the cancel
    // committed with the catalog caches reading the performance on sale, and the operator's
    // repeat is what mends it (a repeat is rare; every cached catalog entry is read again once).
    await this.cache.invalidate();
    await this.endLiveHolds(performanceId);
    return { created: result.created, progress: await this.progressOf(result.cancellation) };
  }

  /**
   * Ends every live hold of the canceled performance, CANCELED_HOLDS_PAGE at a time. With the
   * live status CANCELED no hold script adds to the expiry index any more (a hold whose script ran
   * before is in it), so the walk ends, and no hold of the performance is left HELD.
   */
  private async endLiveHolds(performanceId: number): Promise<void> {
    let ended = 0;
    for (;;) {
      const page = await this.store.endHolds(performanceId, CANCELED_HOLDS_PAGE);
      ended += page.ended;
      if (page.entries < CANCELED_HOLDS_PAGE) break;
    }
    if (ended > 0) this.logger.log(`cancel of performance ${performanceId}: ${ended} live holds ended`);
  }

  /**
   * With REDIS_WAIT_REPLICAS, the CANCELED status must reach that many replicas before the
   * PostgreSQL commit, as a sale must before its 201: a failover that lost it would let sales of
   * the canceled performance through. When it does not in time, throws
   * PerformanceCancelNotReplicatedError (503): the transaction rolls back, and the operator's retry
   * writes the status again. (Were it lost anyway, the bulk refund still refunds such a sale.)
   */
  private async confirmReplicated(performanceId: number): Promise<void> {
    const wanted = this.env.REDIS_WAIT_REPLICAS;
    if (wanted === 0) return;
    const acked = await this.store.replicated(performanceId, wanted, this.env.REDIS_WAIT_TIMEOUT_MS);
    if (acked >= wanted) return;
    this.logger.warn(
      `cancel of performance ${performanceId}: status reached ${acked} of ${wanted} replicas in time; not committed`,
    );
    throw new PerformanceCancelNotReplicatedError(performanceId);
  }

  /** Writes the performance's lifecycle from PostgreSQL to Redis, under its row lock; a failure is logged. */
  private async writeBackLiveState(performanceId: number): Promise<void> {
    try {
      await this.cancellations.underRowLock(performanceId, async (row) => {
        await this.seatState.setLifecycle(performanceId, row.salesOpenAt, lifecycleOf(row));
      });
    } catch (error) {
      this.logger.error(
        `cancel of performance ${performanceId} not committed, and its live status not written back: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** The progress of the performance's cancellation. Throws NotFoundError('cancellation') when it was never canceled. */
  async progress(performanceId: number): Promise<CancellationProgress> {
    const cancellation = isPositiveInteger(performanceId) ? await this.cancellations.find(performanceId) : null;
    if (!cancellation) throw new NotFoundError('cancellation');
    return this.progressOf(cancellation);
  }

  private async progressOf(cancellation: PerformanceCancellationRecord): Promise<CancellationProgress> {
    const { performanceId } = cancellation;
    // The stream also once completed: a sale a live state that lost its CANCELED status let
    // through is there until its flush (and the bulk refund opens the cancellation again then).
    const [unwritten, figures] = await Promise.all([
      this.store.unwrittenPaid(performanceId, PROGRESS_STREAM_READ),
      this.cancellations.figures(performanceId),
    ]);
    const remaining = figures.paid + figures.refundOwed + unwritten.length;
    const completed = cancellation.completedAt !== null && remaining === 0;
    return {
      ...cancellation,
      completedAt: completed ? cancellation.completedAt : null,
      status: completed ? 'COMPLETED' : 'IN_PROGRESS',
      refunded: figures.refunded,
      remaining,
      failing: figures.failing,
      owedAtWindow: figures.owedAtWindow,
    };
  }
}
