import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { assertSameList, Clock, StoreUnavailableError } from '@app/core';
import {
  eventOfPerformance,
  EventRepository,
  EventTimeZoneChangedError,
  PerformanceLifecycleChanges,
  PerformanceRepository,
  PerformanceStatus,
  PresalesRepository,
  PricedPerformance,
} from '@app/database';
import { auditValues, changedFields, operatorAudit } from '../audit/audit-details';
import { DomainError, InvalidInputError, NotFoundError, PerformanceCanceledError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';
import { lifecycleOf, SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SalesClosure } from '../seats/sales-closure';
import { SeatStateStore } from '../seats/seat-state.store';
import { CheckInClearing } from '../tickets/check-in-clearing';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies, READ_ATTEMPTS, toPerformance } from './catalog-copies';
import { LiveSeatCounts, MapPoint, Page, Performance, revivePerformance, SectionInput } from './catalog.types';
import { decodeCursor, encodeCursor } from './cursor';
import { DEFAULT_FOCAL_POINT, generateLayout } from './seat-layout';
import { formatLocalDateTime, formatWallClock, toLocalDateTime } from '../date-time';
import { sectionNameKey } from './section-names';
import {
  checkInSettingsOf,
  CheckInWindow,
  checkInWindowOf,
  CheckInWindowSettings,
  checkInWindowSettings,
  MAX_CHECK_IN_WINDOW_MINUTES,
} from '../tickets/check-in-window';

export const MAX_SEATS_PER_PERFORMANCE = 100_000;
/** Buyers may cancel until this long before the start, unless the performance says otherwise. */
export const DEFAULT_CANCEL_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The audit actions of a performance's creation, change and deletion (`admin_audit_log`, subject
 * `performance:<id>`); its cancellation is PERFORMANCE_CANCEL_ACTION.
 */
export const PERFORMANCE_CREATE_ACTION = 'performance.create';
export const PERFORMANCE_UPDATE_ACTION = 'performance.update';
export const PERFORMANCE_DELETE_ACTION = 'performance.delete';

/**
 * The fields of a performance an admin may change (PerformanceChanges): what a PATCH must give one
 * of, and what its audit rows tell.
 */
export const PERFORMANCE_CHANGE_FIELDS = [
  'startsAt',
  'salesOpenAt',
  'salesCloseAt',
  'cancelUntil',
  'status',
  'noOrphanSeats',
  'maxTicketsPerBuyer',
  'checkInOpensBeforeMinutes',
  'checkInClosesAfterMinutes',
] as const;

/** What an admin may change of a performance; `null` clears salesCloseAt (= startsAt) or forbids cancel. */
export interface PerformanceChanges {
  startsAt?: Date;
  /** The new start on the venue's wall clock (toLocalDateTime), instead of `startsAt`. */
  startsAtLocal?: string;
  salesOpenAt?: Date;
  salesCloseAt?: Date | null;
  cancelUntil?: Date | null;
  status?: PerformanceStatus;
  noOrphanSeats?: boolean;
  /** Seats one buyer may have bought and hold together; null = no such limit. */
  maxTicketsPerBuyer?: number | null;
  /** The performance's own check-in window (0-10080 minutes); null = the global settings. */
  checkInOpensBeforeMinutes?: number | null;
  checkInClosesAfterMinutes?: number | null;
}

/** Performances of events: the rules of creating one, and reading them with their live counts. */
/** What createPerformance takes: the performance's times, settings and seating sections. */
export type NewPerformanceInput = {
  /** Exactly one of `startsAt` and `startsAtLocal` (the venue's wall clock, see toLocalDateTime). */
  startsAt?: Date;
  startsAtLocal?: string;
  salesOpenAt?: Date;
  salesCloseAt?: Date | null;
  cancelUntil?: Date | null;
  status?: PerformanceStatus;
  sections: SectionInput[];
  /** The stage's focal point on the seat map, map units; absent = (0, 0). */
  focalPoint?: MapPoint;
  /** Seat-id holds may not leave a single free seat; absent = false. */
  noOrphanSeats?: boolean;
  /** Seats one buyer may have bought and hold together (≥ 1); absent or null = no such limit. */
  maxTicketsPerBuyer?: number | null;
  /** Its own check-in window (0-10080 minutes each); absent or null = the global settings. */
  checkInOpensBeforeMinutes?: number | null;
  checkInClosesAfterMinutes?: number | null;
};

