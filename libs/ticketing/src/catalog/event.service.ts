import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { assertSameFilters, Clock, filterDigest, StoreUnavailableError } from '@app/core';
import {
  EventChanges,
  EventDates,
  EventEntity,
  EventFields,
  EventRepository,
  PerformanceRepository,
} from '@app/database';
import { auditValues, changedFields, operatorAudit } from '../audit/audit-details';
import { DomainError, InvalidInputError, NotFoundError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';
import { formatWallClock, toTimeZone } from '../date-time';
import { assertCurrency } from '../input';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SalesClosure } from '../seats/sales-closure';
import { SeatStateStore } from '../seats/seat-state.store';
import { CatalogCache } from './catalog-cache';
import { CatalogEvent, DatedEvent, Page, reviveDatedEvent } from './catalog.types';
import { decodeCursor, encodeCursor } from './cursor';

/** The audit actions of an event's creation, change and deletion (`admin_audit_log`, subject `event:<id>`). */
export const EVENT_CREATE_ACTION = 'event.create';
export const EVENT_UPDATE_ACTION = 'event.update';
export const EVENT_DELETE_ACTION = 'event.delete';

/** The fields of an event its audit rows tell. */
const EVENT_AUDIT_FIELDS = ['title', 'description', 'venue', 'currency', 'timeZone'] as const;

/**
 * Events of the catalog; reads come from the cache, writes invalidate it. Every write records a
 * row of the admin audit log, naming `operator`, in the transaction of its change.
 */
@Injectable()
export class EventService {
  constructor(
    private readonly events: EventRepository,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly cache: CatalogCache,
    @Inject(Env) private readonly env: Env,
    private readonly clock: Clock,
    private readonly performances: PerformanceRepository,
  ) {}

  /**
   * `currency` (ISO 4217) defaults to DEFAULT_CURRENCY; every price of the event is in it.
   * `timeZone` (an IANA name, kept in its canonical spelling) defaults to UTC. Throws
   * InvalidInputError for an unknown currency or time zone. Audit log: `event.create` with the
   * event's fields.
   */
  async createEvent(
    fields: Omit<EventFields, 'currency'> & { currency?: string },
    operator: Operator,
  ): Promise<CatalogEvent> {
    const currency = fields.currency ?? this.env.DEFAULT_CURRENCY;
    assertCurrency(currency);
    const timeZone = fields.timeZone === undefined ? DEFAULT_TIME_ZONE : toTimeZone(fields.timeZone);
    const event = await this.events.create({ ...fields, currency, timeZone }, (created) =>
      operatorAudit(operator, EVENT_CREATE_ACTION, `event:${created.id}`, {
        eventId: created.id,
        ...auditValues(created, EVENT_AUDIT_FIELDS),
      }),
    );
    await this.cache.invalidateAfterCommit();
    return toEvent(event);
  }

  /**
   * Changes the given fields; a new `timeZone` changes how every time of the event is shown, not
   * the instants, so it is taken only while no buyer was told a time: refused (409 TimeZoneFixed,
   * nothing changed) once any performance of the event has a sale, comp or box office sale (a
   * purchase, whatever its status: in PostgreSQL, or not written yet) or a live hold. Checked under
   * the performances' row locks (EventRepository.update) with each one's live state closed to sales
   * meanwhile (close-sales.lua, as a delete closes it), so a hold or purchase racing the change
   * either came first (the change is refused) or is refused (409 SalesClosed) until the change has
   * committed and the catalog caches were dropped, and then sees the new zone. The closure is a
   * lease (SALES_CLOSURE_LEASE_MS, SalesClosure) renewed while the change works: a change whose
   * process dies leaves sales closed for at most a lease, and one that lost its lease commits
   * nothing (StoreUnavailableError). A `timeZone` equal to
   * the stored one (in any spelling) is no change and always taken. Throws NotFoundError('event'),
   * InvalidInputError (an unknown time zone), DomainError 'conflict' (TimeZoneFixed),
   * StoreUnavailableError (Redis). Audit log: `event.update` with the fields whose values changed
   * (`changed`: each `{before, after}`); none when every given value was the stored one.
   */
  async updateEvent(id: number, fields: EventChanges, operator: Operator): Promise<CatalogEvent> {
    const changes = fields.timeZone === undefined ? fields : { ...fields, timeZone: toTimeZone(fields.timeZone) };
    // This change's own closure: reopening it late (after the row locks) leaves a closure a delete
    // took meanwhile in place.
    const closure = new SalesClosure(this.seatState, this.env.SALES_CLOSURE_LEASE_MS);
    try {
      const event = await this.events.update(
        id,
        changes,
        (before, after) => {
          const changed = changedFields(before, after, EVENT_AUDIT_FIELDS);
          if (Object.keys(changed).length === 0) return null;
          return operatorAudit(operator, EVENT_UPDATE_ACTION, `event:${id}`, { eventId: id, changed });
        },
        async (performanceIds) => {
          for (const performanceId of performanceIds) {
            // Not registered: no hold or sale can happen before the commit, as a rebuild of its live
            // state waits for the row lock this change holds; its purchases are in PostgreSQL.
            const atClose = await closure.close(performanceId, true);
            if (atClose === null) continue;
            if (atClose.sold + atClose.held + atClose.unwritten + atClose.parked > 0) {
              throw await this.timeZoneFixed(id, performanceId);
            }
          }
        },
        () => closure.confirm(),
      );
      if (!event) throw new NotFoundError('event');
      if ('outcome' in event) throw await this.timeZoneFixed(id, event.performanceId);
      await this.cache.invalidate();
      return toEvent(event);
    } finally {
      // After the caches were dropped: a hold from now on reads the event as changed.
      await closure.reopen();
    }
  }

