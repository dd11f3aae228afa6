import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

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

/** The audit log of operators' actions (`admin_audit_log`); insert-only. */
@Injectable()
export class AdminAuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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

  /** Every recorded action on `subjectId`, oldest first. */
  ofSubject(subjectId: string): Promise<AdminAuditRecord[]> {
    return this.dataSource.query(
      `SELECT id::text AS id, actor_id AS "actorId", actor_email AS "actorEmail", action, subject_id AS "subjectId",
              details, created_at AS "createdAt"
         FROM admin_audit_log WHERE subject_id = $1 ORDER BY created_at, id`,
      [subjectId],
    );
  }
}
