import { LRUCache } from 'lru-cache';
import type { Performance, SeatListing } from './catalog.types';

/**
 * Bound of the in-process copies, counted in seats (a performance counts as one): two
 * 100,000-seat stadiums, about 65 MB with the seats' JSON fragments (measured: ~325 bytes a seat).
 */
export const LOCAL_CATALOG_MAX_SEATS = 200_000;

type Entry = Performance | readonly SeatListing[];

/**
 * In-process copies of the catalog entries the seat reads need (performances and their seat
 * blocks), all of one catalog version. Cross-replica correctness comes from that version: each
 * read that uses these copies reads the version from Redis in the same round trip as the live
 * status (seat pages, a performance with its counts) and, when an admin write on any replica has
 * bumped it since, calls {@link observe}, which drops every copy, and reads again. No copy outlives the version it
 * was loaded under, so there is no staleness window. Bounded by an LRU ({@link LOCAL_CATALOG_MAX_SEATS}).
 */
export class LocalCatalog {
  private current: string | null = null;
  private readonly entries: LRUCache<string, Entry>;

  /** `maxSeats`: the bound, in seats (tests pass a small one). */
  constructor(maxSeats: number = LOCAL_CATALOG_MAX_SEATS) {
    this.entries = new LRUCache<string, Entry>({
      maxSize: maxSeats,
      sizeCalculation: (entry) => (Array.isArray(entry) ? Math.max(1, entry.length) : 1),
    });
  }

  /** The catalog version the copies belong to; null until the first {@link observe}. */
  get version(): string | null {
    return this.current;
  }

  /** Adopts the catalog version just read from Redis; a different one drops every copy. */
  observe(version: string): void {
    if (version === this.current) return;
    this.entries.clear();
    this.current = version;
  }

  performance(performanceId: number): Performance | undefined {
    return this.entries.get(`p:${performanceId}`) as Performance | undefined;
  }

  /** Keeps `performance`, loaded under `version`, unless the version has moved on meanwhile. */
  keepPerformance(version: string, performance: Performance): void {
    if (version === this.current) this.entries.set(`p:${performance.id}`, performance);
  }

  /** Seats of block `block` (positions block·size+1 … (block+1)·size), in position order. */
  seatBlock(performanceId: number, block: number): readonly SeatListing[] | undefined {
    return this.entries.get(`s:${performanceId}:${block}`) as readonly SeatListing[] | undefined;
  }

  /** Keeps `seats`, loaded under `version`, unless the version has moved on meanwhile. */
  keepSeatBlock(version: string, performanceId: number, block: number, seats: readonly SeatListing[]): void {
    if (version === this.current) this.entries.set(`s:${performanceId}:${block}`, seats);
  }

  /** What the copies weigh now, in the unit of the bound (seats). */
  get size(): number {
    return this.entries.calculatedSize;
  }
}
