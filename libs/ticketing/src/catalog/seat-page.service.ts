import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCopies, READ_ATTEMPTS, SEAT_BLOCK_SIZE } from './catalog-copies';
import { Performance, SeatListing, SeatPage } from './catalog.types';
import { decodeCursor, encodeCursor } from './cursor';

/** A filtered seat page looks at no more than this many seats, then returns what it found. */
const SEAT_SCAN_BUDGET = 20 * SEAT_BLOCK_SIZE;

/** Pages of a performance's seats: static data from the catalog copies, live status from Redis. */
@Injectable()
export class SeatPageService {
  constructor(
    private readonly copies: CatalogCopies,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
  ) {}

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
   * Throws InvalidInputError (cursor), NotFoundError('performance').
   */
  async listSeats(
    performanceId: number,
    options: { status?: SeatStatus; cursor?: string; limit: number },
  ): Promise<SeatPage> {
    const after = decodeCursor<{ p: number }>(options.cursor, { p: 'int4' })?.p ?? 0;
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.copies.version();
      const performance = await this.copies.performance(version, performanceId);
      const page = await this.seatPage(version, performance, after, options, attempt >= READ_ATTEMPTS);
      if (page === 'stale') continue;
      if (page !== 'unregistered') return page;
      if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
      await this.rebuilder.ensure(performanceId);
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
      const examined = await this.copies.seatsAfter(version, performance, position, wanted);
      const [current, live] = await Promise.all([
        round === 0 ? this.copies.currentVersion() : version,
        this.seatState.registeredStatuses(
          performance.id,
          examined.map((seat) => seat.id),
        ),
      ]);
      if (current !== version && !settle) {
        this.copies.observe(current);
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
}
