import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import type { ReadTransaction } from './performance.repository';

/** A presale as stored: its code only as the digest (never readable back). */
export interface PresaleRecord {
  /** Decimal digits of a positive `bigint`. */
  id: string;
  performanceId: number;
  name: string;
  opensAt: Date;
  closesAt: Date;
  /** Hex SHA-256 (64 characters) of the performance id and the code in lower case (accessCodeDigest). */
  codeDigest: string;
  /** The seats its code may take in all, held and sold together (a positive integer); null = no allocation. */
  maxSeats: number | null;
}

/** What a presale change needs of its performance, read under the row lock. */
export interface PresalePerformance {
  status: string;
  salesOpenAt: Date;
}

const COLUMNS = 'id::text AS id, performance_id, name, opens_at, closes_at, code_digest, max_seats';

/**
 * The audit action of an admin's deletion of a presale (`admin_audit_log`, subject
 * `performance:<id>`, details with the presale as it was: `presaleId`, `name`, ...). Its row is where
 * a deleted presale's name stays: the presale's sales keep naming it (PRESALE_NAME_SQL).
 */
export const PRESALE_DELETE_ACTION = 'presale.delete';

/**
 * SQL of the name of the presale `presaleId` (an SQL expression of type bigint) of the performance
 * `performanceId` (an SQL expression of type integer): its row's, or, once deleted, the one its
 * deletion's audit row kept (found by the audit log's subject index); NULL when `presaleId` is NULL or
 * neither has it.
 */
export function presaleNameSql(presaleId: string, performanceId: string): string {
  return `CASE WHEN ${presaleId} IS NOT NULL THEN coalesce(
            (SELECT pp.name FROM performance_presales pp WHERE pp.id = ${presaleId}),
            (SELECT a.details->>'name' FROM admin_audit_log a
              WHERE a.subject_id = 'performance:' || ${performanceId} AND a.action = '${PRESALE_DELETE_ACTION}'
                AND a.details->>'presaleId' = ${presaleId}::text
              ORDER BY a.id DESC LIMIT 1)) END`;
}

function presaleOf(row: Record<string, unknown>): PresaleRecord {
  return {
    id: String(row.id),
    performanceId: Number(row.performance_id),
    name: String(row.name),
    opensAt: new Date(row.opens_at as string),
    closesAt: new Date(row.closes_at as string),
    codeDigest: String(row.code_digest),
    maxSeats: row.max_seats === null || row.max_seats === undefined ? null : Number(row.max_seats),
  };
}