  /**
   * 409 TimeZoneFixed: performance `performanceId` of event `eventId` has a purchase or a live hold,
   * so buyers were told its times in the event's zone; the message says how to correct a start.
   */
  private async timeZoneFixed(eventId: number, performanceId: number): Promise<DomainError> {
    const [event, performance] = await Promise.all([
      this.events.findById(eventId),
      this.performances.findById(performanceId),
    ]);
    const timeZone = event?.timeZone ?? DEFAULT_TIME_ZONE;
    const start = performance ? ` (its start: ${formatWallClock(performance.startsAt, timeZone)})` : '';
    return new DomainError(
      'conflict',
      'TimeZoneFixed',
      `timeZone cannot be changed: performance ${performanceId} of this event has tickets sold or held, and its ` +
        `buyers were told its times in ${timeZone}${start}. If a start was entered wrong, move that performance ` +
        `instead (PATCH /api/v1/performances/${performanceId} with startsAtLocal, the venue's wall clock, or ` +
        'startsAt): its buyers are told the new date',
      { performanceId, timeZone },
    );
  }

  /**
   * Refused (409 EventHasSales) while any of its performances has a sold seat (buyers hold
   * tickets for it) or any purchase, whatever its status (see PerformanceService.deletePerformance:
   * one not yet written to PostgreSQL, then one PostgreSQL holds). Each performance is first closed
   * to sales atomically with its seat state, so no purchase can land between the check and the
   * delete; what is read at closing is final. A refused delete opens them again. The closures are
   * leases, as a performance's delete takes them (PerformanceService.deletePerformance). Holds of a
   * deleted performance end with it. Throws NotFoundError('event'). Audit log: `event.delete` with
   * the event's fields and the ids of the performances deleted with it (`performanceIds`).
   */
  async deleteEvent(id: number, operator: Operator): Promise<void> {
    const closure = new SalesClosure(this.seatState, this.env.SALES_CLOSURE_LEASE_MS);
    let performanceIds: number[] = [];
    try {
      const deletion = await this.events.deleteWithPerformances(
        id,
        async (ids) => {
          performanceIds = ids;
          for (const performanceId of ids) {
            await this.rebuilder.ensure(performanceId);
            const atClose = await closure.close(performanceId);
            // Lost again since: what Redis held unwritten cannot be checked; the operator retries.
            if (atClose === null) {
              throw new StoreUnavailableError('redis', new Error(`performance ${performanceId} lost from Redis`));
            }
            if (atClose.sold > 0) {
              throw new DomainError('conflict', 'EventHasSales', 'event has sold seats and cannot be deleted', {
                performanceId,
              });
            }
            if (atClose.unwritten > 0 || atClose.parked > 0) throw eventHasPurchases(performanceId);
          }
        },
        (event, ids) =>
          operatorAudit(operator, EVENT_DELETE_ACTION, `event:${id}`, {
            eventId: id,
            ...auditValues(event, EVENT_AUDIT_FIELDS),
            performanceIds: ids,
          }),
        () => closure.confirm(true),
      );
      if (deletion.outcome === 'NOT_FOUND') throw new NotFoundError('event');
      if (deletion.outcome === 'HAS_PURCHASES') throw eventHasPurchases(deletion.performanceId);
    } catch (error) {
      await closure.reopen();
      throw error;
    }
    closure.stop();
    for (const performanceId of performanceIds) await this.seatState.removePerformance(performanceId);
    await this.cache.invalidate();
  }

