import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import { lockPerformanceRow, type ReadTransaction } from './performance.repository';

/** A seat an operator took off sale, with where it is. */
export interface SeatBlockRecord {
  seatId: number;
  /** The seat's layout position (1..N), the order of the list. */
  position: number;
  section: string;
  row: number;
  rowLabel: string;
  number: number;
  /** The operator's words (≤ 200 characters); null when none was given. */
  reason: string | null;
  blockedBy: { id: string; email: string };
  blockedAt: Date;
}

/** A row of a section: its index (from 1) and label. */
export interface SectionRowLabel {
  row: number;
  rowLabel: string;
}

/**
 * The seats a selection by place found: up to the limit asked, in layout order; how many match in
 * all; and the work they mean for the Lua scripts, which refresh every row they touch in full:
 * `rows`, the rows with a matching seat, and `rowSeats`, the seats of those rows together
 * (matching or not).
 */
export interface SeatsAtPlace {
  seatIds: number[];
  total: number;
  rows: number;
  rowSeats: number;
}

/**
 * The work seats named by id mean for the Lua scripts (SeatBlocks' work bound): `rows`, the rows
 * (of any section) with one of the seats; `rowSeats`, the seats of those rows together; and
 * `sectionSlots`, the row slots read to refresh the slots of the sections they lie in: each
 * section's rows, once per touched row of it when it has at most `recountRows` of them (its slot is
 * refreshed after each), else once (counted once after its rows). The scripts choose between the
 * two by the rows they change, so a block's sections count only the rows with a seat it would
 * change: not blocked in `seat_blocks` and without an ACTIVE ticket (ids of blocked or sold seats
 * must not lift a section past `recountRows` while the script refreshes it after each row). A
 * seat in a buyer's hold skipped by `onlyFree` is not known here: such a block may refresh a
 * section after each of up to `recountRows` rows while its ids name more.
 */
export interface SeatIdsWork {
  rows: number;
  rowSeats: number;
  sectionSlots: number;
}

/** A block deleted because its seat is sold ({@link SeatBlocksRepository.dropSoldBlocks}), as it was. */
export type DroppedSeatBlock = Pick<SeatBlockRecord, 'seatId' | 'reason' | 'blockedBy' | 'blockedAt'>;

/** What a block with onlyFree found under the row lock. */
export type FreeSeatBlockChange =
  | { outcome: 'NOT_FOUND' }
  /** The performance is canceled: its seats are no longer for sale, so none changes; nothing written. */
  | { outcome: 'CANCELED' }
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  /**
   * `changed`: the seats whose row was inserted, ascending; `recorded`: every seat now blocked of
   * those asked (changed or blocked before); `sold`: seats skipped for an ACTIVE ticket.
   */
  | { outcome: 'DONE'; changed: number[]; recorded: number[]; sold: number[] };

/** What a comp that may take blocked seats found under the row lock ({@link SeatBlocksRepository.takeForComp}). */
export type CompBlocksChange<T> =
  | { outcome: 'NOT_FOUND' }
  /** The performance was canceled (seen under the row lock): nothing changed, `apply` not run. */
  | { outcome: 'CANCELED' }
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  /** Seats with an ACTIVE ticket (sold, whatever Redis shows); nothing changed, `apply` not run. */
  | { outcome: 'SOLD'; seatIds: number[] }
  /** `result`: what `apply` answered; `taken`: the blocks deleted, by seat id ascending. */
  | { outcome: 'DONE'; result: T; taken: DroppedSeatBlock[] };

/** What a block or release found under the row lock. */
export type SeatBlockChange =
  | { outcome: 'NOT_FOUND' }
  /** The performance is canceled: its seats are no longer for sale, so none changes; nothing written. */
  | { outcome: 'CANCELED' }
  /** Seats given that are not seats of the performance; nothing changed. */
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  /** Block only: seats with an ACTIVE ticket (sold, whatever Redis shows); nothing changed. */
  | { outcome: 'SOLD'; seatIds: number[] }
  /** `changed`: the seats whose row was inserted (block) or deleted (release), ascending. */
  | { outcome: 'DONE'; changed: number[] };