@Injectable()
export class PerformanceService {
  private readonly logger = new Logger(PerformanceService.name);

  constructor(
    private readonly events: EventRepository,
    private readonly performances: PerformanceRepository,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly cache: CatalogCache,
    private readonly copies: CatalogCopies,
    private readonly clock: Clock,
    private readonly checkIns: CheckInClearing,
    @Inject(Env) private readonly env: Env,
    private readonly presales: PresalesRepository,
  ) {}

  /** The global check-in window (CHECK_IN_OPENS_BEFORE_MINUTES, CHECK_IN_CLOSES_AFTER_MINUTES). */
  private get checkInGlobal(): CheckInWindowSettings {
    return checkInWindowSettings(this.env);
  }

  /**
   * The check-in window of `performance` as the door applies it now: doors open (`opensAt`) and
   * check-in closes (`closesAt`) around its `startsAt`, by its own settings where it has them and
   * the global ones otherwise. Pure: no I/O.
   */
  checkInWindow(
    performance: Pick<Performance, 'startsAt' | 'checkInOpensBeforeMinutes' | 'checkInClosesAfterMinutes'>,
  ): CheckInWindow {
    return checkInWindowOf(performance.startsAt, checkInSettingsOf(performance, this.checkInGlobal));
  }

  /**
   * Creates the performance with all its seats and registers their live state in Redis.
   * The lifecycle fields follow the rules of updatePerformance (assertLifecycle): `salesOpenAt`
   * defaults to now, `salesCloseAt` to null (= startsAt), `cancelUntil` to 24 h before `startsAt`
   * (null = no self-service cancel; a default already past is a 400, see defaultCancelUntil),
   * `status` to ON_SALE. Throws NotFoundError('event'),
   * DomainError 'invalid' (InvalidSalesWindow: the times out of order; DuplicateSection;
   * TooManySeats: more than MAX_SEATS_PER_PERFORMANCE; InvalidLayout: see assertSeatLayout). Seats
   * get their map place and quality from generateLayout. Audit log: `performance.create` naming
   * `operator`, with the performance's fields, its sections (prices in minor units of `currency`)
   * and its seat count, in the transaction that creates it.
   */
  async createPerformance(eventId: number, input: NewPerformanceInput, operator: Operator): Promise<Performance> {
    try {
      return await this.createOnce(eventId, input, operator);
    } catch (error) {
      // The event's time zone changed after it was read: work the times out again, once (a second
      // change within the same moments is an operator's race: answered as the store's error).
      if (!(error instanceof EventTimeZoneChangedError)) throw error;
      return this.createOnce(eventId, input, operator);
    }
  }

