import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import { PerformanceEntity } from '../entities/performance.entity';
import { eventOfPerformance, lockPerformanceRow, PricedPerformance } from './performance.repository';

/** A performance's cancellation: the bulk refund `batch` runs, open while `completedAt` is null. */
export interface PerformanceCancellationRecord {
  performanceId: number;
  /** The operator's words for the buyers (≤ 500 characters); null when none was given. */
  reason: string | null;
  /** The admin who canceled; null when unknown. */
  requestedBy: string | null;
  requestedAt: Date;
  /** When `batch` found nothing more to refund; null while it runs. */
  completedAt: Date | null;
}

/**
 * Where a canceled performance's purchases stand in PostgreSQL (counts of purchases):
 * `paid` still PAID (to be canceled), `refundOwed` CANCELED with a payment attempt not settled yet
 * (the reconciler's or the api's refund to come), `refunded` CANCELED with the attempt settled:
 * REFUNDED, or DECLINED (the reconciler found no charge: nothing to give back), or a free purchase
 * (amount 0, no payment attempt: never charged, nothing to give back) (every purchase of
 * the performance, the buyers' own cancels before it included), or a box office sale whose refund
 * owed at the window was marked paid, or that an operator refunded at the window (canceled with no
 * window refund owed: given back as it was canceled). `failing`: purchases among `paid`
 * and `refundOwed` whose cancel or refund failed on its last try (performance_refund_failures).
 * `owedAtWindow`: box office sales canceled with their refund owed at the window (window_refunds
 * OWED): the window's to give back, not the bulk refund's (its completion does not wait for them).
 */
export interface CancellationFigures {
  paid: number;
  refundOwed: number;
  refunded: number;
  failing: number;
  owedAtWindow: number;
}

/** Where a refund pass of a cancellation goes on: after this purchase id (null: from the first). */
export interface RefundPass {
  cancellation: PerformanceCancellationRecord;
  refundCursor: string | null;
}

/** A paid purchase of a performance: what a cancel of it needs. */
export interface PaidPurchaseRef {
  purchaseId: string;
  userId: string;
}

interface CancellationRow {
  performance_id: number;
  reason: string | null;
  requested_by: string | null;
  requested_at: Date;
  completed_at: Date | null;
}

const COLUMNS = 'performance_id, reason, requested_by, requested_at, completed_at';

/**
 * The statement of `reopenWithPaid`, exported for the test that reads its plan. Its `p.status =
 * 'PAID'` is the predicate of the partial index purchases_paid_performance, which it probes.
 */
export const REOPEN_WITH_PAID = `WITH reopened AS (
     UPDATE performance_cancellations pc SET completed_at = NULL, refund_cursor = NULL
     WHERE pc.completed_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM purchases p WHERE p.performance_id = pc.performance_id AND p.status = 'PAID')
     RETURNING pc.performance_id
   )
   SELECT performance_id FROM reopened`;

/** A payment attempt settled: nothing more is owed to the buyer. */
const SETTLED = `('REFUNDED', 'DECLINED')`;

