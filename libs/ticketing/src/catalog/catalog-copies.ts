import { Injectable } from '@nestjs/common';
import { Clock } from '@app/core';
import { PerformanceRepository, PresaleRecord, PresalesRepository, PricedPerformance, SeatRow } from '@app/database';
import { NotFoundError } from '../errors';
import { CatalogCache } from './catalog-cache';
import { Performance, revivePerformance, SeatListing } from './catalog.types';
import { LocalCatalog } from './local-catalog';
import { SeatDirectory } from './seat-directory';

/** Seats per cached block; also the largest page a client may ask for. */
export const SEAT_BLOCK_SIZE = 100;
/** Reads that met another catalog version than their copies' try again, this many times in all. */
export const READ_ATTEMPTS = 3;

/**
 * The static catalog the seat reads need (performances, their seat blocks), from this process's
 * copies (LocalCatalog) or loaded from the Redis cache or PostgreSQL and kept under the catalog
 * version they were loaded at. Callers check that version against Redis with their live reads.
 */
@Injectable()
export class CatalogCopies {
  /** Loads of a performance under way, by `<version>:<id>`: concurrent first readers share one. */
  private readonly loadingPerformances = new Map<string, Promise<Performance>>();
  /**
   * Copies the seat directory needs no more asking about (SeatDirectory.warm answered true): a copy
   * kept from before its warm-up window (sales opening in more than an hour) is asked again on each
   * read until the window opens, as buyers read its page before the on-sale.
   */
  private readonly warmed = new WeakSet<Performance>();

  constructor(
    private readonly performances: PerformanceRepository,
    private readonly cache: CatalogCache,
    private readonly local: LocalCatalog,
    private readonly directory: SeatDirectory,
    private readonly clock: Clock,
    private readonly presales: PresalesRepository,
  ) {}

  /** The catalog version the in-process copies are of; read from Redis when there is none yet. */
  async version(): Promise<string> {
    const known = this.local.version;
    if (known !== null) return known;
    const version = await this.cache.version();
    this.local.observe(version);
    return version;
  }

  /** The current catalog version in Redis (one round trip). */
  currentVersion(): Promise<string> {
    return this.cache.version();
  }

  /** Adopts a version just read from Redis; another than the copies' drops them all. */
  observe(version: string): void {
    this.local.observe(version);
  }

  /** The performance when this process's copies hold it (of the version they are of); else undefined. */
  keptPerformance(id: number): Performance | undefined {
    return this.local.performance(id);
  }

  /**
   * The performance, from this process's copies or loaded (and kept) under `version`; callers
   * that miss it at the same time share one load (an on-sale's first burst reads the Redis cache
   * or PostgreSQL once, not once per request). Throws NotFoundError.
   */
  performance(version: string, id: number): Promise<Performance> {
    const kept = this.local.performance(id);
    if (kept) {
      this.warm(kept);
      return Promise.resolve(kept);
    }
    const key = `${version}:${id}`;
    let pending = this.loadingPerformances.get(key);
    if (!pending) {
      pending = this.loadPerformance(version, id).finally(() => this.loadingPerformances.delete(key));
      this.loadingPerformances.set(key, pending);
    }
    return pending;
  }

  private async loadPerformance(version: string, id: number): Promise<Performance> {
    const cached = await this.cache.getOrLoadAt(version, `performance:${id}`, async () => {
      const row = await this.performances.findById(id);
      return row ? toPerformance(row, await this.presales.list(id)) : null;
    });
    if (!cached) throw new NotFoundError('performance');
    const performance = revivePerformance(cached);
    this.local.keepPerformance(version, performance);
    this.warm(performance);
    return performance;
  }

  /**
   * A read of a performance selling now or within the hour: its seats' directory, which holds and
   * purchases describe their seats from, loads beside it rather than in their first answers. Once
   * per copy, but a copy kept from before that hour asks again on its reads until the hour comes.
   */
  private warm(performance: Performance): void {
    if (!this.warmed.has(performance) && this.directory.warm(performance, this.clock.nowMs())) {
      this.warmed.add(performance);
    }
  }

