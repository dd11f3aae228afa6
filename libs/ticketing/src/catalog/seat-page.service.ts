import { Injectable } from '@nestjs/common';
import { assertSameFilters, assertSameList } from '@app/core';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCopies, READ_ATTEMPTS, SEAT_BLOCK_SIZE } from './catalog-copies';
import { Performance, SeatListing, SeatPage } from './catalog.types';
import { decodeCursor, encodeCursor } from './cursor';
import { assertSeatFilter, filterDigest, isEmptyFilter, matchesSeatFilter, SeatFilter } from './seat-filter';
import { gradeKey, sectionNameKey } from './section-names';
import { SectionService } from './section.service';

/** A filtered seat page looks at no more than this many seats, then returns what it found. */
const SEAT_SCAN_BUDGET = 20 * SEAT_BLOCK_SIZE;
/**
 * A `?status=AVAILABLE` page passes over at most this many layout positions of the free bitmap
 * (8 KB, a few µs of Redis however many are taken), then returns what it found.
 */
const FREE_SCAN_POSITIONS = 65_536;

/** Pages of a performance's seats: static data from the catalog copies, live status from Redis. */
@Injectable()
export class SeatPageService {
  constructor(
    private readonly copies: CatalogCopies,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly sections: SectionService,
  ) {}