  /** One try of createPerformance on the event as read now (EventTimeZoneChangedError: read again). */
  private async createOnce(eventId: number, input: NewPerformanceInput, operator: Operator): Promise<Performance> {
    const event = await this.events.findById(eventId);
    if (!event) throw new NotFoundError('event');
    const startsAt = startOf(input, event.timeZone, true);
    const salesOpenAt = input.salesOpenAt ?? this.clock.now();
    // Without salesOpenAt, sales open now: a startsAt already past is what is wrong, so say that.
    if (input.salesOpenAt === undefined && startsAt.getTime() < salesOpenAt.getTime()) {
      throw new DomainError(
        'invalid',
        'InvalidSalesWindow',
        'startsAt must be in the future (sales open now when salesOpenAt is not given)',
      );
    }
    assertLayout(startsAt, salesOpenAt, input.sections);
    const focalPoint = input.focalPoint ?? DEFAULT_FOCAL_POINT;
    const geometries = generateLayout(input.sections, focalPoint);
    const salesCloseAt = input.salesCloseAt ?? null;
    const cancelUntil =
      input.cancelUntil === undefined
        ? defaultCancelUntil(startsAt, this.clock.now(), event.timeZone)
        : input.cancelUntil;
    assertLifecycle({ startsAt, salesOpenAt, salesCloseAt, cancelUntil });
    assertTicketLimit(input.maxTicketsPerBuyer);
    assertCheckInWindow(input, this.checkInGlobal);
    const created = await this.performances.createWithSeats(
      {
        eventId,
        timeZone: event.timeZone,
        startsAt,
        salesOpenAt,
        salesCloseAt,
        cancelUntil,
        status: input.status,
        sections: input.sections.map((section, i) => ({
          name: section.name,
          grade: section.grade,
          price: section.price,
          rows: section.rows,
          seatsPerRow: section.seatsPerRow,
          geometry: geometries[i],
        })),
        focalPoint,
        noOrphanSeats: input.noOrphanSeats,
        maxTicketsPerBuyer: input.maxTicketsPerBuyer,
        checkInOpensBeforeMinutes: input.checkInOpensBeforeMinutes,
        checkInClosesAfterMinutes: input.checkInClosesAfterMinutes,
      },
      (row) =>
        operatorAudit(operator, PERFORMANCE_CREATE_ACTION, `performance:${row.id}`, {
          performanceId: row.id,
          eventId,
          ...auditValues(row, PERFORMANCE_CHANGE_FIELDS),
          totalSeats: row.totalSeats,
          currency: event.currency.trim(),
          sections: input.sections.map(({ name, grade, price, rows, seatsPerRow }) => ({
            name,
            grade,
            price,
            rows,
            seatsPerRow,
          })),
        }),
    );
    const performance = Object.assign(created, eventOfPerformance(event));
    // Its event may be deleted after the insert committed: before the seat state was written (the
    // delete removed what existed then), or while it was (the seats gone under the registration,
    // which then fails). Either way leave no live state of a deleted performance, and say so.
    const registered = await this.rebuilder.register(performance).then(
      () => null,
      (error: unknown) => error,
    );
    if (!(await this.performances.findById(performance.id))) {
      await this.seatState.removePerformance(performance.id);
      throw new NotFoundError('event');
    }
    // PostgreSQL has the performance: a 503 now would have the admin create it a second time. When
    // Redis cannot take its live state, the first request that needs it rebuilds it
    // (SeatStateRebuilder.ensure), as after a Redis that lost its data.
    if (registered instanceof StoreUnavailableError) {
      this.logger.warn(
        `performance ${performance.id} created; its live state will be registered at first use (Redis cannot answer)`,
      );
    } else if (registered !== null) {
      throw registered;
    }
    await this.cache.invalidateAfterCommit();
    return toPerformance(performance);
  }

