import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** One action of an operator, as recorded. */
export interface AdminAuditRecord {
  id: string;
  actorId: string;
  actorEmail: string;
  action: string;
  subjectId: string;
  details: Record<string, unknown>;
  createdAt: Date;
}

export type NewAdminAudit = Omit<AdminAuditRecord, 'id' | 'createdAt'>;

/**
 * The audit actions of an admin on accounts, recorded by libs/auth (which knows no ticketing) and
 * listed with every other action by `auditedActions()` of libs/ticketing. Their subject is
 * {@link accountSubject}.
 */
export const STAFF_CREATE_ACTION = 'staff.create';
export const STAFF_GRANT_ACTION = 'staff.grant';
export const STAFF_REVOKE_ACTION = 'staff.revoke';
export const ACCOUNT_DELETE_ACTION = 'account.delete';

/** The audit subject of account `id`: `account:<uuid>`. */
export function accountSubject(id: string): string {
  return `account:${id}`;
}

/**
 * Records one action inside the transaction of `manager`, the one making the change it tells of:
 * the row commits with the change or not at all. `createdAt` is the database's now().
 */
export async function recordAuditIn(manager: EntityManager, entry: NewAdminAudit): Promise<void> {
  await manager.query(
    `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details) VALUES ($1, $2, $3, $4, $5::jsonb)`,
    [entry.actorId, entry.actorEmail, entry.action, entry.subjectId, JSON.stringify(entry.details)],
  );
}

/** Which actions a page of the audit log lists; every given part must match. */
export interface AdminAuditFilter {
  /**
   * Actions about this performance: its own subject (`performance:<id>`), its sections' and its
   * waiting room's (`performance:<id>:section:<name>`, `performance:<id>:waiting-room`), and any
   * whose details name it (`details.performanceId`: the refund of one of its purchases;
   * `details.performanceIds`: the delete of its event).
   */
  performanceId?: number;
  /** Exactly this subject (a purchase id for a refund). */
  subjectId?: string;
  /** Exactly this action, e.g. `purchase.refund`. */
  action?: string;
}

/** The audit log of operators' actions (`admin_audit_log`); insert-only. */
@Injectable()
export class AdminAuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records one action inside the transaction of `manager` (see {@link recordAuditIn}). */
  recordIn(entry: NewAdminAudit, manager: EntityManager): Promise<void> {
    return recordAuditIn(manager, entry);
  }

  /** Records one action; `createdAt` is the database's now(). */
  async record(entry: NewAdminAudit): Promise<AdminAuditRecord> {
    const [row] = await this.dataSource.query(
      `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details)
       VALUES ($1, $2, $3, $4, $5::jsonb)
       RETURNING id::text AS id, created_at AS "createdAt"`,
      [entry.actorId, entry.actorEmail, entry.action, entry.subjectId, JSON.stringify(entry.details)],
    );
    return { ...entry, id: row.id, createdAt: row.createdAt };
  }

  /**
   * Records one action unless the log holds one of the same action and subject whose details
   * contain `match` (jsonb containment): for an action retried with the first's outcome (an
   * operator's refund replayed for its Idempotency-Key), which the first may have recorded before
   * its process died. Concurrent calls on one subject take turns (a transaction-scoped advisory
   * lock on it), so the row is written once. True when it wrote the row.
   */
  recordOnce(entry: NewAdminAudit, match: Record<string, unknown>): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('admin_audit_log:' || $1::text))`, [entry.subjectId]);
      const rows: unknown[] = await manager.query(
        `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details)
         SELECT $1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::jsonb
          WHERE NOT EXISTS (SELECT 1 FROM admin_audit_log
                             WHERE action = $3 AND subject_id = $4 AND details @> $6::jsonb)
         RETURNING id`,
        [
          entry.actorId,
          entry.actorEmail,
          entry.action,
          entry.subjectId,
          JSON.stringify(entry.details),
          JSON.stringify(match),
        ],
      );
      return rows.length > 0;
    });
  }

  /** Every recorded action on `subjectId`, oldest first. */
  ofSubject(subjectId: string): Promise<AdminAuditRecord[]> {
    return this.dataSource.query(
      `SELECT id::text AS id, actor_id AS "actorId", actor_email AS "actorEmail", action, subject_id AS "subjectId",
              details, created_at AS "createdAt"
         FROM admin_audit_log WHERE subject_id = $1 ORDER BY created_at, admin_audit_log.id`,
      [subjectId],
    );
  }

  /**
   * Up to `limit` actions matching `filter`, newest first (by id, the order they were recorded
   * in), with an id below `beforeId` when given (the keyset of the previous page). Reads the
   * primary key backwards, so a page costs what it skips; the log holds operators' actions, not
   * buyers', so it stays small. Ordered by the table's bigint id, not the `id` of the select list
   * (its text: "9" would come before "14").
   */
  page(filter: AdminAuditFilter, beforeId: string | null, limit: number): Promise<AdminAuditRecord[]> {
    const performanceSubject = filter.performanceId === undefined ? null : `performance:${filter.performanceId}`;
    return this.dataSource.query(
      `SELECT id::text AS id, actor_id AS "actorId", actor_email AS "actorEmail", action, subject_id AS "subjectId",
              details, created_at AS "createdAt"
         FROM admin_audit_log
        WHERE ($1::bigint IS NULL OR id < $1::bigint)
          AND ($2::text IS NULL OR subject_id = $2 OR starts_with(subject_id, $2 || ':')
               OR details->>'performanceId' = $3::text
               OR details->'performanceIds' @> jsonb_build_array($3::text::int))
          AND ($4::text IS NULL OR subject_id = $4)
          AND ($5::text IS NULL OR action = $5)
        ORDER BY admin_audit_log.id DESC
        LIMIT $6`,
      [
        beforeId,
        performanceSubject,
        filter.performanceId === undefined ? null : String(filter.performanceId),
        filter.subjectId ?? null,
        filter.action ?? null,
        limit,
      ],
    );
  }
}