const RECORD_COLUMNS = `b.seat_id AS "seatId", s.position, s.section, s."row", s.row_label AS "rowLabel", s."number",
  b.reason, b.blocked_by AS "blockedById", b.blocked_by_email AS "blockedByEmail", b.blocked_at AS "blockedAt"`;

interface RecordRow extends Omit<SeatBlockRecord, 'blockedBy'> {
  blockedById: string;
  blockedByEmail: string;
}

/** Operators' blocked seats (`seat_blocks`): changed under the performance's row lock, with an audit row. */
@Injectable()
export class SeatBlocksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Blocks `seatIds` (distinct) of the performance under its row lock FOR UPDATE (the lock a
   * rebuild of its live state waits for, FOR SHARE): a row per seat not blocked yet (a blocked
   * seat keeps its first reason, operator and time), the audit row `audit(changed)` (none when no
   * seat was new), then `apply` before the commit (the live state in Redis follows inside the lock; throwing rolls all back).
   * `apply` runs also when nothing was new, so Redis gets the block a lost write left out.
   * A seat with an ACTIVE ticket refuses the whole block (outcome SOLD, nothing written, `apply`
   * not run): Redis may show it available after a failover lost its sale, and a block there would
   * hide the sale from the seat reconciler and put the seat back on sale at its release.
   * Throws DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  block(
    performanceId: number,
    seatIds: readonly number[],
    by: { id: string; email: string; reason: string | null },
    apply: () => Promise<void>,
    audit: (changed: number[]) => NewAdminAudit,
  ): Promise<SeatBlockChange> {
    return this.underLock(performanceId, seatIds, async (manager): Promise<SeatBlockChange> => {
      // Tickets are written without this lock, but a sale reaches Redis (S, which the block
      // script refuses) before its ticket reaches PostgreSQL: one of the two sees every sale.
      const sold: { seat_id: number }[] = await manager.query(
        `SELECT DISTINCT seat_id FROM tickets WHERE performance_id = $1 AND seat_id = ANY($2::int[]) AND status = 'ACTIVE'
         ORDER BY seat_id`,
        [performanceId, seatIds],
      );
      if (sold.length > 0) return { outcome: 'SOLD', seatIds: sold.map((row) => Number(row.seat_id)) };
      const inserted: { seat_id: number }[] = await manager.query(
        `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email)
         SELECT id, performance_id, $3, $4, $5 FROM seats WHERE performance_id = $1 AND id = ANY($2::int[])
         ON CONFLICT (seat_id) DO NOTHING RETURNING seat_id`,
        [performanceId, seatIds, by.reason, by.id, by.email],
      );
      const changed = inserted.map((row) => Number(row.seat_id)).sort((a, b) => a - b);
      // A request that changed no seat changed nothing to audit.
      if (changed.length > 0) await recordAuditIn(manager, audit(changed));
      await apply();
      return { outcome: 'DONE', changed };
    });
  }

  /**
   * Blocks those of `seatIds` (distinct) that are free, under the performance's row lock as
   * {@link block} does, for a block with onlyFree: seats with an ACTIVE ticket are skipped (`sold`),
   * then `apply` gets the others and answers which of them the live state now has blocked (the
   * Redis script decides, in one run, which are free: none held by a live hold nor sold); only
   * those get a row (a seat blocked before keeps its first one), then the audit row
   * `audit(changed, sold)` (none when no seat was new), committed. `apply` is not run when every seat
   * was sold. Throws DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  blockFree(
    performanceId: number,
    seatIds: readonly number[],
    by: { id: string; email: string; reason: string | null },
    apply: (candidates: number[]) => Promise<number[]>,
    audit: (changed: number[], sold: number[]) => NewAdminAudit,
  ): Promise<FreeSeatBlockChange> {
    return this.underLock(performanceId, seatIds, async (manager): Promise<FreeSeatBlockChange> => {
      const soldRows: { seat_id: number }[] = await manager.query(
        `SELECT DISTINCT seat_id FROM tickets WHERE performance_id = $1 AND seat_id = ANY($2::int[]) AND status = 'ACTIVE'
         ORDER BY seat_id`,
        [performanceId, seatIds],
      );
      const sold = soldRows.map((row) => Number(row.seat_id));
      const soldSet = new Set(sold);
      const candidates = seatIds.filter((id) => !soldSet.has(id));
      const recorded = candidates.length > 0 ? [...(await apply(candidates))].sort((a, b) => a - b) : [];
      let changed: number[] = [];
      if (recorded.length > 0) {
        const inserted: { seat_id: number }[] = await manager.query(
          `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email)
           SELECT id, performance_id, $3, $4, $5 FROM seats WHERE performance_id = $1 AND id = ANY($2::int[])
           ON CONFLICT (seat_id) DO NOTHING RETURNING seat_id`,
          [performanceId, recorded, by.reason, by.id, by.email],
        );
        changed = inserted.map((row) => Number(row.seat_id)).sort((a, b) => a - b);
      }
      // A request that changed no seat changed nothing to audit.
      if (changed.length > 0) await recordAuditIn(manager, audit(changed, sold));
      return { outcome: 'DONE', changed, recorded, sold };
    });
  }

  /**
   * Releases `seatIds` (distinct) of the performance under its row lock, as {@link block} does:
   * their rows deleted (a seat not blocked is no change) and the audit row (none when no seat was
   * blocked), committed. Redis
   * follows after the commit (SeatBlocks.release, under {@link underRowLock}). Throws
   * DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  release(
    performanceId: number,
    seatIds: readonly number[],
    audit: (changed: number[]) => NewAdminAudit,
  ): Promise<SeatBlockChange> {
    return this.underLock(performanceId, seatIds, async (manager): Promise<SeatBlockChange> => {
      // TypeORM answers a DELETE as [rows, row count].
      const [deleted]: [{ seat_id: number }[], number] = await manager.query(
        `DELETE FROM seat_blocks WHERE performance_id = $1 AND seat_id = ANY($2::int[]) RETURNING seat_id`,
        [performanceId, seatIds],
      );
      const changed = deleted.map((row) => Number(row.seat_id)).sort((a, b) => a - b);
      // A request that changed no seat changed nothing to audit.
      if (changed.length > 0) await recordAuditIn(manager, audit(changed));
      return { outcome: 'DONE', changed };
    });
  }

  /**
   * A comp whose seats may be blocked (house seats: CompService with includeBlocked), under the
   * performance's row lock FOR UPDATE as {@link block} takes it: a seat with an ACTIVE ticket
   * refuses it all (outcome SOLD, `apply` not run: Redis may show it free or blocked after a
   * failover lost its sale); else `apply` runs (the comp in Redis: its hold, which takes the
   * blocked seats in the same script run, and its sale), then the blocks of `seatIds` are
   * deleted, with the audit row `audit(taken, result)` when any was (a `seat.release`), and all
   * commits. `apply` throwing rolls all back (the blocks stay). So no buyer can take a house seat
   * between its block and the comp, and a rebuild or the seat reconciler (which wait for this
   * lock) never sees the seat sold in Redis and blocked in PostgreSQL once committed. Throws
   * DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  takeForComp<T>(
    performanceId: number,
    seatIds: readonly number[],
    apply: () => Promise<T>,
    purchaseIdOf: (result: T) => string,
    audit: (taken: DroppedSeatBlock[], result: T) => NewAdminAudit,
  ): Promise<CompBlocksChange<T>> {
    return this.underLock(performanceId, seatIds, async (manager): Promise<CompBlocksChange<T>> => {
      const sold: { seat_id: number }[] = await manager.query(
        `SELECT DISTINCT seat_id FROM tickets WHERE performance_id = $1 AND seat_id = ANY($2::int[]) AND status = 'ACTIVE'
         ORDER BY seat_id`,
        [performanceId, seatIds],
      );
      if (sold.length > 0) return { outcome: 'SOLD', seatIds: sold.map((row) => Number(row.seat_id)) };
      const result = await apply();
      // The blocks are lent to the comp (comp_house_seats), to go back when it is canceled or refunded.
      const deleted: {
        seat_id: number;
        reason: string | null;
        blocked_by: string;
        blocked_by_email: string;
        blocked_at: Date;
      }[] = await manager.query(
        `WITH taken AS (
           DELETE FROM seat_blocks WHERE performance_id = $1 AND seat_id = ANY($2::int[])
           RETURNING seat_id, reason, blocked_by, blocked_by_email, blocked_at
         ), lent AS (
           INSERT INTO comp_house_seats (seat_id, performance_id, purchase_id, reason, blocked_by, blocked_by_email, blocked_at)
           SELECT seat_id, $1, $3, reason, blocked_by, blocked_by_email, blocked_at FROM taken
           ON CONFLICT (seat_id) DO UPDATE SET performance_id = EXCLUDED.performance_id, purchase_id = EXCLUDED.purchase_id,
             reason = EXCLUDED.reason, blocked_by = EXCLUDED.blocked_by, blocked_by_email = EXCLUDED.blocked_by_email,
             blocked_at = EXCLUDED.blocked_at
         )
         SELECT seat_id, reason, blocked_by, blocked_by_email, blocked_at FROM taken`,
        [performanceId, seatIds, purchaseIdOf(result)],
      );
      const taken = deleted
        .map((row) => ({
          seatId: Number(row.seat_id),
          reason: row.reason,
          blockedBy: { id: row.blocked_by, email: row.blocked_by_email },
          blockedAt: row.blocked_at,
        }))
        .sort((a, b) => a.seatId - b.seatId);
      if (taken.length > 0) await recordAuditIn(manager, audit(taken, result));
      return { outcome: 'DONE', result, taken };
    });
  }

  /**
   * Deletes the blocks of those of `seatIds` that have an ACTIVE ticket (a block written over a
   * sale before blocks checked tickets, or over a sale a failover had hidden: the seat is sold, so
   * the row would list it blocked, and block it again if its ticket were
   * refunded), under the performance's row lock FOR UPDATE as {@link release}, with
   * the audit row `audit(dropped)` (none when none was deleted), committed. Answers the blocks
   * deleted, by seat id ascending; none when the performance is gone. Throws
   * DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  dropSoldBlocks(
    performanceId: number,
    seatIds: readonly number[],
    audit: (dropped: DroppedSeatBlock[]) => NewAdminAudit,
  ): Promise<DroppedSeatBlock[]> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, performanceId, 'UPDATE'))) return [];
        // TypeORM answers a DELETE as [rows, row count].
        const [deleted]: [
          { seat_id: number; reason: string | null; blocked_by: string; blocked_by_email: string; blocked_at: Date }[],
          number,
        ] = await manager.query(
          `DELETE FROM seat_blocks b WHERE b.performance_id = $1 AND b.seat_id = ANY($2::int[])
             AND EXISTS (SELECT 1 FROM tickets t WHERE t.performance_id = $1 AND t.seat_id = b.seat_id AND t.status = 'ACTIVE')
           RETURNING b.seat_id, b.reason, b.blocked_by, b.blocked_by_email, b.blocked_at`,
          [performanceId, seatIds],
        );
        const dropped = deleted
          .map((row) => ({
            seatId: Number(row.seat_id),
            reason: row.reason,
            blockedBy: { id: row.blocked_by, email: row.blocked_by_email },
            blockedAt: row.blocked_at,
          }))
          .sort((a, b) => a.seatId - b.seatId);
        if (dropped.length > 0) await recordAuditIn(manager, audit(dropped));
        return dropped;
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Runs `apply` with those of `seatIds` PostgreSQL has blocked, under the performance's row lock:
   * to write the live state back after a block that did not commit, or to apply a committed
   * release to it (a block committed since is not undone). False when the performance
   * is unknown. Throws DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  underRowLock(
    performanceId: number,
    seatIds: readonly number[],
    apply: (blocked: number[]) => Promise<void>,
  ): Promise<boolean> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, performanceId, 'UPDATE'))) return false;
        await apply(await blockedAmong(manager, performanceId, seatIds));
        return true;
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Runs `apply` with those of `seatIds` PostgreSQL has blocked, under the performance's row lock
   * FOR SHARE (the seat reconciler's read): no block or release (FOR UPDATE from before its Redis
   * write to its commit) is in flight while `apply` runs, so what it writes to Redis from this
   * read cannot undo one. `apply` also gets those of `seatIds` a release committed within
   * `releases.withinSeconds` seconds (audit rows of `releases.subjectId` and `releases.action`
   * naming them in `details.seatIds`): a release writes Redis only after its commit, so such a
   * seat's new letter may still be on its way. Answers `apply`'s result; null when the performance is unknown. Throws
   * DatabaseUnavailableError when a lock wait or the pool runs out.
   */
  underShareLock<T>(
    performanceId: number,
    seatIds: readonly number[],
    releases: { subjectId: string; action: string; withinSeconds: number },
    apply: (blocked: number[], recentlyReleased: number[]) => Promise<T>,
  ): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, performanceId, 'SHARE'))) return null;
        const blocked = await blockedAmong(manager, performanceId, seatIds);
        // The audit row's created_at is its transaction's start, before its commit: the window
        // counts from there. Read by (subject_id, created_at), the log's index.
        const released: { seat_id: number }[] = await manager.query(
          `SELECT DISTINCT released.seat_id::int AS seat_id
             FROM admin_audit_log a, jsonb_array_elements_text(a.details -> 'seatIds') AS released(seat_id)
            WHERE a.subject_id = $1 AND a.action = $2 AND a.created_at > now() - make_interval(secs => $3)
              AND released.seat_id::int = ANY($4::int[])`,
          [releases.subjectId, releases.action, releases.withinSeconds, seatIds],
        );
        return apply(
          blocked,
          released.map((row) => Number(row.seat_id)),
        );
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * The performance's house seats lent to comps (`comp_house_seats`, see takeForComp), ascending: a
   * comp's cancel or refund makes them BLOCKED in Redis before its write to PostgreSQL gives their
   * `seat_blocks` rows back, so the seat reconciler takes such a B letter as right meanwhile.
   */
  async lentSeatIds(performanceId: number): Promise<number[]> {
    const rows: { seat_id: number }[] = await this.dataSource.query(
      'SELECT seat_id FROM comp_house_seats WHERE performance_id = $1 ORDER BY seat_id',
      [performanceId],
    );
    return rows.map((row) => Number(row.seat_id));
  }

  /** Every blocked seat id of the performance, ascending (a rebuild's read: `manager` its transaction). */
  async blockedSeatIds(performanceId: number, manager?: ReadTransaction): Promise<number[]> {
    const rows: { seat_id: number }[] = await (manager ?? this.dataSource).query(
      'SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id',
      [performanceId],
    );
    return rows.map((row) => Number(row.seat_id));
  }

  /** Up to `limit` blocked seats of the performance after layout position `after` (0: from the first), by position. */
  async page(performanceId: number, after: number, limit: number): Promise<SeatBlockRecord[]> {
    const rows: RecordRow[] = await this.dataSource
      .query(
        `SELECT ${RECORD_COLUMNS} FROM seat_blocks b JOIN seats s ON s.id = b.seat_id
         WHERE b.performance_id = $1 AND s.position > $2 ORDER BY s.position LIMIT $3`,
        [performanceId, after, limit],
      )
      .catch(rethrowAsDatabaseError);
    return rows.map(({ blockedById, blockedByEmail, ...row }) => ({
      ...row,
      seatId: Number(row.seatId),
      blockedBy: { id: blockedById, email: blockedByEmail },
    }));
  }

  /** The performance's section names in layout order (as stored); null when it does not exist. */
  async sectionNames(performanceId: number): Promise<string[] | null> {
    const rows: { section: string }[] = await this.dataSource
      .query('SELECT section FROM seats WHERE performance_id = $1 GROUP BY section ORDER BY min(position)', [
        performanceId,
      ])
      .catch(rethrowAsDatabaseError);
    if (rows.length > 0) return rows.map((row) => row.section);
    return (await this.performanceExists(performanceId)) ? [] : null;
  }

  /** The rows of one section of the performance (its name as stored), by row. */
  async sectionRows(performanceId: number, section: string): Promise<SectionRowLabel[]> {
    const rows: SectionRowLabel[] = await this.dataSource
      .query(
        `SELECT "row", min(row_label) AS "rowLabel" FROM seats WHERE performance_id = $1 AND section = $2
         GROUP BY "row" ORDER BY "row"`,
        [performanceId, section],
      )
      .catch(rethrowAsDatabaseError);
    return rows.map((row) => ({ row: Number(row.row), rowLabel: row.rowLabel }));
  }

  /**
   * The first `limit` seats (layout order) of one section (its name as stored), in `rows` (null:
   * every row), numbered `numbers.from`…`numbers.to` (null: any); with `blockedOnly`, only those
   * `seat_blocks` has (a release's selection). Also how many match in all, how many rows they
   * touch and how many seats those rows have (see {@link SeatsAtPlace}). One read, no lock: the
   * caller's change takes the row lock and works on the ids found.
   */
  async seatsAt(
    performanceId: number,
    section: string,
    rows: readonly number[] | null,
    numbers: { from: number; to: number } | null,
    limit: number,
    { blockedOnly = false }: { blockedOnly?: boolean } = {},
  ): Promise<SeatsAtPlace> {
    const found: { ids: (number | string)[] | null; total: string; rows: string; rowSeats: string }[] =
      await this.dataSource
        .query(
          `WITH matched AS (
             SELECT s.id, s."row", s.position FROM seats s
             WHERE s.performance_id = $1 AND s.section = $2 AND ($3::int[] IS NULL OR s."row" = ANY($3::int[]))
               AND s."number" BETWEEN $4 AND $5
               AND (NOT $7::boolean OR EXISTS (SELECT 1 FROM seat_blocks b WHERE b.seat_id = s.id))
           )
           SELECT (SELECT count(*) FROM matched) AS total,
                  (SELECT count(DISTINCT "row") FROM matched) AS rows,
                  (SELECT count(*) FROM seats WHERE performance_id = $1 AND section = $2
                     AND "row" IN (SELECT "row" FROM matched)) AS "rowSeats",
                  (SELECT array_agg(id ORDER BY position) FROM
                     (SELECT id, position FROM matched ORDER BY position LIMIT $6) first) AS ids`,
          [performanceId, section, rows, numbers?.from ?? 1, numbers?.to ?? 2_147_483_647, limit, blockedOnly],
        )
        .catch(rethrowAsDatabaseError);
    const [row] = found;
    return {
      seatIds: (row.ids ?? []).map(Number),
      total: Number(row.total),
      rows: Number(row.rows),
      rowSeats: Number(row.rowSeats),
    };
  }

  /**
   * The work of `seatIds` of the performance (see {@link SeatIdsWork}): ids not of it count for
   * nothing (the change refuses them later); with `blockedOnly`, only the seats `seat_blocks` has
   * (a release's). One read, no lock, as {@link seatsAt}.
   */
  async seatIdsWork(
    performanceId: number,
    seatIds: readonly number[],
    recountRows: number,
    { blockedOnly = false }: { blockedOnly?: boolean } = {},
  ): Promise<SeatIdsWork> {
    const found: { rows: string; rowSeats: string; sectionSlots: string }[] = await this.dataSource
      .query(
        `WITH touched AS (
           SELECT s.section, s."row",
                  bool_or($3::boolean OR (NOT EXISTS (SELECT 1 FROM seat_blocks b WHERE b.seat_id = s.id)
                    AND NOT EXISTS (SELECT 1 FROM tickets k
                                     WHERE k.performance_id = $1 AND k.seat_id = s.id AND k.status = 'ACTIVE'))) AS changes
           FROM seats s
           WHERE s.performance_id = $1 AND s.id = ANY($2::int[])
             AND (NOT $3::boolean OR EXISTS (SELECT 1 FROM seat_blocks b WHERE b.seat_id = s.id))
           GROUP BY s.section, s."row"
         ), sections AS (
           SELECT t.section, count(*) FILTER (WHERE t.changes) AS touched,
                  (SELECT count(DISTINCT "row") FROM seats WHERE performance_id = $1 AND section = t.section) AS rows
           FROM touched t GROUP BY t.section
         )
         SELECT (SELECT count(*) FROM touched) AS rows,
                (SELECT count(*) FROM seats s JOIN touched t ON t.section = s.section AND t."row" = s."row"
                   WHERE s.performance_id = $1) AS "rowSeats",
                (SELECT coalesce(sum(rows * CASE WHEN touched <= $4 THEN touched ELSE 1 END), 0)
                   FROM sections) AS "sectionSlots"`,
        [performanceId, seatIds, blockedOnly, recountRows],
      )
      .catch(rethrowAsDatabaseError);
    const [row] = found;
    return { rows: Number(row.rows), rowSeats: Number(row.rowSeats), sectionSlots: Number(row.sectionSlots) };
  }

  /** Whether the performance exists. */
  async performanceExists(performanceId: number): Promise<boolean> {
    return (await this.performanceStatus(performanceId)) !== null;
  }

  /** The performance's status (`ON_SALE`, `CANCELED`, …; read without a lock), or null when there is none. */
  async performanceStatus(performanceId: number): Promise<string | null> {
    const rows: { status: string }[] = await this.dataSource
      .query('SELECT status FROM performances WHERE id = $1', [performanceId])
      .catch(rethrowAsDatabaseError);
    return rows.length > 0 ? rows[0].status : null;
  }

  private underLock<T extends { outcome: string }>(
    performanceId: number,
    seatIds: readonly number[],
    change: (manager: EntityManager) => Promise<T>,
  ): Promise<T | { outcome: 'NOT_FOUND' | 'CANCELED' } | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const locked = await lockPerformanceRow(manager, performanceId, 'UPDATE');
        if (!locked) return { outcome: 'NOT_FOUND' as const };
        // Under the lock a cancel takes too: a block or release never lands after the cancel.
        if (locked.status === 'CANCELED') return { outcome: 'CANCELED' as const };
        const known: { id: number }[] = await manager.query(
          'SELECT id FROM seats WHERE performance_id = $1 AND id = ANY($2::int[])',
          [performanceId, seatIds],
        );
        const knownIds = new Set(known.map((row) => Number(row.id)));
        const unknown = seatIds.filter((id) => !knownIds.has(id));
        if (unknown.length > 0) return { outcome: 'UNKNOWN_SEATS' as const, seatIds: unknown };
        return change(manager);
      })
      .catch(rethrowAsDatabaseError);
  }
}

async function blockedAmong(
  manager: EntityManager,
  performanceId: number,
  seatIds: readonly number[],
): Promise<number[]> {
  const rows: { seat_id: number }[] = await manager.query(
    'SELECT seat_id FROM seat_blocks WHERE performance_id = $1 AND seat_id = ANY($2::int[])',
    [performanceId, seatIds],
  );
  return rows.map((row) => Number(row.seat_id));
}