  /** Up to `count` seats after `position`, in layout order, from the blocks that hold them. */
  async seatsAfter(version: string, performance: Performance, position: number, count: number): Promise<SeatListing[]> {
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

  /**
   * The seats at `positions` (ascending, each 1 … totalSeats), in that order, from the blocks that
   * hold them; a position no block holds is left out.
   */
  async seatsAt(version: string, performance: Performance, positions: readonly number[]): Promise<SeatListing[]> {
    const numbers: number[] = [];
    for (const position of positions) {
      const block = Math.floor((position - 1) / SEAT_BLOCK_SIZE);
      if (numbers[numbers.length - 1] !== block) numbers.push(block);
    }
    let blocks = numbers.map((block) => this.local.seatBlock(performance.id, block));
    if (blocks.includes(undefined)) {
      blocks = await Promise.all(
        numbers.map((block, i) => blocks[i] ?? this.loadSeatBlock(version, performance, block)),
      );
    }
    const seats: SeatListing[] = [];
    let b = 0;
    for (const position of positions) {
      const block = Math.floor((position - 1) / SEAT_BLOCK_SIZE);
      while (numbers[b] !== block) b += 1;
      const rows = blocks[b] as readonly SeatListing[];
      // Positions run without gaps, so a seat sits at its offset in its block.
      const seat = rows[(position - 1) % SEAT_BLOCK_SIZE];
      const found = seat?.position === position ? seat : rows.find((row) => row.position === position);
      if (found) seats.push(found);
    }
    return seats;
  }

  /** One block of seats from the Redis cache (or PostgreSQL), kept in this process under `version`. */
  private async loadSeatBlock(
    version: string,
    performance: Performance,
    block: number,
  ): Promise<readonly SeatListing[]> {
    const rows = await this.cache.getOrLoadSeatBlock(performance.id, performance.seatsVersion ?? 0, block, () =>
      this.performances.seatsByPosition(performance.id, block * SEAT_BLOCK_SIZE + 1, (block + 1) * SEAT_BLOCK_SIZE),
    );
    const seats = rows.map((row) => toSeatListing(row, performance.currency));
    this.local.keepSeatBlock(version, performance.id, block, seats);
    return seats;
  }
}

/**
 * The catalog's performance from its row (the entity carries more than the catalog shows), with
 * `presales` (never their codes) when given.
 */
export function toPerformance(performance: PricedPerformance, presales?: readonly PresaleRecord[]): Performance {
  return {
    id: performance.id,
    eventId: performance.eventId,
    startsAt: performance.startsAt,
    salesOpenAt: performance.salesOpenAt,
    salesCloseAt: performance.salesCloseAt,
    cancelUntil: performance.cancelUntil,
    status: performance.status,
    totalSeats: performance.totalSeats,
    currency: performance.currency,
    eventTitle: performance.eventTitle,
    venue: performance.venue,
    timeZone: performance.timeZone,
    seatsVersion: performance.seatsVersion,
    noOrphanSeats: performance.noOrphanSeats,
    maxTicketsPerBuyer: performance.maxTicketsPerBuyer,
    checkInOpensBeforeMinutes: performance.checkInOpensBeforeMinutes,
    checkInClosesAfterMinutes: performance.checkInClosesAfterMinutes,
    ...(presales && {
      presales: presales.map(({ id, name, opensAt, closesAt }) => ({ id, name, opensAt, closesAt })),
    }),
  };
}

/** A seat row as the catalog lists it, frozen (shared by every reader of a cached copy). */
export function toSeatListing(seat: SeatRow, currency: string): SeatListing {
  return Object.freeze({
    id: seat.id,
    position: seat.position,
    section: seat.section,
    row: seat.row,
    rowLabel: seat.rowLabel,
    number: seat.number,
    grade: seat.grade,
    price: seat.price,
    currency,
  });
}
