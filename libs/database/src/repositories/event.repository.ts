import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { translatingConstraintViolations } from '../constraint-violations';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { EventEntity } from '../entities/event.entity';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import { firstWithPurchases } from './performance.repository';

export interface EventFields {
  title: string;
  description?: string | null;
  venue: string;
  /** ISO 4217 code of the event's prices; fixed once the event exists. */
  currency: string;
  /** Canonical IANA name of the venue's time zone; absent at creation = UTC. */
  timeZone?: string;
}

/**
 * When an event plays: its first and last performance start (null without any) and how many it
 * has, canceled performances (status CANCELED) left out: they will not play.
 */
export interface EventDates {
  firstStartsAt: Date | null;
  lastStartsAt: Date | null;
  performanceCount: number;
}

/**
 * What `search` selects: events with a performance starting in [from, to] (`to` null = no end),
 * whose title or venue matches `text` (null = any), after the keyset position `after`.
 */
export interface EventSearch {
  from: Date;
  to: Date | null;
  text: string | null;
  after: { firstStartsAt: Date; id: number } | null;
  limit: number;
}

/**
 * How alike a search text and a title or venue must be (pg_trgm word similarity, 0–1) to match
 * as a typo; pg_trgm's default 0.6 misses one wrong letter in a seven-letter word ("Olimpic").
 */
export const WORD_SIMILARITY_THRESHOLD = 0.4;

/** What EventRepository.deleteWithPerformances did; HAS_PURCHASES names a performance a purchase row refers to. */
export type EventDeletion =
  { outcome: 'DELETED' } | { outcome: 'NOT_FOUND' } | { outcome: 'HAS_PURCHASES'; performanceId: number };

/** What an update may change: everything but the currency, which the prices already sold were in. */
export type EventChanges = Partial<Omit<EventFields, 'currency'>>;

/**
 * Events: the root of the catalog. Deleting one deletes its performances and seats. Writes raise
 * a unique or foreign-key violation as a ConflictError of @app/core.
 */