  /**
   * The performance with its live counts: one Redis round trip when this process holds the
   * performance (the catalog version, the registration and the counts together; see LocalCatalog).
   * `performance` is this process's copy, the same object for every read until the catalog
   * changes (callers may key caches on it; never change it). Throws NotFoundError('performance').
   */
  async getPerformance(id: number): Promise<{ performance: Performance; counts: LiveSeatCounts }> {
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.copies.version();
      const performance = await this.copies.performance(version, id);
      const [current, counts] = await Promise.all([this.copies.currentVersion(), this.seatState.registeredCounts(id)]);
      if (current !== version && attempt < READ_ATTEMPTS) {
        this.copies.observe(current);
        continue;
      }
      if (counts === null) {
        if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
        await this.rebuilder.ensure(id);
        continue;
      }
      return { performance, counts };
    }
  }

  /**
   * Changes a performance's times, sales status and rules (noOrphanSeats, maxTicketsPerBuyer).
   * PostgreSQL and the live state the scripts read change under the row lock: once this answers,
   * no hold or purchase on any replica passes a PAUSED or CLOSED status or a salesCloseAt in the
   * past, cancels follow the new cancelUntil, and holds the new ticket limit per buyer (on a
   * performance registered by an earlier version, its buyers' counts are completed from
   * PostgreSQL first: SeatStateRebuilder.countTicketsBought).
   * A canceled performance changes no more (terminal). Throws NotFoundError('performance'),
   * DomainError 'invalid' (InvalidSalesWindow), PerformanceCanceledError (409). Audit log:
   * `performance.update` naming `operator`, with the fields whose values changed (`changed`: each
   * `{before, after}`), in the transaction of the change; none when every given value was the
   * stored one. A move of `startsAt` clears, in the same transaction, the check-ins made before the
   * new start's doors open (CheckInClearing: each ticket admits once more, its purchase may be
   * canceled again), counted in the audit row's `checkInsCleared`.
   */
  async updatePerformance(id: number, requested: PerformanceChanges, operator: Operator): Promise<Performance> {
    const { startsAtLocal, ...given } = requested;
    const changes = Object.fromEntries(
      Object.entries(given).filter(([, value]) => value !== undefined),
    ) as PerformanceChanges;
    if (startsAtLocal !== undefined && changes.startsAt !== undefined) throw new InvalidInputError(BOTH_STARTS);
    await this.rebuilder.ensure(id);
    let liveStateWritten = false;
    const updated = await this.performances
      .updateLifecycle(
        id,
        (row) => {
          if (row.status === 'CANCELED') throw new PerformanceCanceledError(id);
          // On the venue's clock as the row locked it: its event's zone cannot change meanwhile.
          if (startsAtLocal !== undefined) changes.startsAt = startOf({ startsAtLocal }, row.timeZone, false);
          assertMovedToFuture(row.startsAt, changes.startsAt, this.clock.now());
          const next = { ...pickLifecycle(row), ...changes };
          const kept = new Set(
            (Object.keys(pickLifecycle(row)) as (keyof LifecycleTimes)[]).filter((field) => !(field in changes)),
          );
          assertLifecycle(next, kept);
          assertTicketLimit(changes.maxTicketsPerBuyer);
          assertCheckInWindow(
            {
              checkInOpensBeforeMinutes:
                'checkInOpensBeforeMinutes' in changes
                  ? changes.checkInOpensBeforeMinutes
                  : row.checkInOpensBeforeMinutes,
              checkInClosesAfterMinutes:
                'checkInClosesAfterMinutes' in changes
                  ? changes.checkInClosesAfterMinutes
                  : row.checkInClosesAfterMinutes,
            },
            this.checkInGlobal,
          );
          return changes as PerformanceLifecycleChanges;
        },
        async (row) => {
          // Counted before the limit is in force: no hold is checked against a count lacking older purchases.
          if (changes.maxTicketsPerBuyer != null) await this.rebuilder.countTicketsBought(id);
          liveStateWritten = true;
          await this.seatState.setLifecycle(id, row.salesOpenAt, lifecycleOf(row));
        },
        (before, after, checkInsCleared) => {
          const changed = changedFields(before, after, PERFORMANCE_CHANGE_FIELDS);
          if (Object.keys(changed).length === 0) return null;
          return operatorAudit(operator, PERFORMANCE_UPDATE_ACTION, `performance:${id}`, {
            performanceId: id,
            eventId: after.eventId,
            changed,
            ...(checkInsCleared === null ? {} : { checkInsCleared }),
          });
        },
        // A check-in made before the new start's doors open was for the old time: cleared, so the
        // ticket admits once at the new time. One inside the new window (a start corrected by a few
        // minutes while people are inside) stands.
        (manager, after) => this.checkIns.clearBefore(manager, id, this.checkInWindow(after).opensAt),
      )
      .catch(async (error: unknown) => {
        // The transaction failed after Redis took the change (its COMMIT refused or cut off): the
        // scripts must not sell by a change PostgreSQL does not have (a resume answered 500 that
        // sells while every read says PAUSED), nor refuse by one.
        if (liveStateWritten) await this.restoreLifecycle(id);
        throw error;
      });
    if (!updated) throw new NotFoundError('performance');
    await this.cache.invalidate();
    return toPerformance(updated);
  }

  /**
   * Writes the lifecycle the performance has in PostgreSQL into its live state in Redis, under the
   * row's share lock (so after any change under way committed, and before the next one writes its
   * own): what updatePerformance does when its transaction failed after its Redis write. A COMMIT
   * whose outcome was unknown (the connection cut while committing) is read as it ended. When
   * PostgreSQL cannot be read either, the live state keeps the failed change until the next
   * lifecycle PATCH (whose retry writes it whole, also when it changes nothing) or a rebuild;
   * logged as an error naming the performance. Never throws.
   */
  private async restoreLifecycle(id: number): Promise<void> {
    try {
      await this.performances.whileRowShared(id, async (manager) => {
        const row = await this.performances.findById(id, manager);
        if (row) await this.seatState.setLifecycle(id, row.salesOpenAt, lifecycleOf(row));
      });
    } catch (error) {
      this.logger.error(
        `performance ${id}: a lifecycle change failed after its Redis write and PostgreSQL's lifecycle could not be written back (${String(error)}): PATCH the performance again`,
      );
    }
  }

  /**
   * Deletes a performance no purchase ever referred to: closed to sales atomically with its seat
   * state first (as deleting an event does), so no purchase lands between the check and the
   * delete; what is read at closing is final. Refused with 409 PerformanceHasSales while a seat is
   * sold, or while any purchase of it exists, whatever its status: one not yet written to
   * PostgreSQL (in its purchase stream at closing), then one PostgreSQL holds. A cancel or refund
   * racing the delete needs a purchase, which is in one of the two. A refused delete opens sales
   * again. The closure is a lease (SALES_CLOSURE_LEASE_MS, SalesClosure) renewed while the delete
   * works, and made final right before its commit: a delete whose process dies leaves sales closed
   * for at most a lease, one that lost its lease commits nothing (StoreUnavailableError, 503). Its
   * holds end with it. Throws NotFoundError('performance'). Audit log:
   * `performance.delete` naming `operator`, with the fields the performance had, in the delete's
   * transaction.
   */
  async deletePerformance(id: number, operator: Operator): Promise<void> {
    // Before the row lock: a rebuild reads under the row's share lock (SeatStateRebuilder).
    await this.rebuilder.ensure(id);
    // This delete's own closure: a time zone change that closed before it and reopens late
    // reopens only its own, so sales stay closed until the keys are removed.
    const closure = new SalesClosure(this.seatState, this.env.SALES_CLOSURE_LEASE_MS);
    try {
      const deletion = await this.performances.deleteWithSeats(
        id,
        async () => {
          const atClose = await closure.close(id);
          // Lost again since: what Redis held unwritten cannot be checked; the operator retries.
          if (atClose === null)
            throw new StoreUnavailableError('redis', new Error(`performance ${id} lost from Redis`));
          if ((atClose?.sold ?? 0) > 0) {
            throw new DomainError(
              'conflict',
              'PerformanceHasSales',
              'performance has sold seats and cannot be deleted',
              {
                performanceId: id,
              },
            );
          }
          if ((atClose?.unwritten ?? 0) > 0 || (atClose?.parked ?? 0) > 0) throw performanceHasPurchases(id);
        },
        (row) =>
          operatorAudit(operator, PERFORMANCE_DELETE_ACTION, `performance:${id}`, {
            performanceId: id,
            eventId: row.eventId,
            ...auditValues(row, PERFORMANCE_CHANGE_FIELDS),
            totalSeats: row.totalSeats,
          }),
        () => closure.confirm(true),
      );
      if (deletion === 'NOT_FOUND') throw new NotFoundError('performance');
      if (deletion === 'HAS_PURCHASES') throw performanceHasPurchases(id);
    } catch (error) {
      await closure.reopen();
      // A purchase row written after the check (none can be: see above) meets the foreign key.
      if (error instanceof DomainError && error.kind === 'conflict' && error.code !== 'PerformanceHasSales') {
        throw performanceHasPurchases(id);
      }
      throw error;
    }
    closure.stop();
    await this.seatState.removePerformance(id);
    await this.cache.invalidate();
  }

  /**
   * The event's performances by start time, keyset-paginated (a cursor of another event's list is
   * refused). Throws NotFoundError('event'), InvalidInputError (cursor).
   */
  async listPerformances(eventId: number, cursor: string | undefined, limit: number): Promise<Page<Performance>> {
    const after = decodeCursor<{ s: string; i: number; o: number }>(cursor, { s: 'date', i: 'int4', o: 'int4' });
    assertSameList(after?.o, eventId, 'event');
    const page = await this.cache.getOrLoad(`event:${eventId}:performances:${cursor ?? ''}:${limit}`, async () => {
      if (!(await this.events.findById(eventId))) return null;
      const rows = await this.performances.pageOfEvent(
        eventId,
        after ? { startsAt: new Date(after.s), id: after.i } : null,
        limit + 1,
      );
      const kept = rows.slice(0, limit);
      const presales = await this.presales.listOf(kept.map((row) => row.id));
      const items = kept.map((row) => toPerformance(row, presales.get(row.id) ?? []));
      const last = items[items.length - 1];
      return {
        items,
        nextCursor:
          rows.length > limit && last ? encodeCursor({ s: last.startsAt.toISOString(), i: last.id, o: eventId }) : null,
      };
    });
    if (!page) throw new NotFoundError('event');
    return { items: page.items.map(revivePerformance), nextCursor: page.nextCursor };
  }
}