/** Cancellations of performances (`performance_cancellations`) and the reads of their bulk refund. */
@Injectable()
export class PerformanceCancellationsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Cancels the performance under its row lock: `status` CANCELED, its cancellation and the audit
   * row `audit` recorded, `apply` running after these writes and before the commit (the live state in Redis follows
   * inside the lock, as a PATCH's does). Canceling again changes nothing and answers the first
   * cancellation with `created` false (`apply` not run). Null when the performance is unknown.
   * Throws DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  cancel(
    performanceId: number,
    request: { reason: string | null; requestedBy: string | null },
    apply: (row: PricedPerformance) => Promise<void>,
    audit: NewAdminAudit,
  ): Promise<{ created: boolean; cancellation: PerformanceCancellationRecord } | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, performanceId, 'UPDATE'))) return null;
        const existing: CancellationRow[] = await manager.query(
          `SELECT ${COLUMNS} FROM performance_cancellations WHERE performance_id = $1`,
          [performanceId],
        );
        if (existing.length > 0) return { created: false, cancellation: toRecord(existing[0]) };
        await manager.query(`UPDATE performances SET status = 'CANCELED' WHERE id = $1`, [performanceId]);
        const inserted: CancellationRow[] = await manager.query(
          `INSERT INTO performance_cancellations (performance_id, reason, requested_by) VALUES ($1, $2, $3)
           RETURNING ${COLUMNS}`,
          [performanceId, request.reason, request.requestedBy],
        );
        await recordAuditIn(manager, audit);
        const row = await manager.findOne(PerformanceEntity, {
          where: { id: performanceId },
          relations: { event: true },
        });
        if (!row) return null;
        await apply(Object.assign(row, eventOfPerformance(row.event!)));
        return { created: true, cancellation: toRecord(inserted[0]) };
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Runs `apply` with the performance's row as PostgreSQL has it, under its row lock: to write the
   * live state back after a cancel that did not commit (its Redis write stays otherwise). False
   * when the performance is unknown. Throws DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  underRowLock(performanceId: number, apply: (row: PricedPerformance) => Promise<void>): Promise<boolean> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, performanceId, 'UPDATE'))) return false;
        const row = await manager.findOne(PerformanceEntity, {
          where: { id: performanceId },
          relations: { event: true },
        });
        if (!row) return false;
        await apply(Object.assign(row, eventOfPerformance(row.event!)));
        return true;
      })
      .catch(rethrowAsDatabaseError);
  }

  /** The performance's cancellation, null when it was never canceled. */
  async find(performanceId: number): Promise<PerformanceCancellationRecord | null> {
    const rows: CancellationRow[] = await this.dataSource
      .query(`SELECT ${COLUMNS} FROM performance_cancellations WHERE performance_id = $1`, [performanceId])
      .catch(rethrowAsDatabaseError);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /** Counts of the performance's purchases by where their refund stands (see CancellationFigures). */
  async figures(performanceId: number): Promise<CancellationFigures> {
    const rows: { paid: string; refund_owed: string; refunded: string; failing: string; owed_at_window: string }[] =
      await this.dataSource
        .query(
          `SELECT count(*) FILTER (WHERE p.status = 'PAID') AS paid,
                count(*) FILTER (WHERE p.status = 'CANCELED' AND a.status IS NOT NULL AND a.status NOT IN ${SETTLED}) AS refund_owed,
                count(*) FILTER (WHERE p.status = 'CANCELED'
                                   AND (a.status IN ${SETTLED} OR (a.status IS NULL AND p.amount = 0)
                                        OR w.status = 'PAID'
                                        OR (p.payment_method IS NOT NULL AND w.purchase_id IS NULL))) AS refunded,
                count(f.purchase_id) FILTER (WHERE p.status = 'PAID' OR (a.status IS NOT NULL AND a.status NOT IN ${SETTLED})) AS failing,
                count(*) FILTER (WHERE w.status = 'OWED') AS owed_at_window
         FROM purchases p LEFT JOIN payment_attempts a ON a.purchase_id = p.id
              LEFT JOIN performance_refund_failures f ON f.purchase_id = p.id
              LEFT JOIN window_refunds w ON w.purchase_id = p.id
         WHERE p.performance_id = $1`,
          [performanceId],
        )
        .catch(rethrowAsDatabaseError);
    const [row] = rows;
    return {
      paid: Number(row.paid),
      refundOwed: Number(row.refund_owed),
      refunded: Number(row.refunded),
      failing: Number(row.failing),
      owedAtWindow: Number(row.owed_at_window),
    };
  }

  /**
   * Up to `limit` PAID purchases of the performance with an id after `after` (from the first when
   * null), by id (through the partial index purchases_paid_performance: the canceled ones are not read).
   */
  async paidPurchases(performanceId: number, after: string | null, limit: number): Promise<PaidPurchaseRef[]> {
    const rows: { id: string; user_id: string }[] = await this.dataSource
      .query(
        `SELECT id, user_id FROM purchases
         WHERE performance_id = $1 AND status = 'PAID' AND ($2::uuid IS NULL OR id > $2::uuid)
         ORDER BY id LIMIT $3`,
        [performanceId, after, limit],
      )
      .catch(rethrowAsDatabaseError);
    return rows.map((row) => ({ purchaseId: row.id, userId: row.user_id }));
  }

  /**
   * Notes that the purchase's cancel or refund failed on this try (`reason` for the operator),
   * unless its refund is settled already (the reconciler or its buyer's cancel got there first) or
   * it has none to settle (a free purchase PostgreSQL has: amount 0, no payment step; its cancel is
   * retried by the next pass all the same). The row goes when the refund is settled
   * (PaymentAttemptsRepository.resolve and markRefunded delete it), or, for a free purchase not
   * written yet when it failed, when a later pass cancels it (`clearFailure`).
   */
  async recordFailure(performanceId: number, purchaseId: string, reason: string): Promise<void> {
    await this.dataSource
      .query(
        `INSERT INTO performance_refund_failures (purchase_id, performance_id, reason)
         SELECT $1, $2, $3
         WHERE NOT EXISTS (SELECT 1 FROM payment_attempts WHERE purchase_id = $1 AND status IN ${SETTLED})
           AND NOT EXISTS (SELECT 1 FROM purchases WHERE id = $1 AND amount = 0)
         ON CONFLICT (purchase_id) DO UPDATE SET reason = EXCLUDED.reason, failed_at = clock_timestamp()`,
        [purchaseId, performanceId, reason.slice(0, 500)],
      )
      .catch(rethrowAsDatabaseError);
  }

  /** Drops the purchase's failure row, if any: its cancel is settled with nothing to refund (a free purchase). */
  async clearFailure(purchaseId: string): Promise<void> {
    await this.dataSource
      .query('DELETE FROM performance_refund_failures WHERE purchase_id = $1', [purchaseId])
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Opens again every completed cancellation whose performance has a PAID purchase in PostgreSQL
   * (a sale let through after the cancel by a live state that lost its CANCELED status, flushed
   * since), so the bulk refund cancels it too; answers their performance ids. One probe of the
   * partial index of paid purchases (purchases_paid_performance) per completed cancellation: none
   * of a refunded show's purchases is read.
   */
  async reopenWithPaid(): Promise<number[]> {
    const rows: { performance_id: number }[] = await this.dataSource
      .query(REOPEN_WITH_PAID)
      .catch(rethrowAsDatabaseError);
    return rows.map((row) => row.performance_id);
  }

  /**
   * Runs `work` on the open cancellation tried least recently (`tried_at`, never tried first) that
   * no other process works on. The pick is stamped `tried_at` in a statement of its own, committed
   * before `work` starts, so a pass that fails or hangs still moves that cancellation behind the
   * others and one that cannot finish never holds back the rest. Its row is then locked (FOR NO KEY
   * UPDATE SKIP LOCKED: a failure noted meanwhile, whose foreign key share-locks the row, does not
   * wait for it) for the length of `work` (a killed process's lock goes with its connection); `work`
   * answers whether the cancellation is done and where the next pass goes on (`refundCursor`,
   * kept on the row), and it is marked completed when done. Null when no open cancellation is free.
   */
  async workOnOpen(
    work: (pass: RefundPass) => Promise<{ completed: boolean; refundCursor: string | null }>,
  ): Promise<{ cancellation: PerformanceCancellationRecord; completed: boolean } | null> {
    const pickedRows: { performance_id: number }[] = await this.dataSource
      .query(
        // Wrapped in a SELECT: TypeORM answers a bare UPDATE with [rows, count] instead of the rows.
        `WITH picked AS (
           UPDATE performance_cancellations SET tried_at = clock_timestamp()
           WHERE performance_id = (SELECT performance_id FROM performance_cancellations WHERE completed_at IS NULL
                                   ORDER BY tried_at NULLS FIRST, requested_at, performance_id
                                   LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)
           RETURNING performance_id
         )
         SELECT performance_id FROM picked`,
      )
      .catch(rethrowAsDatabaseError);
    if (pickedRows.length === 0) return null;
    const performanceId = pickedRows[0].performance_id;
    return this.dataSource
      .transaction(async (manager) => {
        const rows: (CancellationRow & { refund_cursor: string | null })[] = await manager.query(
          `SELECT ${COLUMNS}, refund_cursor FROM performance_cancellations
           WHERE performance_id = $1 AND completed_at IS NULL FOR NO KEY UPDATE SKIP LOCKED`,
          [performanceId],
        );
        if (rows.length === 0) return null;
        const cancellation = toRecord(rows[0]);
        const { completed, refundCursor } = await work({ cancellation, refundCursor: rows[0].refund_cursor });
        await manager.query(
          `UPDATE performance_cancellations
           SET refund_cursor = $2, completed_at = CASE WHEN $3 THEN clock_timestamp() END
           WHERE performance_id = $1`,
          [performanceId, refundCursor, completed],
        );
        return { cancellation, completed };
      })
      .catch(rethrowAsDatabaseError);
  }

  /** How many cancellations `batch` still works on. */
  async openCount(): Promise<number> {
    const rows: { open: string }[] = await this.dataSource
      .query(`SELECT count(*) AS open FROM performance_cancellations WHERE completed_at IS NULL`)
      .catch(rethrowAsDatabaseError);
    return Number(rows[0].open);
  }
}

function toRecord(row: CancellationRow): PerformanceCancellationRecord {
  return {
    performanceId: row.performance_id,
    reason: row.reason,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    completedAt: row.completed_at,
  };
}