@Injectable()
export class EventRepository {
  private readonly events: Repository<EventEntity>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.events = dataSource.getRepository(EventEntity);
  }

  /**
   * Deletes an event with its performances and seats, in one transaction that first locks the
   * event row: a performance being created for it (its insert holds a key-share lock on the row)
   * commits before, and is listed; one created after waits, then finds no event. `beforeDelete`
   * gets the ids of every performance of the event and may throw to keep everything. Then, before
   * the delete meets purchases_performance_fk, a performance any purchase row refers to (also a
   * canceled one) keeps everything: HAS_PURCHASES names the first. NOT_FOUND when there is no such
   * event. `audit` answers the row of the admin audit log, recorded in the delete's transaction.
   * `beforeCommit` runs after the delete, as the transaction's last step, and may throw to keep
   * everything (the caller's closure to sales confirmed: SalesClosure.confirm).
   */
  deleteWithPerformances(
    id: number,
    beforeDelete: (performanceIds: number[]) => Promise<void>,
    audit: (event: EventEntity, performanceIds: number[]) => NewAdminAudit,
    beforeCommit: () => Promise<void> = async () => undefined,
  ): Promise<EventDeletion> {
    return translatingConstraintViolations(() =>
      this.dataSource
        .transaction(async (manager): Promise<EventDeletion> => {
          await boundLockWaits(manager);
          const event = await manager.findOne(EventEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
          if (!event) return { outcome: 'NOT_FOUND' };
          const performances: { id: number }[] = await manager.query(
            'SELECT id FROM performances WHERE event_id = $1 ORDER BY id',
            [id],
          );
          const performanceIds = performances.map((row) => row.id);
          await beforeDelete(performanceIds);
          const performanceId = await firstWithPurchases(manager, performanceIds);
          if (performanceId !== null) return { outcome: 'HAS_PURCHASES', performanceId };
          await recordAuditIn(manager, audit(event, performanceIds));
          await manager.query('DELETE FROM events WHERE id = $1', [id]);
          await beforeCommit();
          return { outcome: 'DELETED' };
        })
        .catch(rethrowAsDatabaseError),
    );
  }

  /** Creates the event; `audit` answers the row of the admin audit log, recorded in the same transaction. */
  create(fields: EventFields, audit: (event: EventEntity) => NewAdminAudit): Promise<EventEntity> {
    return translatingConstraintViolations(() =>
      this.dataSource.transaction(async (manager) => {
        const event = await manager.save(
          manager.create(EventEntity, { ...fields, description: fields.description ?? null }),
        );
        await recordAuditIn(manager, audit(event));
        return event;
      }),
    );
  }

  findById(id: number): Promise<EventEntity | null> {
    return this.events.findOneBy({ id });
  }

  /** The dates of one event, its canceled performances left out (none: nulls and 0). */
  async datesOf(id: number): Promise<EventDates> {
    const [row]: DatesRow[] = await this.dataSource.query(
      `SELECT min(starts_at) AS first_starts_at, max(starts_at) AS last_starts_at, count(*)::int AS performance_count
         FROM performances WHERE event_id = $1 AND status <> 'CANCELED'`,
      [id],
    );
    return toDates(row);
  }

  /**
   * One keyset page of events found by date and text, ordered by their first performance's start,
   * then id (an event's first start changes only when an admin changes its performances, so a walk
   * neither skips nor repeats an event the admin leaves alone). Text matches any of: the whole
   * words of `text` in title or venue (full-text, `simple` configuration), `text` as a substring
   * (LIKE), `text` as a misspelt word (pg_trgm word similarity ≥ WORD_SIMILARITY_THRESHOLD); all
   * compared folded by search_fold (NFKC, accents removed, lower case: `bjork` finds `Björk`), each
   * served by a GIN index of migration EventSearchUnaccent. Events without performances are never found;
   * canceled performances (status CANCELED) count as none: not in the range, dates or count.
   */
  search(search: EventSearch): Promise<(EventEntity & EventDates)[]> {
    return this.dataSource.transaction(async (manager) => {
      // Local to this transaction: the threshold of the `<%` operator, which the index serves. The
      // text folded as the indexes are (search_fold) in the same round trip: its LIKE pattern is
      // escaped after folding, which may make `％` a `%`.
      const [{ folded }]: { folded: string | null }[] = await manager.query(
        `SELECT set_config('pg_trgm.word_similarity_threshold', $1, true), search_fold($2::text) AS folded`,
        [String(WORD_SIMILARITY_THRESHOLD), search.text],
      );
      const rows: (DatesRow & { event_id: number })[] = await manager.query(
        `SELECT d.event_id, d.first_starts_at, d.last_starts_at, d.performance_count
           FROM events e
           JOIN LATERAL (
             SELECT e.id AS event_id, min(p.starts_at) AS first_starts_at, max(p.starts_at) AS last_starts_at,
                    count(*)::int AS performance_count
               FROM performances p WHERE p.event_id = e.id AND p.status <> 'CANCELED'
           ) d ON d.performance_count > 0
          WHERE d.last_starts_at >= $1
            AND ($2::timestamptz IS NULL OR d.first_starts_at <= $2)
            AND EXISTS (
              SELECT 1 FROM performances p
               WHERE p.event_id = e.id AND p.status <> 'CANCELED'
                 AND p.starts_at >= $1 AND ($2::timestamptz IS NULL OR p.starts_at <= $2)
            )
            AND ($3::text IS NULL
              OR to_tsvector('simple', search_fold(e.title || ' ' || e.venue)) @@ plainto_tsquery('simple', $3)
              OR search_fold(e.title || ' ' || e.venue) LIKE $4
              OR $3 <% search_fold(e.title || ' ' || e.venue))
            AND ($5::timestamptz IS NULL OR (d.first_starts_at, e.id) > ($5, $6::int))
          ORDER BY d.first_starts_at, e.id
          LIMIT $7`,
        [
          search.from,
          search.to,
          folded,
          folded === null ? null : `%${escapeLike(folded)}%`,
          search.after?.firstStartsAt ?? null,
          search.after?.id ?? 0,
          search.limit,
        ],
      );
      if (rows.length === 0) return [];
      const events = await manager.getRepository(EventEntity).findBy({ id: In(rows.map((row) => row.event_id)) });
      const byId = new Map(events.map((event) => [event.id, event]));
      // An event deleted between the two reads is left out: the page is a little short, never wrong.
      return rows.flatMap((row) => {
        const event = byId.get(row.event_id);
        return event ? [Object.assign(event, toDates(row))] : [];
      });
    });
  }

  /** Keyset page in id order: new events land at the end, so a walk never skips or repeats. */
  pageAfter(afterId: number, limit: number): Promise<EventEntity[]> {
    return this.events
      .createQueryBuilder('e')
      .where('e.id > :afterId', { afterId })
      .orderBy('e.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * Changes `fields` of the event under its row lock. `audit` gets the event as it was and as it is
   * now and answers the row of the admin audit log, recorded in the same transaction, or null for
   * none (nothing changed). Answers the changed event, null when there is no such event.
   *
   * A change of `timeZone` (another value than the stored one) also locks every performance of the
   * event FOR UPDATE, in id order (the lock its comps, seat blocks, lifecycle changes and cancel
   * take, and a rebuild of its live state waits for; the event row's lock keeps new performances
   * out), then runs `beforeZoneChange` with their ids, which may throw to change nothing (it closes
   * and checks their live state), then, should no purchase row of them exist (whatever its status),
   * saves; else answers `ZONE_FIXED` naming the first performance a purchase refers to, nothing
   * changed. `beforeCommit` runs after the save, as the transaction's last step, and may throw to
   * change nothing (the caller's closure to sales confirmed: SalesClosure.confirm).
   */
  update(
    id: number,
    fields: EventChanges,
    audit: (before: EventEntity, after: EventEntity) => NewAdminAudit | null,
    beforeZoneChange: (performanceIds: number[]) => Promise<void> = async () => undefined,
    beforeCommit: () => Promise<void> = async () => undefined,
  ): Promise<EventEntity | { outcome: 'ZONE_FIXED'; performanceId: number } | null> {
    return translatingConstraintViolations(() =>
      this.dataSource
        .transaction(async (manager) => {
          await boundLockWaits(manager);
          const event = await manager.findOne(EventEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
          if (!event) return null;
          if (fields.timeZone !== undefined && fields.timeZone !== event.timeZone) {
            const performances: { id: number }[] = await manager.query(
              'SELECT id FROM performances WHERE event_id = $1 ORDER BY id FOR UPDATE',
              [id],
            );
            const performanceIds = performances.map((row) => row.id);
            await beforeZoneChange(performanceIds);
            const performanceId = await firstWithPurchases(manager, performanceIds);
            if (performanceId !== null) return { outcome: 'ZONE_FIXED' as const, performanceId };
          }
          const before = { ...event };
          const saved = await manager.save(Object.assign(event, fields));
          const entry = audit(before, saved);
          if (entry) await recordAuditIn(manager, entry);
          await beforeCommit();
          return saved;
        })
        .catch(rethrowAsDatabaseError),
    );
  }
}

interface DatesRow {
  first_starts_at: Date | null;
  last_starts_at: Date | null;
  performance_count: number;
}

function toDates(row: DatesRow | undefined): EventDates {
  return {
    firstStartsAt: row?.first_starts_at ?? null,
    lastStartsAt: row?.last_starts_at ?? null,
    performanceCount: row?.performance_count ?? 0,
  };
}

/** `text` as a literal inside a LIKE pattern (default escape character: backslash). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