const BOTH_STARTS = "give one of startsAt and startsAtLocal (the venue's wall clock), not both";

/**
 * The start a request gives: `startsAt`, or `startsAtLocal` resolved on the venue's wall clock
 * (`timeZone`, see toLocalDateTime). `required`: at creation one of the two must be given. Throws
 * InvalidInputError (both, neither when required, a local time that does not exist or exists twice).
 */
function startOf(input: { startsAt?: Date; startsAtLocal?: string }, timeZone: string, required: true): Date;
function startOf(
  input: { startsAt?: Date; startsAtLocal?: string },
  timeZone: string,
  required: false,
): Date | undefined;
function startOf(
  input: { startsAt?: Date; startsAtLocal?: string },
  timeZone: string,
  required: boolean,
): Date | undefined {
  if (input.startsAt !== undefined && input.startsAtLocal !== undefined) throw new InvalidInputError(BOTH_STARTS);
  if (input.startsAtLocal !== undefined)
    return toLocalDateTime(input.startsAtLocal, timeZone, 'startsAtLocal', 'startsAt');
  if (input.startsAt === undefined && required) throw new InvalidInputError('startsAt or startsAtLocal is required');
  return input.startsAt;
}

/** 409 PerformanceHasSales: a purchase of the performance exists, also a canceled one. */
function performanceHasPurchases(performanceId: number): DomainError {
  return new DomainError('conflict', 'PerformanceHasSales', 'performance has purchases and cannot be deleted', {
    performanceId,
  });
}

