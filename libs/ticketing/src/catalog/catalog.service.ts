import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import {
  EventChanges,
  EventEntity,
  EventFields,
  EventRepository,
  PerformanceRepository,
  PricedPerformance,
  PurchaseRepository,
  SeatRow,
} from '@app/database';
import { DomainError, NotFoundError } from '../errors';
import { assertCurrency } from '../input';
import { CatalogCache } from './catalog-cache';
import { SeatCounts, SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { EventView, Page, PerformanceView, SeatListing, SeatPage, SectionInput } from './catalog.types';
import { LocalCatalog } from './local-catalog';
import { decodeCursor, encodeCursor } from './cursor';

type LiveCounts = Omit<SeatCounts, 'total'>;

/** Seats per cached block; also the largest page a client may ask for. */
export const SEAT_BLOCK_SIZE = 100;
/** A filtered seat page looks at no more than this many seats, then returns what it found. */
const SEAT_SCAN_BUDGET = 20 * SEAT_BLOCK_SIZE;
/** Reads that met another catalog version than their copies' try again, this many times in all. */
const READ_ATTEMPTS = 3;
export const MAX_SEATS_PER_PERFORMANCE = 100_000;

/** The catalog: events, performances and seats; reads come from the cache, writes invalidate it. */
@Injectable()
export class CatalogService {
  private readonly logger = new Logger(CatalogService.name);

  constructor(
    private readonly events: EventRepository,
    private readonly performances: PerformanceRepository,
    private readonly purchases: PurchaseRepository,
    private readonly seatState: SeatStateStore,
    private readonly cache: CatalogCache,
    private readonly local: LocalCatalog,
    @Inject(Env) private readonly env: Env,
  ) {}

  /** `currency` (ISO 4217) defaults to DEFAULT_CURRENCY; every price of the event is in it. */
  async createEvent(fields: Omit<EventFields, 'currency'> & { currency?: string }): Promise<EventView> {
    const currency = fields.currency ?? this.env.DEFAULT_CURRENCY;
    assertCurrency(currency);
    const event = await this.events.create({ ...fields, currency });
    await this.cache.invalidate();
    return toEventView(event);
  }

  async updateEvent(id: number, fields: EventChanges): Promise<EventView> {
    const event = await this.events.update(id, fields);
    if (!event) throw new NotFoundError('event');
    await this.cache.invalidate();
    return toEventView(event);
  }

  /**
   * Refused (409 EventHasSales) while any of its performances has a sold seat: buyers hold
   * tickets for it. Each performance is first closed to sales atomically with its seat state, so
   * no purchase can land between the check and the delete; the counts read at closing are final.
   * A refused delete opens them again. Holds of a deleted performance end with it.
   */
  async deleteEvent(id: number): Promise<void> {
    const closed: number[] = [];
    let performanceIds: number[] = [];
    try {
      const deleted = await this.events.deleteWithPerformances(id, async (ids) => {
        performanceIds = ids;
        for (const performanceId of ids) {
          await this.ensureSeatState(performanceId);
          const atClose = await this.seatState.closeSales(performanceId);
          if (atClose) closed.push(performanceId);
          if ((atClose?.sold ?? 0) > 0) {
            throw new DomainError('conflict', 'EventHasSales', 'event has sold seats and cannot be deleted', {
              performanceId,
            });
          }
        }
      });
      if (!deleted) throw new NotFoundError('event');
    } catch (error) {
      for (const performanceId of closed) await this.seatState.reopenSales(performanceId);
      throw error;
    }
    for (const performanceId of performanceIds) await this.seatState.removePerformance(performanceId);
    await this.cache.invalidate();
  }

  getEvent(id: number): Promise<EventView> {
    return this.cache
      .getOrLoad(`event:${id}`, async () => {
        const event = await this.events.findById(id);
        return event ? toEventView(event) : null;
      })
      .then((event) => event ?? Promise.reject(new NotFoundError('event')));
  }

  listEvents(cursor: string | undefined, limit: number): Promise<Page<EventView>> {
    const after = decodeCursor<{ i: number }>(cursor, { i: 'int4' });
    return this.cache.getOrLoad(`events:${after?.i ?? 0}:${limit}`, async () => {
      const rows = await this.events.pageAfter(after?.i ?? 0, limit + 1);
      return pageOf(rows.slice(0, limit).map(toEventView), rows.length > limit, (last) => ({ i: last.id }));
    });
  }

  async createPerformance(
    eventId: number,
    input: { startsAt: Date; salesOpenAt?: Date; sections: SectionInput[] },
  ): Promise<PerformanceView> {
    const event = await this.events.findById(eventId);
    if (!event) throw new NotFoundError('event');
    const salesOpenAt = input.salesOpenAt ?? new Date();
    if (salesOpenAt.getTime() > input.startsAt.getTime()) {
      throw new DomainError('invalid', 'InvalidSalesWindow', 'salesOpenAt must not be after startsAt');
    }
    const names = input.sections.map((s) => s.name);
    if (new Set(names).size !== names.length) {
      throw new DomainError('invalid', 'DuplicateSection', 'section names must be unique within a performance');
    }
    const total = input.sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
    if (total > MAX_SEATS_PER_PERFORMANCE) {
      throw new DomainError('invalid', 'TooManySeats', `a performance has at most ${MAX_SEATS_PER_PERFORMANCE} seats`);
    }
    const created = await this.performances.createWithSeats({
      eventId,
      startsAt: input.startsAt,
      salesOpenAt,
      sections: input.sections,
    });
    const performance = Object.assign(created, { currency: event.currency });
    await this.registerSeatState(performance);
    // Its event may have been deleted after the insert committed and before the seat state was
    // written (the delete removed what existed then): leave no live state of a deleted performance.
    if (!(await this.performances.findById(performance.id))) {
      await this.seatState.removePerformance(performance.id);
      throw new NotFoundError('event');
    }
    await this.cache.invalidate();
    return toPerformanceView(performance);
  }

  /**
   * The performance with its live counts: one Redis round trip when this process holds the
   * performance (the catalog version, the registration and the counts together; see LocalCatalog).
   */
  async getPerformance(id: number): Promise<PerformanceView & LiveCounts> {
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.localVersion();
      const performance = await this.localPerformance(version, id);
      const [current, counts] = await Promise.all([this.cache.version(), this.seatState.registeredCounts(id)]);
      if (current !== version && attempt < READ_ATTEMPTS) {
        this.local.observe(current);
        continue;
      }
      if (counts === null) {
        if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
        await this.ensureSeatState(id);
        continue;
      }
      return { ...performance, available: counts.available, held: counts.held, sold: counts.sold };
    }
  }

  listPerformances(eventId: number, cursor: string | undefined, limit: number): Promise<Page<PerformanceView>> {
    const after = decodeCursor<{ s: string; i: number }>(cursor, { s: 'date', i: 'int4' });
    return this.cache
      .getOrLoad(`event:${eventId}:performances:${cursor ?? ''}:${limit}`, async () => {
        if (!(await this.events.findById(eventId))) return null;
        const rows = await this.performances.pageOfEvent(
          eventId,
          after ? { startsAt: new Date(after.s), id: after.i } : null,
          limit + 1,
        );
        return pageOf(rows.slice(0, limit).map(toPerformanceView), rows.length > limit, (last) => ({
          s: last.startsAt,
          i: last.id,
        }));
      })
      .then((page) => page ?? Promise.reject(new NotFoundError('event')));
  }

  /**
   * A page of seats in layout order, static data from cached blocks with the live status from
   * Redis laid over it, so a page never shows a held or sold seat as available. With a status
   * filter a page may hold fewer than `limit` seats while `nextCursor` is still set.
   *
   * When this process holds the performance and its blocks (LocalCatalog), a page is one Redis
   * round trip: the catalog version and the seats' status letters together (the holders' expiry
   * in a second, small one when some seats are marked held). A filtered page
   * reads the statuses of 100, 200, 400, … seats per round trip until the page is full or
   * SEAT_SCAN_BUDGET seats were looked at (at most 5 round trips).
   */
  async listSeats(
    performanceId: number,
    options: { status?: SeatStatus; cursor?: string; limit: number },
  ): Promise<SeatPage> {
    const after = decodeCursor<{ p: number }>(options.cursor, { p: 'int4' })?.p ?? 0;
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.localVersion();
      const performance = await this.localPerformance(version, performanceId);
      const page = await this.seatPage(version, performance, after, options, attempt >= READ_ATTEMPTS);
      if (page === 'stale') continue;
      if (page !== 'unregistered') return page;
      if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
      await this.ensureSeatState(performanceId);
    }
  }

  /**
   * 'stale' when Redis reported another catalog version than the one the copies are of (they
   * were dropped; read again), unless `settle`: on the last attempt the copies, loaded under a
   * version read during this same request, answer (the admin write raced with the request).
   * 'unregistered' when the live seat state is missing.
   */
  private async seatPage(
    version: string,
    performance: PerformanceView,
    after: number,
    { status, limit }: { status?: SeatStatus; limit: number },
    settle: boolean,
  ): Promise<SeatPage | 'stale' | 'unregistered'> {
    const items: SeatListing[] = [];
    const statuses: SeatStatus[] = [];
    let position = after;
    let scanned = 0;
    // Every page, even one past the end, checks the catalog version and the live state.
    for (let round = 0; ; round += 1) {
      const wanted = status ? Math.min(SEAT_BLOCK_SIZE * 2 ** round, SEAT_SCAN_BUDGET - scanned) : limit - items.length;
      const examined = await this.seatsAfter(version, performance, position, wanted);
      const [current, live] = await Promise.all([
        round === 0 ? this.cache.version() : version,
        this.seatState.registeredStatuses(
          performance.id,
          examined.map((seat) => seat.id),
        ),
      ]);
      if (current !== version && !settle) {
        this.local.observe(current);
        return 'stale';
      }
      if (live === null) return 'unregistered';
      for (let i = 0; i < examined.length && items.length < limit; i += 1) {
        position = examined[i].position;
        scanned += 1;
        if (!status || live[i] === status) {
          items.push(examined[i]);
          statuses.push(live[i]);
        }
      }
      if (examined.length === 0 || items.length >= limit || position >= performance.totalSeats) break;
      if (scanned >= SEAT_SCAN_BUDGET) break;
    }
    return { items, statuses, nextCursor: position < performance.totalSeats ? encodeCursor({ p: position }) : null };
  }

  /** Up to `count` seats after `position`, in layout order, from the blocks that hold them. */
  private async seatsAfter(
    version: string,
    performance: PerformanceView,
    position: number,
    count: number,
  ): Promise<SeatListing[]> {
    // Positions run 1 … totalSeats without gaps; block b holds b·size+1 … (b+1)·size.
    const first = Math.floor(position / SEAT_BLOCK_SIZE);
    const last = Math.min(
      Math.floor((position + count - 1) / SEAT_BLOCK_SIZE),
      Math.ceil(performance.totalSeats / SEAT_BLOCK_SIZE) - 1,
    );
    const numbers: number[] = [];
    for (let block = first; block <= last; block += 1) numbers.push(block);
    let blocks = numbers.map((block) => this.local.seatBlock(performance.id, block));
    if (blocks.includes(undefined)) {
      blocks = await Promise.all(
        numbers.map((block, i) => blocks[i] ?? this.loadSeatBlock(version, performance, block)),
      );
    }
    const seats: SeatListing[] = [];
    for (const block of blocks as (readonly SeatListing[])[]) {
      for (const seat of block) {
        if (seats.length === count) return seats;
        if (seat.position > position) seats.push(seat);
      }
    }
    return seats;
  }

  /** Rebuilds the live seat state from PostgreSQL when Redis lost it (emptied, new node). */
  async ensureSeatState(performanceId: number): Promise<void> {
    if (await this.seatState.isRegistered(performanceId)) return;
    const performance = await this.performances.findById(performanceId);
    if (!performance) throw new NotFoundError('performance');
    this.logger.warn(`seat state of performance ${performanceId} missing in Redis, rebuilding from PostgreSQL`);
    await this.registerSeatState(performance);
  }

  /**
   * Seats with an active ticket in PostgreSQL are registered SOLD. Purchases not flushed yet
   * live in Redis only: Redis runs with AOF `appendfsync always`, so they survive a restart.
   */
  private async registerSeatState(performance: PricedPerformance): Promise<void> {
    const [seats, sold] = await Promise.all([
      this.performances.seatPrices(performance.id),
      this.purchases.activeSeatIds(performance.id),
    ]);
    await this.seatState.registerPerformance({
      performanceId: performance.id,
      salesOpenAt: performance.salesOpenAt,
      currency: performance.currency,
      seats,
      sold,
    });
  }

  /** The catalog version the in-process copies are of; read from Redis when there is none yet. */
  private async localVersion(): Promise<string> {
    const known = this.local.version;
    if (known !== null) return known;
    const version = await this.cache.version();
    this.local.observe(version);
    return version;
  }

  /** The performance, from this process's copies or loaded (and kept) under `version`. */
  private async localPerformance(version: string, id: number): Promise<PerformanceView> {
    const kept = this.local.performance(id);
    if (kept) return kept;
    const performance = await this.cache.getOrLoadAt(version, `performance:${id}`, async () => {
      const row = await this.performances.findById(id);
      return row ? toPerformanceView(row) : null;
    });
    if (!performance) throw new NotFoundError('performance');
    this.local.keepPerformance(version, performance);
    return performance;
  }

  /** One block of seats from the Redis cache (or PostgreSQL), kept in this process under `version`. */
  private async loadSeatBlock(
    version: string,
    performance: PerformanceView,
    block: number,
  ): Promise<readonly SeatListing[]> {
    const rows = await this.cache.getOrLoadSeatBlock(performance.id, block, () =>
      this.performances.seatsByPosition(performance.id, block * SEAT_BLOCK_SIZE + 1, (block + 1) * SEAT_BLOCK_SIZE),
    );
    const seats = rows.map((row) => toSeatListing(row, performance.currency));
    this.local.keepSeatBlock(version, performance.id, block, seats);
    return seats;
  }
}

function pageOf<T>(items: T[], more: boolean, keyOf: (last: T) => Record<string, string | number>): Page<T> {
  return { items, nextCursor: more && items.length > 0 ? encodeCursor(keyOf(items[items.length - 1])) : null };
}

function toEventView(event: EventEntity): EventView {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: event.venue,
    currency: event.currency,
    createdAt: event.createdAt.toISOString(),
    updatedAt: event.updatedAt.toISOString(),
  };
}

function toPerformanceView(performance: PricedPerformance): PerformanceView {
  return {
    id: performance.id,
    eventId: performance.eventId,
    startsAt: performance.startsAt.toISOString(),
    salesOpenAt: performance.salesOpenAt.toISOString(),
    totalSeats: performance.totalSeats,
    currency: performance.currency,
  };
}

function toSeatListing(seat: SeatRow, currency: string): SeatListing {
  return Object.freeze({
    id: seat.id,
    position: seat.position,
    section: seat.section,
    row: seat.row,
    number: seat.number,
    grade: seat.grade,
    price: seat.price,
    currency,
  });
}
