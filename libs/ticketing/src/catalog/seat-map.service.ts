import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { MapSeatRow, PerformanceRepository } from '@app/database';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCopies, READ_ATTEMPTS } from './catalog-copies';
import type { MapPoint, Performance } from './catalog.types';

/** The smallest axis-aligned rectangle around some seats' centres, in map units. */
export interface MapBounds {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** A seat as the map draws it: place in map units, quality 0…1000 (higher is better). */
export interface MapSeat {
  readonly id: number;
  readonly row: number;
  /** What tickets call the row ("A", "AA"), as its MapRow's. */
  readonly rowLabel: string;
  readonly number: number;
  readonly x: number;
  readonly y: number;
  readonly quality: number;
  readonly accessible: boolean;
  readonly companion: boolean;
}

export interface MapRow {
  readonly row: number;
  /** What tickets call the row ("A", "AA", "Balcony 3"). */
  readonly rowLabel: string;
  /** By number. */
  readonly seats: readonly MapSeat[];
}

export interface MapSection {
  readonly name: string;
  readonly grade: string;
  /** The price of its seats, an integer in minor units of `currency`. */
  readonly price: number;
  readonly currency: string;
  readonly bounds: MapBounds;
  /** By row. */
  readonly rows: readonly MapRow[];
}

/**
 * The static part of a performance's seat map, built once per performance and catalog version
 * and shared (immutable) by every request that draws it.
 */
export interface SeatMap {
  readonly performanceId: number;
  /** The catalog version it was built under: it changes whenever the map may have. */
  readonly version: string;
  readonly currency: string;
  readonly focalPoint: MapPoint;
  readonly bounds: MapBounds;
  /** In layout order. */
  readonly sections: readonly MapSection[];
  /** Every seat's id in the order the sections, rows and seats above list them. */
  readonly seatIds: readonly number[];
}

/**
 * A seat map with each seat's live status: `statuses[i]` is the status of `map.seatIds[i]`;
 * `performance` as the catalog copy the map was read under has it (for its `salesState`).
 */
export interface LiveSeatMap {
  map: SeatMap;
  statuses: SeatStatus[];
  performance: Performance;
}

/**
 * Bound of the in-process seat maps, in seats: two 100,000-seat stadiums (each map seat costs
 * about as much as a seat page's listing, see LOCAL_CATALOG_MAX_SEATS).
 */
export const SEAT_MAP_MAX_SEATS = 200_000;

interface KeptMap {
  version: string;
  seats: number;
  map: Promise<SeatMap | null>;
}

/** Seat maps: the static hall from an in-process copy, the live status from Redis laid over it. */
@Injectable()
export class SeatMapService {
  /** By performance id; a map kept under an older catalog version is rebuilt when asked for. */
  private readonly maps = new LRUCache<number, KeptMap>({
    maxSize: SEAT_MAP_MAX_SEATS,
    sizeCalculation: (kept) => Math.max(1, kept.seats),
  });

  constructor(
    private readonly copies: CatalogCopies,
    private readonly performances: PerformanceRepository,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
  ) {}

  /**
   * The performance's seat map with every seat's live status (a seat of an expired hold is
   * AVAILABLE, a house seat of an expired comp's hold BLOCKED, as on seat pages). The static map
   * is built from PostgreSQL once per performance and catalog version and kept in this process
   * (concurrent first requests share one build); each request then reads the catalog version and
   * all seats' status letters in one round trip (the holders of seats marked held in a second, the
   * records of expired holders in a third), and reads again when an admin write moved the version
   * meanwhile. Throws NotFoundError('performance').
   */
  async getMap(performanceId: number): Promise<LiveSeatMap> {
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.copies.version();
      const performance = await this.copies.performance(version, performanceId);
      const map = await this.staticMap(version, performance);
      if (!map) throw new NotFoundError('performance');
      const [current, statuses] = await Promise.all([
        this.copies.currentVersion(),
        this.seatState.registeredStatuses(performanceId, map.seatIds as number[]),
      ]);
      if (current !== version && attempt < READ_ATTEMPTS) {
        this.copies.observe(current);
        continue;
      }
      if (statuses === null) {
        if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
        await this.rebuilder.ensure(performanceId);
        continue;
      }
      return { map, statuses, performance };
    }
  }

  private staticMap(version: string, performance: Performance): Promise<SeatMap | null> {
    const kept = this.maps.get(performance.id);
    if (kept && kept.version === version) return kept.map;
    const map = this.build(version, performance);
    const entry = { version, seats: performance.totalSeats, map };
    this.maps.set(performance.id, entry);
    // A failed or empty build is not kept: the next request tries again.
    void map.then(
      (built) => {
        if (!built && this.maps.get(performance.id) === entry) this.maps.delete(performance.id);
      },
      () => {
        if (this.maps.get(performance.id) === entry) this.maps.delete(performance.id);
      },
    );
    return map;
  }

  private async build(version: string, performance: Performance): Promise<SeatMap | null> {
    const loaded = await this.performances.seatMap(performance.id);
    if (!loaded || loaded.seats.length === 0) return null;
    return buildSeatMap(version, performance, loaded.focalPoint, loaded.seats);
  }
}

/**
 * The static seat map from the seats in layout order (sections, then rows, then numbers, as
 * positions run). A section's price and grade are its first seat's (every seat of a section
 * has the same ones).
 */
export function buildSeatMap(
  version: string,
  performance: Performance,
  focalPoint: MapPoint,
  seats: readonly MapSeatRow[],
): SeatMap {
  const sections: MapSection[] = [];
  const seatIds: number[] = [];
  let rows: MapRow[] = [];
  let rowSeats: MapSeat[] = [];
  for (let i = 0; i < seats.length; i += 1) {
    const seat = seats[i];
    seatIds.push(seat.id);
    rowSeats.push(
      Object.freeze({
        id: seat.id,
        row: seat.row,
        rowLabel: seat.rowLabel,
        number: seat.number,
        x: seat.x,
        y: seat.y,
        quality: seat.quality,
        accessible: seat.accessible,
        companion: seat.companion,
      }),
    );
    const next = seats[i + 1];
    const sectionEnds = !next || next.section !== seat.section;
    if (sectionEnds || next.row !== seat.row) {
      rows.push(Object.freeze({ row: seat.row, rowLabel: seat.rowLabel, seats: Object.freeze(rowSeats) }));
      rowSeats = [];
    }
    if (sectionEnds) {
      sections.push(
        Object.freeze({
          name: seat.section,
          grade: seat.grade,
          price: seat.price,
          currency: performance.currency,
          bounds: boundsOf(rows.flatMap((row) => row.seats)),
          rows: Object.freeze(rows),
        }),
      );
      rows = [];
    }
  }
  return Object.freeze({
    performanceId: performance.id,
    version,
    currency: performance.currency,
    focalPoint: Object.freeze({ x: focalPoint.x, y: focalPoint.y }),
    bounds: boundsOf(seats),
    sections: Object.freeze(sections),
    seatIds: Object.freeze(seatIds),
  });
}

function boundsOf(seats: readonly { x: number; y: number }[]): MapBounds {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const { x, y } of seats) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return Object.freeze({ minX, minY, maxX, maxY });
}