/**
 * The cancelUntil a performance gets when its creation gives none: DEFAULT_CANCEL_WINDOW_MS before
 * `startsAt`. When that has passed already (`now`: a performance created for today or tomorrow),
 * buyers could never cancel, and a default would hide it: a 400 asking for cancelUntil explicitly
 * (a time until which buyers may cancel, or null for none), the default told on the venue's wall
 * clock (`timeZone`). Throws DomainError 'invalid' (InvalidSalesWindow).
 */
export function defaultCancelUntil(startsAt: Date, now: Date, timeZone: string): Date {
  const cancelUntil = new Date(startsAt.getTime() - DEFAULT_CANCEL_WINDOW_MS);
  if (cancelUntil.getTime() > now.getTime()) return cancelUntil;
  throw new DomainError(
    'invalid',
    'InvalidSalesWindow',
    `cancelUntil must be given for a performance starting within ${DEFAULT_CANCEL_WINDOW_MS / 3_600_000} h: ` +
      `its default, ${DEFAULT_CANCEL_WINDOW_MS / 3_600_000} h before startsAt (${formatWallClock(cancelUntil, timeZone)}), ` +
      'has passed, so buyers could never cancel; give cancelUntil a time before startsAt until which buyers may ' +
      'cancel, or null for no self-service cancel',
    { defaultCancelUntil: formatLocalDateTime(cancelUntil, timeZone), timeZone },
  );
}

