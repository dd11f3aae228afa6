import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { NotFoundError } from '@app/core';
import { FOREIGN_KEY_VIOLATION, translatingConstraintViolations } from '../constraint-violations';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { EventEntity } from '../entities/event.entity';
import { PerformanceEntity, PerformanceStatus } from '../entities/performance.entity';
import { SeatEntity } from '../entities/seat.entity';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';

export interface SectionLayout {
  name: string;
  grade: string;
  /** Price of each seat, an integer in minor units of the event's currency. */
  price: number;
  rows: number;
  seatsPerRow: number;
  /**
   * Each seat's place and marks, row-major (index (row − 1) · seatsPerRow + number − 1), each
   * array rows · seatsPerRow long: x, y in map units, quality 0…1000 (see generateLayout in
   * libs/ticketing); `rowLabels[row − 1]` the label of each row.
   */
  geometry: {
    rowLabels: string[];
    x: number[];
    y: number[];
    quality: number[];
    accessible: boolean[];
    companion: boolean[];
  };
}

/**
 * The event's time zone changed between the read a new performance's times were worked out from and
 * the insert: work them out again on the event as it is now.
 */
export class EventTimeZoneChangedError extends Error {
  constructor(readonly eventId: number) {
    super(`the time zone of event ${eventId} changed while a performance of it was created`);
  }
}

export interface NewPerformance {
  eventId: number;
  /**
   * The event's time zone its times were worked out on (a `startsAtLocal`, the default
   * `cancelUntil`): checked against the event row, read FOR SHARE in the insert's transaction.
   */
  timeZone: string;
  startsAt: Date;
  salesOpenAt: Date;
  /** null or absent = sales end at startsAt. */
  salesCloseAt?: Date | null;
  /** null or absent = no self-service cancel. */
  cancelUntil?: Date | null;
  /** Absent = ON_SALE. */
  status?: PerformanceStatus;
  sections: SectionLayout[];
  /** The stage's focal point on the seat map (map units); absent = (0, 0). */
  focalPoint?: { x: number; y: number };
  /** Seat-id holds may not leave a single free seat; absent = false. */
  noOrphanSeats?: boolean;
  /** Seats one buyer may have bought and hold together; absent or null = no such limit. */
  maxTicketsPerBuyer?: number | null;
  /** The performance's own check-in window, minutes; absent or null = the global settings. */
  checkInOpensBeforeMinutes?: number | null;
  checkInClosesAfterMinutes?: number | null;
}

/** Lifecycle fields of a performance an admin may change. */
export type PerformanceLifecycleChanges = Partial<
  Pick<
    PerformanceEntity,
    | 'startsAt'
    | 'salesOpenAt'
    | 'salesCloseAt'
    | 'cancelUntil'
    | 'status'
    | 'noOrphanSeats'
    | 'maxTicketsPerBuyer'
    | 'checkInOpensBeforeMinutes'
    | 'checkInClosesAfterMinutes'
  >
>;

/**
 * A performance with what it shows of its event: the ISO 4217 code every one of its prices is in,
 * the title, the venue and the venue's IANA time zone.
 */
export type PricedPerformance = PerformanceEntity & EventOfPerformance;

/**
 * A transaction the repositories' reads may run in (PerformanceRepository.whileRowShared): passed
 * on as it is, never used outside the database library.
 */
export type ReadTransaction = EntityManager;

/** What PerformanceRepository.deleteWithSeats did; HAS_PURCHASES: a purchase row refers to the performance. */
export type PerformanceDeletion = 'DELETED' | 'NOT_FOUND' | 'HAS_PURCHASES';

/** What a performance shows of its event. */
export interface EventOfPerformance {
  currency: string;
  eventTitle: string;
  venue: string;
  timeZone: string;
}

export type SeatRow = Pick<
  SeatEntity,
  'id' | 'position' | 'section' | 'row' | 'rowLabel' | 'number' | 'grade' | 'price'
>;

/**
 * Seats that share section, row (and so its label), grade and price (price in minor units): their
 * ids, numbers and layout positions as comma-separated lists, the i-th of each list the same seat,
 * in position order.
 */
export interface SeatGroupRow {
  section: string;
  row: number;
  rowLabel: string;
  grade: string;
  price: number;
  ids: string;
  numbers: string;
  positions: string;
}