/** Presales of performances (`performance_presales`), in opening order. */
@Injectable()
export class PresalesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `change` under the performance's row lock FOR UPDATE, in one transaction that commits
   * after it: `change` writes through `writes` and mirrors the presale into Redis before the
   * commit, so a rebuild of the performance's Redis state (which reads the presales under the row's
   * share lock, {@link list} with its manager) never sees one half done. Answers `change`'s answer,
   * null (nothing run) when there is no such performance. Throws DatabaseUnavailableError when the
   * lock is not had within ROW_LOCK_TIMEOUT_MS or the pool runs out; whatever `change` throws
   * rolls the transaction back.
   */
  whileLocked<T>(
    performanceId: number,
    change: (performance: PresalePerformance, writes: PresaleWrites) => Promise<T>,
  ): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const rows: { status: string; sales_open_at: string }[] = await manager.query(
          'SELECT status, sales_open_at FROM performances WHERE id = $1 FOR UPDATE',
          [performanceId],
        );
        if (rows.length === 0) return null;
        const performance = { status: rows[0].status, salesOpenAt: new Date(rows[0].sales_open_at) };
        return change(performance, new PresaleWrites(manager, performanceId));
      })
      .catch(rethrowAsDatabaseError);
  }

  /** Whether performance `performanceId` exists. */
  async performanceExists(performanceId: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource
      .query('SELECT 1 FROM performances WHERE id = $1', [performanceId])
      .catch(rethrowAsDatabaseError);
    return rows.length > 0;
  }

  /** The presales of each of `performanceIds` (ids without any are absent), in opening order. */
  async listOf(performanceIds: readonly number[]): Promise<Map<number, PresaleRecord[]>> {
    const byPerformance = new Map<number, PresaleRecord[]>();
    if (performanceIds.length === 0) return byPerformance;
    const rows: Record<string, unknown>[] = await this.dataSource
      .query(
        `SELECT ${COLUMNS} FROM performance_presales WHERE performance_id = ANY($1::int[]) ORDER BY opens_at, id`,
        [performanceIds],
      )
      .catch(rethrowAsDatabaseError);
    for (const presale of rows.map(presaleOf)) {
      const list = byPerformance.get(presale.performanceId) ?? [];
      list.push(presale);
      byPerformance.set(presale.performanceId, list);
    }
    return byPerformance;
  }

  /**
   * The names of presales, by id (decimal digits), each asked with its performance: a presale's
   * own, or a deleted one's as its deletion's audit row kept it (presaleNameSql). Ids without a name
   * found are absent. One query, whatever the number asked. Throws DatabaseUnavailableError.
   */
  async namesOf(asked: readonly { performanceId: number; presaleId: string }[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    if (asked.length === 0) return names;
    const rows: { id: string; name: string | null }[] = await this.dataSource
      .query(
        `SELECT q.presale_id::text AS id, ${presaleNameSql('q.presale_id', 'q.performance_id')} AS name
           FROM unnest($1::bigint[], $2::int[]) AS q(presale_id, performance_id)`,
        [asked.map((one) => one.presaleId), asked.map((one) => one.performanceId)],
      )
      .catch(rethrowAsDatabaseError);
    for (const row of rows) if (row.name !== null) names.set(row.id, row.name);
    return names;
  }

  /** The performance's presales in opening order (then id); `manager`: read inside that transaction. */
  async list(performanceId: number, manager?: ReadTransaction): Promise<PresaleRecord[]> {
    const rows: Record<string, unknown>[] = await (manager ?? this.dataSource.manager)
      .query(`SELECT ${COLUMNS} FROM performance_presales WHERE performance_id = $1 ORDER BY opens_at, id`, [
        performanceId,
      ])
      .catch(rethrowAsDatabaseError);
    return rows.map(presaleOf);
  }

  /**
   * Per presale of the performance (by id, decimal digits), the seats of its purchases' active
   * tickets (`purchases.presale_id`): the sold part of each presale's seats taken, from which a
   * rebuild counts them again (its live holds went with Redis). Presales without any are absent,
   * and so are deleted presales' sales. `manager`: read inside that transaction.
   */
  async seatsSold(performanceId: number, manager?: ReadTransaction): Promise<Map<string, number>> {
    const rows: { presale_id: string; seats: string }[] = await (manager ?? this.dataSource.manager)
      .query(
        `SELECT p.presale_id::text AS presale_id, count(*) AS seats
           FROM tickets t JOIN purchases p ON p.id = t.purchase_id
          WHERE t.performance_id = $1 AND t.status = 'ACTIVE' AND p.presale_id IS NOT NULL
          GROUP BY p.presale_id`,
        [performanceId],
      )
      .catch(rethrowAsDatabaseError);
    return new Map(rows.map((row) => [row.presale_id, Number(row.seats)]));
  }
}

/** The writes of presales inside {@link PresalesRepository.whileLocked}'s transaction. */
export class PresaleWrites {
  constructor(
    private readonly manager: EntityManager,
    private readonly performanceId: number,
  ) {}

  /** The performance's presales, as {@link PresalesRepository.list}, read in this transaction. */
  async list(): Promise<PresaleRecord[]> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `SELECT ${COLUMNS} FROM performance_presales WHERE performance_id = $1 ORDER BY opens_at, id`,
      [this.performanceId],
    );
    return rows.map(presaleOf);
  }

  /** Stores a new presale; the caller checked its code is not another presale's of the performance (under the lock). */
  async insert(presale: Omit<PresaleRecord, 'id' | 'performanceId'>): Promise<PresaleRecord> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `INSERT INTO performance_presales (performance_id, name, opens_at, closes_at, code_digest, max_seats)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [this.performanceId, presale.name, presale.opensAt, presale.closesAt, presale.codeDigest, presale.maxSeats],
    );
    return presaleOf(rows[0]);
  }

  /**
   * Sets the allocation of the performance's presale `id` (`maxSeats`: a positive integer, null
   * for none); answers the presale as it was before and as it is now, null when the performance
   * has none such.
   */
  async setMaxSeats(
    id: string,
    maxSeats: number | null,
  ): Promise<{ before: PresaleRecord; after: PresaleRecord } | null> {
    const before = (await this.list()).find((presale) => presale.id === id);
    if (!before) return null;
    // TypeORM answers an UPDATE as [rows RETURNING gave, rows updated].
    const [rows]: [Record<string, unknown>[], number] = await this.manager.query(
      `UPDATE performance_presales SET max_seats = $3 WHERE performance_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [this.performanceId, id, maxSeats],
    );
    return { before, after: presaleOf(rows[0]) };
  }

  /** Deletes the performance's presale `id`; answers it as it was, null when the performance has none such. */
  async delete(id: string): Promise<PresaleRecord | null> {
    // TypeORM answers a DELETE as [rows RETURNING gave, rows deleted].
    const [rows]: [Record<string, unknown>[], number] = await this.manager.query(
      `DELETE FROM performance_presales WHERE performance_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [this.performanceId, id],
    );
    return rows.length > 0 ? presaleOf(rows[0]) : null;
  }

  /** Records `entry` in the admin audit log, in this transaction. */
  record(entry: NewAdminAudit): Promise<void> {
    return recordAuditIn(this.manager, entry);
  }
}