/** The rules of a performance's sales window and layout; throws DomainError 'invalid'. */
export function assertLayout(startsAt: Date, salesOpenAt: Date, sections: SectionInput[]): void {
  if (salesOpenAt.getTime() > startsAt.getTime()) {
    throw new DomainError('invalid', 'InvalidSalesWindow', 'salesOpenAt must not be after startsAt');
  }
  // Compared as a reader would tell them apart, from any entry point (the seed CLI does not go
  // through the API's normalisation), as every lookup by name compares them (sectionNameKey).
  const names = sections.map((s) => sectionNameKey(s.name));
  if (new Set(names).size !== names.length) {
    throw new DomainError('invalid', 'DuplicateSection', 'section names must be unique within a performance');
  }
  const total = sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
  if (total > MAX_SEATS_PER_PERFORMANCE) {
    throw new DomainError('invalid', 'TooManySeats', `a performance has at most ${MAX_SEATS_PER_PERFORMANCE} seats`);
  }
}

interface LifecycleTimes {
  startsAt: Date;
  salesOpenAt: Date;
  salesCloseAt: Date | null;
  cancelUntil: Date | null;
}

/** Most seats a ticket limit per buyer may name: a performance's seats at most. */
export const MAX_TICKETS_PER_BUYER = MAX_SEATS_PER_PERFORMANCE;

/**
 * A ticket limit per buyer is an integer from 1 to MAX_TICKETS_PER_BUYER seats, or null/absent
 * (none). Throws InvalidInputError.
 */
function assertTicketLimit(limit: number | null | undefined): void {
  if (limit == null) return;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TICKETS_PER_BUYER) {
    throw new InvalidInputError(`maxTicketsPerBuyer must be an integer from 1 to ${MAX_TICKETS_PER_BUYER}, or null`, {
      maxTicketsPerBuyer: limit,
    });
  }
}

/**
 * A performance's own check-in window: each of its two durations an integer of 0 to
 * MAX_CHECK_IN_WINDOW_MINUTES minutes (doors opening after the start is a negative "before"), or
 * null/absent (the global setting, `global`); and the window they give with the global settings
 * in place of null not empty (0 before and 0 after: doors would open as check-in closes, and no
 * ticket could ever be checked in). `window`: the values the performance will have (on a PATCH,
 * the unchanged ones as stored). Throws InvalidInputError.
 */