/** A seat as the seat map shows it (x, y in map units; quality 0…1000). */
export type MapSeatRow = Pick<
  SeatEntity,
  | 'id'
  | 'section'
  | 'row'
  | 'rowLabel'
  | 'number'
  | 'grade'
  | 'price'
  | 'x'
  | 'y'
  | 'quality'
  | 'accessible'
  | 'companion'
>;

/** A seat as the best-available seating data is built from (price in minor units; quality 0…1000). */
export type SeatPlaceRow = Pick<
  SeatEntity,
  'id' | 'price' | 'section' | 'row' | 'number' | 'grade' | 'quality' | 'accessible' | 'companion'
>;

/** Performances and their seats (the seats never exist without their performance). */
@Injectable()
export class PerformanceRepository {
  private readonly performances: Repository<PerformanceEntity>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.performances = dataSource.getRepository(PerformanceEntity);
  }

  /**
   * Creates the performance and all its seats in one transaction. Seats are generated inside
   * PostgreSQL from each section's geometry arrays (one INSERT … SELECT unnest per section), so
   * a 50,000-seat stadium takes one round trip per section instead of 50,000 rows. Raises
   * NotFoundError when the event is gone (deleted while this ran), ConflictError of @app/core for
   * another constraint violation. `audit` answers the row of the admin audit log, recorded in the
   * same transaction.
   */
  async createWithSeats(
    input: NewPerformance,
    audit: (performance: PerformanceEntity) => NewAdminAudit,
  ): Promise<PerformanceEntity> {
    const totalSeats = input.sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
    const create = () =>
      this.dataSource.transaction(async (manager) => {
        // FOR SHARE: a time zone change of the event (an UPDATE of its row) waits for this insert,
        // or this insert for it and then sees the zone it set.
        const [event]: { timeZone: string }[] = await manager.query(
          `SELECT time_zone AS "timeZone" FROM events WHERE id = $1 FOR SHARE`,
          [input.eventId],
        );
        if (!event) throw new NotFoundError('event', { eventId: input.eventId });
        if (event.timeZone !== input.timeZone) throw new EventTimeZoneChangedError(input.eventId);
        const performance = await manager.save(
          manager.create(PerformanceEntity, {
            eventId: input.eventId,
            startsAt: input.startsAt,
            salesOpenAt: input.salesOpenAt,
            salesCloseAt: input.salesCloseAt ?? null,
            cancelUntil: input.cancelUntil ?? null,
            status: input.status ?? 'ON_SALE',
            totalSeats,
            focalX: input.focalPoint?.x ?? 0,
            focalY: input.focalPoint?.y ?? 0,
            noOrphanSeats: input.noOrphanSeats ?? false,
            maxTicketsPerBuyer: input.maxTicketsPerBuyer ?? null,
            checkInOpensBeforeMinutes: input.checkInOpensBeforeMinutes ?? null,
            checkInClosesAfterMinutes: input.checkInClosesAfterMinutes ?? null,
          }),
        );
        let offset = 0;
        for (const section of input.sections) {
          const { rowLabels, x, y, quality, accessible, companion } = section.geometry;
          // The geometry arrays travel as five array parameters, the row labels as one more (one
          // per row); row and number follow from the row-major index, as the position does.
          await manager.query(
            `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price,
                                x, y, quality, accessible, companion)
           SELECT $1, $2 + g.i, $4, (g.i - 1) / $3 + 1, ($12::text[])[(g.i - 1) / $3 + 1], (g.i - 1) % $3 + 1,
                  $5, $6, g.x, g.y, g.q, g.a, g.c
           FROM unnest($7::float8[], $8::float8[], $9::int[], $10::bool[], $11::bool[])
             WITH ORDINALITY AS g(x, y, q, a, c, i)`,
            [
              performance.id,
              offset,
              section.seatsPerRow,
              section.name,
              section.grade,
              section.price,
              x,
              y,
              quality,
              accessible,
              companion,
              rowLabels,
            ],
          );
          offset += section.rows * section.seatsPerRow;
        }
        await recordAuditIn(manager, audit(performance));
        return performance;
      });
    return translatingConstraintViolations(create, {
      [FOREIGN_KEY_VIOLATION]: () => new NotFoundError('event', { eventId: input.eventId }),
    });
  }

  /** `manager`: read inside that transaction (see whileRowShared); default: a pooled connection. */
  async findById(id: number, manager?: ReadTransaction): Promise<PricedPerformance | null> {
    const repository = manager ? manager.getRepository(PerformanceEntity) : this.performances;
    const row = await repository.findOne({ where: { id }, relations: { event: true } });
    return row && priced(row);
  }

  /**
   * Runs `work` in a transaction that holds the performance's row FOR SHARE, and gives it the
   * transaction's manager to read with. The changes that lock the row FOR UPDATE (lifecycle,
   * section prices, delete) wait until `work` is done, and `work` starts after one under way
   * committed: what it reads of the performance stays current while it runs (the rebuild of a
   * performance's live state in Redis). Answers `work`'s answer, or null (nothing run) when there
   * is no such performance. The lock is waited for at most ROW_LOCK_TIMEOUT_MS, and the
   * transaction may sit idle at most IDLE_HOLDER_TIMEOUT_MS (half of it, so a change waiting for
   * the row outlasts a stalled holder): then DatabaseUnavailableError.
   */
  whileRowShared<T>(id: number, work: (manager: ReadTransaction) => Promise<T>): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        // A stalled process (its transaction idle on the lock) must not hold every change back.
        await boundLockWaits(manager, true);
        return (await lockPerformanceRow(manager, id, 'SHARE')) ? work(manager) : null;
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Runs `work` once no transaction that may delete the performance or change its event's time
   * zone is under way: in a transaction that takes the performance's row and its event's FOR SHARE
   * without waiting (NOWAIT), so a transaction holding either FOR UPDATE (a delete of the
   * performance or its event, a time zone change, also a lifecycle change, comp or block) makes it
   * answer null, nothing run. `work` gets whether the performance exists: false means no such
   * row, so a delete of it committed (an uncommitted one would hold the lock). Answers `work`'s
   * answer. What the seat reconciler settles a closure to sales without deadline by
   * (SalesClosureSettler).
   */
  whenNoCloser<T>(id: number, work: (exists: boolean) => Promise<T>): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        const rows: unknown[] = await manager.query(
          `SELECT p.id FROM performances p JOIN events e ON e.id = p.event_id WHERE p.id = $1
           FOR SHARE OF p, e NOWAIT`,
          [id],
        );
        return work(rows.length > 0);
      })
      .catch((error: unknown) => {
        const code = (error as { driverError?: { code?: unknown }; code?: unknown }).driverError?.code;
        if ((code ?? (error as { code?: unknown }).code) === LOCK_NOT_AVAILABLE) return null;
        return rethrowAsDatabaseError(error);
      });
  }

  /**
   * Changes the lifecycle fields of a performance under a row lock: `decide` gets the locked row
   * and answers the changes (it may throw to refuse them), `apply` runs after the UPDATE and
   * before the commit (the live state in Redis follows inside the lock, so two concurrent changes
   * reach Redis in the order PostgreSQL took them). A change that moves `startsAt` to another
   * instant is recorded in `performance_reschedules` in the same transaction, so its buyers' notices
   * (RescheduleNotices) follow every committed move and no rolled-back one; `moved` runs then, in
   * the transaction (the row still locked), with the row as it is now, and answers how many
   * check-ins it cleared. `audit` gets the row as it was and as it is now, and that count (null
   * when `startsAt` did not move), and answers the row of the admin audit log, recorded in the same
   * transaction, or null for none (nothing changed). Answers the changed row, null when unknown.
   */
  updateLifecycle(
    id: number,
    decide: (row: PricedPerformance) => PerformanceLifecycleChanges,
    apply: (row: PricedPerformance) => Promise<void>,
    audit: (
      before: PricedPerformance,
      after: PricedPerformance,
      checkInsCleared: number | null,
    ) => NewAdminAudit | null,
    moved: (manager: EntityManager, after: PricedPerformance) => Promise<number>,
  ): Promise<PricedPerformance | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        if (!(await lockPerformanceRow(manager, id, 'UPDATE'))) return null;
        const row = await manager.findOne(PerformanceEntity, { where: { id }, relations: { event: true } });
        if (!row) return null;
        const before = { ...priced(row) };
        const previousStartsAt = row.startsAt;
        Object.assign(row, decide(priced(row)));
        const startsAtMoved = row.startsAt.getTime() !== previousStartsAt.getTime();
        if (startsAtMoved) {
          await manager.query(
            'INSERT INTO performance_reschedules (performance_id, previous_starts_at, starts_at) VALUES ($1, $2, $3)',
            [id, previousStartsAt, row.startsAt],
          );
        }
        await manager.update(
          PerformanceEntity,
          { id },
          {
            startsAt: row.startsAt,
            salesOpenAt: row.salesOpenAt,
            salesCloseAt: row.salesCloseAt,
            cancelUntil: row.cancelUntil,
            status: row.status,
            noOrphanSeats: row.noOrphanSeats,
            maxTicketsPerBuyer: row.maxTicketsPerBuyer,
            checkInOpensBeforeMinutes: row.checkInOpensBeforeMinutes,
            checkInClosesAfterMinutes: row.checkInClosesAfterMinutes,
          },
        );
        const changed = priced(row);
        const checkInsCleared = startsAtMoved ? await moved(manager, changed) : null;
        const entry = audit(before, changed, checkInsCleared);
        if (entry) await recordAuditIn(manager, entry);
        await apply(changed);
        return changed;
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Deletes the performance and its seats under a row lock; `beforeDelete` runs inside the lock
   * and may throw to refuse. Answers NOT_FOUND when unknown, HAS_PURCHASES (nothing deleted) when a
   * purchase row refers to it, also a canceled one: checked after `beforeDelete`, before the
   * delete meets purchases_performance_fk (whose violation, were a row written meanwhile, still
   * raises ConflictError). `audit` gets the row being deleted and answers the row of the admin
   * audit log, recorded in the delete's transaction. `beforeCommit` runs after the delete, as the
   * transaction's last step, and may throw to keep everything (the caller's closure to sales
   * confirmed: SalesClosure.confirm).
   */
  deleteWithSeats(
    id: number,
    beforeDelete: () => Promise<void>,
    audit: (row: PricedPerformance) => NewAdminAudit,
    beforeCommit: () => Promise<void> = async () => undefined,
  ): Promise<PerformanceDeletion> {
    return translatingConstraintViolations(() =>
      this.dataSource
        .transaction(async (manager): Promise<PerformanceDeletion> => {
          await boundLockWaits(manager);
          if (!(await lockPerformanceRow(manager, id, 'UPDATE'))) return 'NOT_FOUND';
          await beforeDelete();
          if ((await firstWithPurchases(manager, [id])) !== null) return 'HAS_PURCHASES';
          const row = await manager.findOne(PerformanceEntity, { where: { id }, relations: { event: true } });
          if (!row) return 'NOT_FOUND';
          await recordAuditIn(manager, audit(priced(row)));
          await manager.query('DELETE FROM performances WHERE id = $1', [id]);
          await beforeCommit();
          return 'DELETED';
        })
        .catch(rethrowAsDatabaseError),
    );
  }

  /** Keyset page of an event's performances in (starts_at, id) order. */
  async pageOfEvent(
    eventId: number,
    after: { startsAt: Date; id: number } | null,
    limit: number,
  ): Promise<PricedPerformance[]> {
    const query = this.performances
      .createQueryBuilder('p')
      .innerJoinAndSelect('p.event', 'e')
      .where('p.event_id = :eventId', { eventId })
      .orderBy('p.starts_at', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .limit(limit);
    if (after) query.andWhere('(p.starts_at, p.id) > (:startsAt, :id)', { startsAt: after.startsAt, id: after.id });
    return (await query.getMany()).map(priced);
  }

  /** Seats whose position lies in [from, to], in position order. */
  seatsByPosition(performanceId: number, from: number, to: number): Promise<SeatRow[]> {
    return this.dataSource.query(
      `SELECT id, position, section, "row", row_label AS "rowLabel", "number", grade, price FROM seats
       WHERE performance_id = $1 AND position BETWEEN $2 AND $3 ORDER BY position`,
      [performanceId, from, to],
    );
  }

  /**
   * Every seat of the performance with what a buyer reads of it, one row per group of seats that
   * share section, row, grade and price (none when unknown): a stadium's 100,000 seats come as
   * about a thousand rows, which the client parses far faster than one row per seat.
   */
  seatGroupsOf(performanceId: number): Promise<SeatGroupRow[]> {
    return this.dataSource.query(
      `SELECT section, "row", row_label AS "rowLabel", grade, price,
              string_agg(id::text, ',' ORDER BY position) AS ids,
              string_agg("number"::text, ',' ORDER BY position) AS numbers,
              string_agg(position::text, ',' ORDER BY position) AS positions
       FROM seats WHERE performance_id = $1 GROUP BY section, "row", row_label, grade, price`,
      [performanceId],
    );
  }

  /**
   * Every seat with its map place and marks, in layout order (sections in their order, each row
   * by row, seats by number), and the performance's focal point; null when the performance is
   * unknown. What the seat map is built from.
   */
  async seatMap(performanceId: number): Promise<{ focalPoint: { x: number; y: number }; seats: MapSeatRow[] } | null> {
    const [performance]: { focal_x: number; focal_y: number }[] = await this.dataSource.query(
      'SELECT focal_x, focal_y FROM performances WHERE id = $1',
      [performanceId],
    );
    if (!performance) return null;
    const seats: MapSeatRow[] = await this.dataSource.query(
      `SELECT id, section, "row", row_label AS "rowLabel", "number", grade, price, x, y, quality, accessible,
              companion
       FROM seats WHERE performance_id = $1 ORDER BY position`,
      [performanceId],
    );
    return { focalPoint: { x: performance.focal_x, y: performance.focal_y }, seats };
  }

  /**
   * Every seat's id, price (minor units) and what best-available needs of it (section, row,
   * number, grade, quality 0…1000, accessible, companion), in layout order: what the live seat
   * state and seating data in Redis are built from.
   */
  seatPlaces(performanceId: number, manager?: ReadTransaction): Promise<SeatPlaceRow[]> {
    return (manager ?? this.dataSource).query(
      `SELECT id, price, section, "row", "number", grade, quality, accessible, companion FROM seats
       WHERE performance_id = $1 ORDER BY position`,
      [performanceId],
    );
  }

  /** Every seat's id and price (minor units): what the live seat state in Redis is built from. */
  seatPrices(performanceId: number): Promise<{ id: number; price: number }[]> {
    return this.dataSource.query('SELECT id, price FROM seats WHERE performance_id = $1 ORDER BY position', [
      performanceId,
    ]);
  }
}

