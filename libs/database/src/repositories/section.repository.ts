import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import type { PerformanceStatus } from '../entities/performance.entity';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import type { ReadTransaction } from './performance.repository';

/** One section of a performance as PostgreSQL holds it (its seats share name, grade and price). */
export interface SectionRow {
  name: string;
  grade: string;
  /** Price of each seat, an integer in minor units of the event's currency. */
  price: number;
  seatsTotal: number;
  /**
   * Lowest and highest seat id of the section. A section's seats are inserted by one statement,
   * the sections one after the other in one transaction, so the ranges of a performance's
   * sections never overlap: a seat id of the performance names its section by range.
   */
  firstSeatId: number;
  lastSeatId: number;
}

/** The locked performance a price change is decided on, with the database's now. */
export interface PriceChangeSubject {
  status: PerformanceStatus;
  startsAt: Date;
  now: Date;
}

/** What a price change did. */
export interface PriceChange {
  section: SectionRow;
  previousPrice: number;
  currency: string;
  /** False when the section already had the price: nothing written in PostgreSQL, nothing audited. */
  changed: boolean;
}

/** Sections of performances: the seats grouped by section, and their prices. */
@Injectable()
export class SectionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The performance's sections in layout order, with its currency; null when there is no such
   * performance. One query on the seats' (performance_id, section, …) unique index. A performance
   * always has seats, so none read means a delete committed between the two queries: null too.
   */
  async sectionsOf(performanceId: number): Promise<{ currency: string; sections: SectionRow[] } | null> {
    const [performance]: { currency: string }[] = await this.dataSource.query(
      `SELECT e.currency FROM performances p JOIN events e ON e.id = p.event_id WHERE p.id = $1`,
      [performanceId],
    );
    if (!performance) return null;
    const sections: SectionRow[] = await this.dataSource.query(
      `SELECT section AS name, min(grade) AS grade, min(price) AS price, count(*)::int AS "seatsTotal",
              min(id) AS "firstSeatId", max(id) AS "lastSeatId"
         FROM seats WHERE performance_id = $1 GROUP BY section ORDER BY min(position)`,
      [performanceId],
    );
    if (sections.length === 0) return null;
    return { currency: performance.currency.trim(), sections };
  }

  /**
   * The price (minor units) the seats of the section have, read in `manager`'s transaction (a
   * PerformanceRepository.whileRowShared one, so after any price change under way committed);
   * null when the performance has no such section.
   */
  async priceOf(performanceId: number, sectionName: string, manager: ReadTransaction): Promise<number | null> {
    const [row]: { price: number | null }[] = await manager.query(
      'SELECT min(price) AS price FROM seats WHERE performance_id = $1 AND section = $2',
      [performanceId, sectionName],
    );
    return row?.price == null ? null : Number(row.price);
  }

  /**
   * Sets the price of every seat of one section, in one transaction under the performance's row
   * lock (the lock lifecycle changes take): `decide` gets the locked performance and may throw to
   * refuse; `apply` gets the section's seat ids after the UPDATE and before the commit (the live
   * prices in Redis follow inside the lock, so concurrent changes reach Redis in PostgreSQL's
   * order); `seats_version` is bumped and the
   * audit row `audit` makes recorded in the same transaction. A section that already has `price`
   * changes nothing in PostgreSQL and gets no audit row (`changed` false); `apply` still runs, so a
   * retry writes again live prices a failed write-back left behind. Answers null when the
   * performance is unknown, 'no-section' when it has no such section.
   */
  changePrice(
    performanceId: number,
    sectionName: string,
    price: number,
    decide: (subject: PriceChangeSubject) => void,
    apply: (seatIds: number[]) => Promise<void>,
    audit: (change: PriceChange) => NewAdminAudit,
  ): Promise<PriceChange | null | 'no-section'> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const [locked]: (PriceChangeSubject & { currency: string })[] = await manager.query(
          `SELECT p.status, p.starts_at AS "startsAt", now() AS now, e.currency
           FROM performances p JOIN events e ON e.id = p.event_id WHERE p.id = $1 FOR UPDATE OF p`,
          [performanceId],
        );
        if (!locked) return null;
        decide(locked);
        const [before]: { price: number; grade: string }[] = await manager.query(
          `SELECT min(price) AS price, min(grade) AS grade FROM seats WHERE performance_id = $1 AND section = $2`,
          [performanceId, sectionName],
        );
        if (before.price === null) return 'no-section';
        // Read apart from the UPDATE: TypeORM answers an UPDATE … RETURNING with [rows, count].
        const seats: { id: number }[] = await manager.query(
          'SELECT id FROM seats WHERE performance_id = $1 AND section = $2',
          [performanceId, sectionName],
        );
        const changed = Number(before.price) !== price;
        if (changed) {
          await manager.query('UPDATE seats SET price = $3 WHERE performance_id = $1 AND section = $2', [
            performanceId,
            sectionName,
            price,
          ]);
          await manager.query('UPDATE performances SET seats_version = seats_version + 1 WHERE id = $1', [
            performanceId,
          ]);
        }
        const seatIds = seats.map((seat) => seat.id).sort((a, b) => a - b);
        const change: PriceChange = {
          section: {
            name: sectionName,
            grade: before.grade,
            price,
            seatsTotal: seatIds.length,
            firstSeatId: seatIds[0],
            lastSeatId: seatIds[seatIds.length - 1],
          },
          previousPrice: Number(before.price),
          currency: locked.currency.trim(),
          changed,
        };
        if (changed) {
          // Inside this transaction: no change without its row.
          await recordAuditIn(manager, audit(change));
        }
        await apply(seatIds);
        return change;
      })
      .catch(rethrowAsDatabaseError);
  }
}
