import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import type { NewAdminAudit } from './admin-audit.repository';
import { PerformanceEntity } from '../entities/performance.entity';
import { eventOfPerformance, PricedPerformance } from './performance.repository';

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
 * `paid` still PAID (to be canceled), `refundOwed` CANCELED with a payment attempt not REFUNDED yet
 * (the reconciler's or the api's refund to come), `refunded` CANCELED with the attempt REFUNDED
 * (every purchase of the performance, the buyers' own cancels before it included).
 */
export interface CancellationFigures {
  paid: number;
  refundOwed: number;
  refunded: number;
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
        const locked: unknown[] = await manager.query('SELECT id FROM performances WHERE id = $1 FOR UPDATE', [
          performanceId,
        ]);
        if (locked.length === 0) return null;
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
        await manager.query(
          `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details) VALUES ($1, $2, $3, $4, $5::jsonb)`,
          [audit.actorId, audit.actorEmail, audit.action, audit.subjectId, JSON.stringify(audit.details)],
        );
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

  /** The performance's cancellation, null when it was never canceled. */
  async find(performanceId: number): Promise<PerformanceCancellationRecord | null> {
    const rows: CancellationRow[] = await this.dataSource
      .query(`SELECT ${COLUMNS} FROM performance_cancellations WHERE performance_id = $1`, [performanceId])
      .catch(rethrowAsDatabaseError);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /** Counts of the performance's purchases by where their refund stands (see CancellationFigures). */
  async figures(performanceId: number): Promise<CancellationFigures> {
    const rows: { paid: string; refund_owed: string; refunded: string }[] = await this.dataSource
      .query(
        `SELECT count(*) FILTER (WHERE p.status = 'PAID') AS paid,
                count(*) FILTER (WHERE p.status = 'CANCELED' AND a.status IS NOT NULL AND a.status <> 'REFUNDED') AS refund_owed,
                count(*) FILTER (WHERE p.status = 'CANCELED' AND a.status = 'REFUNDED') AS refunded
         FROM purchases p LEFT JOIN payment_attempts a ON a.purchase_id = p.id
         WHERE p.performance_id = $1`,
        [performanceId],
      )
      .catch(rethrowAsDatabaseError);
    return { paid: Number(rows[0].paid), refundOwed: Number(rows[0].refund_owed), refunded: Number(rows[0].refunded) };
  }

  /** Up to `limit` PAID purchases of the performance, by id (index purchases_performance). */
  async paidPurchases(performanceId: number, limit: number): Promise<PaidPurchaseRef[]> {
    const rows: { id: string; user_id: string }[] = await this.dataSource
      .query(`SELECT id, user_id FROM purchases WHERE performance_id = $1 AND status = 'PAID' ORDER BY id LIMIT $2`, [
        performanceId,
        limit,
      ])
      .catch(rethrowAsDatabaseError);
    return rows.map((row) => ({ purchaseId: row.id, userId: row.user_id }));
  }

  /**
   * Runs `work` on the oldest open cancellation no other process works on (its row locked, SKIP
   * LOCKED, for the length of `work`; a killed process's lock goes with its connection) and marks
   * it completed when `work` answers true. Null when no open cancellation is free.
   */
  async workOnOpen(
    work: (cancellation: PerformanceCancellationRecord) => Promise<boolean>,
  ): Promise<{ cancellation: PerformanceCancellationRecord; completed: boolean } | null> {
    return this.dataSource
      .transaction(async (manager) => {
        const rows: CancellationRow[] = await manager.query(
          `SELECT ${COLUMNS} FROM performance_cancellations WHERE completed_at IS NULL
           ORDER BY requested_at, performance_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        if (rows.length === 0) return null;
        const cancellation = toRecord(rows[0]);
        const completed = await work(cancellation);
        if (completed) {
          await manager.query(
            `UPDATE performance_cancellations SET completed_at = clock_timestamp() WHERE performance_id = $1`,
            [cancellation.performanceId],
          );
        }
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