function assertCheckInWindow(
  window: {
    checkInOpensBeforeMinutes?: number | null;
    checkInClosesAfterMinutes?: number | null;
  },
  global: CheckInWindowSettings,
): void {
  for (const field of ['checkInOpensBeforeMinutes', 'checkInClosesAfterMinutes'] as const) {
    const minutes = window[field];
    if (minutes == null) continue;
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > MAX_CHECK_IN_WINDOW_MINUTES) {
      throw new InvalidInputError(
        `${field} must be an integer from 0 to ${MAX_CHECK_IN_WINDOW_MINUTES} (minutes), or null for the global setting`,
        { [field]: minutes },
      );
    }
  }
  const effective = checkInSettingsOf(window, global);
  if (effective.opensBeforeMinutes === 0 && effective.closesAfterMinutes === 0) {
    throw new InvalidInputError(
      'empty check-in window: doors would open at the start and check-in close at the start, so no ticket could be ' +
        'checked in; give checkInOpensBeforeMinutes or checkInClosesAfterMinutes at least 1 ' +
        '(null takes the global setting)',
      {
        checkInOpensBeforeMinutes: window.checkInOpensBeforeMinutes ?? null,
        checkInClosesAfterMinutes: window.checkInClosesAfterMinutes ?? null,
      },
    );
  }
}

function pickLifecycle(row: PricedPerformance): LifecycleTimes {
  return {
    startsAt: row.startsAt,
    salesOpenAt: row.salesOpenAt,
    salesCloseAt: row.salesCloseAt,
    cancelUntil: row.cancelUntil,
  };
}

/**
 * A performance moves only to a start still ahead: its buyers are told the new date
 * (`purchase.rescheduled`), and a show moved into the past would be announced for a time that has
 * gone. `startsAt` the same as `current` (a client sending every field back) is no move, whenever
 * it is. Throws DomainError 'invalid' (InvalidSalesWindow).
 */
export function assertMovedToFuture(current: Date, startsAt: Date | undefined, now: Date): void {
  if (!startsAt || startsAt.getTime() === current.getTime() || startsAt.getTime() > now.getTime()) return;
  throw new DomainError(
    'invalid',
    'InvalidSalesWindow',
    `startsAt must be in the future: a performance is not moved to a time already past (it is ${now.toISOString()})`,
  );
}

/**
 * The order of a performance's times: salesOpenAt < salesCloseAt ≤ startsAt (salesCloseAt null =
 * startsAt, then salesOpenAt ≤ startsAt as at creation) and cancelUntil ≤ startsAt (buyers may not
 * cancel after the show began). `kept`: on a change, the fields it leaves as they were; a refusal
 * naming one says its value and to give it in the same request (moving startsAt earlier than a
 * cancelUntil set at creation, say). Throws DomainError 'invalid' (InvalidSalesWindow).
 */
export function assertLifecycle(times: LifecycleTimes, kept: ReadonlySet<keyof LifecycleTimes> = new Set()): void {
  // `field`: the time the message names first, the one to move.
  const invalid = (field: keyof LifecycleTimes, message: string) => {
    const value = times[field];
    const hint =
      kept.has(field) && value instanceof Date
        ? ` (${field} is ${value.toISOString()}, unchanged by this request: give a new ${field} in the same request)`
        : '';
    return new DomainError('invalid', 'InvalidSalesWindow', message + hint);
  };
  const starts = times.startsAt.getTime();
  if (times.salesOpenAt.getTime() > starts) throw invalid('salesOpenAt', 'salesOpenAt must not be after startsAt');
  if (times.salesCloseAt) {
    if (times.salesCloseAt.getTime() <= times.salesOpenAt.getTime()) {
      throw invalid('salesCloseAt', 'salesCloseAt must be after salesOpenAt');
    }
    if (times.salesCloseAt.getTime() > starts) throw invalid('salesCloseAt', 'salesCloseAt must not be after startsAt');
  }
  if (times.cancelUntil && times.cancelUntil.getTime() > starts) {
    throw invalid('cancelUntil', 'cancelUntil must not be after startsAt');
  }
}