/** SQLSTATE of a row lock NOWAIT could not take at once. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Reads the currency off the event loaded with the performance. */
function priced(performance: PerformanceEntity): PricedPerformance {
  return Object.assign(performance, eventOfPerformance(performance.event!));
}

/**
 * Takes the performance's row lock (`mode`: UPDATE to change what depends on it, SHARE to read it
 * stable) inside `manager`'s transaction, waiting as the transaction's lock_timeout allows, and
 * answers the locked row's `status` (ON_SALE, PAUSED, CLOSED, CANCELED); null when no such
 * performance exists (nothing locked).
 */
export async function lockPerformanceRow(
  manager: EntityManager,
  performanceId: number,
  mode: 'UPDATE' | 'SHARE',
): Promise<{ status: string } | null> {
  const locked: { status: string }[] = await manager.query(
    `SELECT status FROM performances WHERE id = $1 FOR ${mode}`,
    [performanceId],
  );
  return locked.length > 0 ? { status: locked[0].status } : null;
}

/** What a performance shows of its event `event`. */
export function eventOfPerformance(event: EventEntity): EventOfPerformance {
  return { currency: event.currency, eventTitle: event.title, venue: event.venue, timeZone: event.timeZone };
}

/**
 * The first of `performanceIds` a purchase row refers to (whatever its status), or null, read in
 * the caller's transaction. A delete reads it after closing the performances' live state, which
 * also counted the purchases not yet written (PerformanceService.deletePerformance).
 */
export async function firstWithPurchases(manager: EntityManager, performanceIds: number[]): Promise<number | null> {
  if (performanceIds.length === 0) return null;
  const rows: { performance_id: number }[] = await manager.query(
    'SELECT performance_id FROM purchases WHERE performance_id = ANY($1::int[]) ORDER BY performance_id LIMIT 1',
    [performanceIds],
  );
  return rows[0]?.performance_id ?? null;
}