  /**
   * A page of seats in layout order, static data from cached blocks with the live status from
   * Redis laid over it, so a page never shows a held or sold seat as available. With a status
   * filter a page may hold fewer than `limit` seats while `nextCursor` is still set.
   *
   * When this process holds the performance and its blocks (LocalCatalog), a page is one Redis
   * round trip: the catalog version and the seats' status letters together (the holders' expiry
   * in a second, small one when some seats are marked held; expired holders' `fromBlock` in a
   * third, when some holders expired: SeatStateStore.statuses). A `?status=AVAILABLE` page asks the
   * free bitmap for the next free seats (SeatStateStore.freeSeatsAfter: one round trip, the
   * work growing with the page, not with the seats taken before it) and looks at no more than
   * FREE_SCAN_POSITIONS positions; where the bitmap cannot answer it reads statuses as below.
   * Another filtered page reads the statuses of 100, 200, 400, … seats per round trip until the
   * page is full or SEAT_SCAN_BUDGET seats were looked at (at most 5 round trips).
   * `filter` (section, grade, price range) works the same way, asking Redis only for the status
   * of the seats that pass it; every page's cursor carries a digest of its filters (`status` one of them; none
   * is one set too) and is refused (400 InvalidCursor) with any others.
   * A `section` or `grade` the performance does not have is a NotFoundError('section' | 'grade'),
   * as a best-available hold answers it (not an empty list that reads as sold out), checked on the
   * sections kept in this process (SectionService.layout: no round trip once kept).
   * Throws InvalidInputError (cursor, filter: price bounds, minPrice above maxPrice),
   * NotFoundError('performance' | 'section' | 'grade').
   */
  async listSeats(
    performanceId: number,
    options: { status?: SeatStatus; cursor?: string; limit: number; filter?: SeatFilter },
  ): Promise<SeatPage> {
    const filter = options.filter && !isEmptyFilter(options.filter) ? options.filter : undefined;
    if (filter) assertSeatFilter(filter);
    // Every cursor carries the digest of the filters (`status` one of them), the unfiltered list's too.
    const digest = filterDigest(filter ?? {}, options.status);
    const key = decodeCursor<{ p: number; f: string; o: number }>(options.cursor, {
      p: 'int4',
      f: 'digest',
      o: 'int4',
    });
    assertSameList(key?.o, performanceId, 'performance');
    assertSameFilters(key?.f, digest);
    const after = key?.p ?? 0;
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.copies.version();
      const performance = await this.copies.performance(version, performanceId);
      if (filter?.section !== undefined || filter?.grade !== undefined) {
        await this.assertKnownScope(version, performanceId, filter);
      }
      const page = await this.seatPage(
        version,
        performance,
        after,
        { ...options, filter, digest },
        attempt >= READ_ATTEMPTS,
      );
      if (page === 'stale') continue;
      if (page !== 'unregistered') return page;
      if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
      await this.rebuilder.ensure(performanceId);
    }
  }

  /** Throws NotFoundError('section' | 'grade') when no section of the performance has the filter's section name or grade (any casing). */
  private async assertKnownScope(version: string, performanceId: number, filter: SeatFilter): Promise<void> {
    const { sections } = await this.sections.layout(version, performanceId);
    const { section, grade } = filter;
    if (section !== undefined && !sections.some((known) => sectionNameKey(known.name) === sectionNameKey(section))) {
      throw new NotFoundError('section', { performanceId, section });
    }
    if (grade !== undefined && !sections.some((known) => gradeKey(known.grade) === gradeKey(grade))) {
      throw new NotFoundError('grade', { performanceId, grade });
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
    performance: Performance,
    after: number,
    { status, limit, filter, digest }: { status?: SeatStatus; limit: number; filter?: SeatFilter; digest: string },
    settle: boolean,
  ): Promise<SeatPage | 'stale' | 'unregistered'> {
    if (status === 'AVAILABLE') {
      const page = await this.freeSeatPage(version, performance, after, { limit, filter, digest }, settle);
      if (page !== 'NO_INDEX') return page;
    }
    const items: SeatListing[] = [];
    const statuses: SeatStatus[] = [];
    let position = after;
    let scanned = 0;
    // Every page, even one past the end, checks the catalog version and the live state.
    for (let round = 0; ; round += 1) {
      const wanted =
        status || filter ? Math.min(SEAT_BLOCK_SIZE * 2 ** round, SEAT_SCAN_BUDGET - scanned) : limit - items.length;
      const examined = await this.copies.seatsAfter(version, performance, position, wanted);
      // The static filter needs no live state: only the seats passing it are asked for their status.
      const candidates = filter ? examined.filter((seat) => matchesSeatFilter(seat, filter)) : examined;
      const [current, live] = await Promise.all([
        round === 0 ? this.copies.currentVersion() : version,
        this.seatState.registeredStatuses(
          performance.id,
          candidates.map((seat) => seat.id),
        ),
      ]);
      if (current !== version && !settle) {
        this.copies.observe(current);
        return 'stale';
      }
      if (live === null) return 'unregistered';
      for (let i = 0, c = 0; i < examined.length && items.length < limit; i += 1) {
        position = examined[i].position;
        scanned += 1;
        if (candidates[c] !== examined[i]) continue;
        const seatStatus = live[c];
        c += 1;
        if (!status || seatStatus === status) {
          items.push(examined[i]);
          statuses.push(seatStatus);
        }
      }
      if (examined.length === 0 || items.length >= limit || position >= performance.totalSeats) break;
      if (scanned >= SEAT_SCAN_BUDGET) break;
    }
    return { items, statuses, nextCursor: nextCursor(performance, position, digest) };
  }

  /**
   * {@link seatPage} for `?status=AVAILABLE` from the free bitmap: without `filter` one round trip
   * for `limit` seats; with it, 100, 200, 400, … free seats per round trip until the page is full
   * or SEAT_SCAN_BUDGET free seats were looked at. 'NO_INDEX' when the bitmap cannot answer.
   */
  private async freeSeatPage(
    version: string,
    performance: Performance,
    after: number,
    { limit, filter, digest }: { limit: number; filter?: SeatFilter; digest: string },
    settle: boolean,
  ): Promise<SeatPage | 'stale' | 'unregistered' | 'NO_INDEX'> {
    const items: SeatListing[] = [];
    const last = Math.min(performance.totalSeats, after + FREE_SCAN_POSITIONS);
    let position = after;
    let looked = 0;
    // Every page, even one past the end, checks the catalog version and the live state.
    for (let round = 0; ; round += 1) {
      const want = filter ? Math.min(SEAT_BLOCK_SIZE * 2 ** round, SEAT_SCAN_BUDGET - looked) : limit - items.length;
      const [current, free] = await Promise.all([
        round === 0 ? this.copies.currentVersion() : version,
        this.seatState.freeSeatsAfter(performance.id, position, want, last),
      ]);
      if (current !== version && !settle) {
        this.copies.observe(current);
        return 'stale';
      }
      if (free === null) return 'unregistered';
      if (free === 'NO_INDEX') return 'NO_INDEX';
      const seats = await this.copies.seatsAt(version, performance, free.positions);
      position = Math.max(position, free.looked);
      for (const seat of seats) {
        looked += 1;
        if (filter && !matchesSeatFilter(seat, filter)) continue;
        items.push(seat);
        if (items.length === limit) {
          position = seat.position;
          break;
        }
      }
      if (items.length >= limit || free.positions.length < want || position >= last) break;
      if (looked >= SEAT_SCAN_BUDGET) break;
    }
    return {
      items,
      statuses: items.map(() => 'AVAILABLE' as const),
      nextCursor: nextCursor(performance, position, digest),
    };
  }
}

/**
 * The cursor of the page that looked up to `position` (with the filters' digest and the
 * performance it pages): null past the last seat.
 */
function nextCursor(performance: Performance, position: number, digest: string): string | null {
  if (position >= performance.totalSeats) return null;
  return encodeCursor({ p: position, f: digest, o: performance.id });
}