  /** With its dates (first and last performance start, count). Throws NotFoundError('event'). */
  async getEvent(id: number): Promise<DatedEvent> {
    const event = await this.cache.getOrLoad(`event:${id}`, async () => {
      const row = await this.events.findById(id);
      return row ? { ...toEvent(row), ...(await this.events.datesOf(id)) } : null;
    });
    if (!event) throw new NotFoundError('event');
    return reviveDatedEvent(event);
  }

  /**
   * Events with a performance starting in [from, to] whose title or venue matches `q`, a keyset
   * page ordered by first performance start, then id (see EventRepository.search for how text
   * matches). `from` defaults to now (upcoming events), `to` to no end; `q` is trimmed, and empty
   * means any. Throws InvalidInputError (from after to, q longer than MAX_EVENT_SEARCH_LENGTH, a
   * bad cursor).
   */
  async searchEvents(query: EventQuery): Promise<Page<DatedEvent>> {
    if (query.from && query.to && query.from.getTime() > query.to.getTime()) {
      throw new InvalidInputError('from must not be after to');
    }
    const text = query.q?.trim() ? query.q.trim() : null;
    if (text !== null && [...text].length > MAX_EVENT_SEARCH_LENGTH) {
      throw new InvalidInputError(`q must be at most ${MAX_EVENT_SEARCH_LENGTH} characters`);
    }
    // The cursor carries the digest of the filters (`from` as asked: absent is "from now", each
    // page's own now), so a cursor followed with others is a 400 rather than another list's page.
    const digest = filterDigest([query.from?.getTime(), query.to?.getTime(), text]);
    const after = decodeCursor<{ s: number; i: number; f: string }>(query.cursor, {
      s: 'millis',
      i: 'int4',
      f: 'digest',
    });
    assertSameFilters(after?.f, digest);
    const now = this.clock.nowMs();
    const load = async (from: Date) => {
      const rows = await this.events.search({
        from,
        to: query.to ?? null,
        text,
        after: after ? { firstStartsAt: new Date(after.s), id: after.i } : null,
        limit: query.limit + 1,
      });
      const items = rows.slice(0, query.limit).map((row) => ({ ...toEvent(row), ...datesOf(row) }));
      const last = rows.length > query.limit ? rows[query.limit - 1] : undefined;
      return {
        items,
        nextCursor: last?.firstStartsAt
          ? encodeCursor({ s: last.firstStartsAt.getTime(), i: last.id, f: digest })
          : null,
      };
    };
    const key = (from: string) =>
      `events:${from}:${query.to?.getTime() ?? ''}:${query.cursor ?? ''}:${query.limit}:${text ?? ''}`;
    if (query.from) {
      const page = await this.cache.getOrLoad(key(String(query.from.getTime())), () => load(query.from as Date));
      return { items: page.items.map(reviveDatedEvent), nextCursor: page.nextCursor };
    }
    if (query.to) return load(new Date(now));
    // Upcoming (no from, no to): an event has a performance at or after now exactly when its last
    // one starts then, so one page loaded from the start of the minute serves the whole minute,
    // less the events whose last performance began since. Such a page may be short while
    // nextCursor is set; the cursor still continues where the loaded page ended.
    const minute = now - (now % 60_000);
    const page = await this.cache.getOrLoad(key(`upcoming-${minute}`), () => load(new Date(minute)));
    return {
      items: page.items
        .map(reviveDatedEvent)
        .filter((event) => event.lastStartsAt !== null && event.lastStartsAt.getTime() >= now),
      nextCursor: page.nextCursor,
    };
  }
}

/** 409 EventHasSales: a purchase of the event's performance `performanceId` exists, also a canceled one. */
function eventHasPurchases(performanceId: number): DomainError {
  return new DomainError('conflict', 'EventHasSales', 'event has purchases and cannot be deleted', { performanceId });
}

/** The time zone of an event created without one. */
export const DEFAULT_TIME_ZONE = 'UTC';

/** The longest text `GET /events?q=` takes, in characters. */
export const MAX_EVENT_SEARCH_LENGTH = 100;

/** What GET /events selects; see EventService.searchEvents. `limit`: 1–100 items. */
export interface EventQuery {
  from?: Date;
  to?: Date;
  q?: string;
  cursor?: string;
  limit: number;
}

function datesOf(dates: EventDates): EventDates {
  return {
    firstStartsAt: dates.firstStartsAt,
    lastStartsAt: dates.lastStartsAt,
    performanceCount: dates.performanceCount,
  };
}

function toEvent(event: EventEntity): CatalogEvent {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: event.venue,
    currency: event.currency,
    timeZone: event.timeZone,
    createdAt: event.createdAt,
    updatedAt: event.updatedAt,
  };
}
