import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { PerformanceRepository, SeatGroupRow } from '@app/database';
import type { Performance, SeatListing } from './catalog.types';
import { salesStateAt } from './sales-state';

/** Bound of the directory, in seats: two 100,000-seat stadiums (as LocalCatalog). */
export const SEAT_DIRECTORY_MAX_SEATS = 200_000;

/**
 * An on-sale's rush: this long (ms) either side of a performance's sales opening. Buyers wait on
 * its page before, and its first holds come just after: a read of the performance in it loads the
 * directory even when that evicts another (SeatDirectory.warm).
 */
export const SEAT_DIRECTORY_RUSH_MS = 60 * 60_000;

/** What the seats of one group (one section, row, grade and price) share. */
interface SeatGroup {
  section: string;
  row: number;
  rowLabel: string;
  grade: string;
  /** An integer in minor units of the performance's currency. */
  price: number;
}

/**
 * The seats of one performance, column-wise: a seat id maps to its slot s through runs of
 * consecutive ids (a performance's seats are inserted together, so a group's ids are usually one
 * run: a stadium has about a thousand runs, not 100,000 map entries), and the seat has the number
 * `numbers[s]`, the layout position `positions[s]` and the rest from `groups[groupOf[s]]`. A
 * SeatListing is built only when a seat is asked for: a stadium's directory loads without building
 * one object (or one map entry, or one string) per seat.
 */
class Directory {
  /** Runs of consecutive ids, by first id: run k holds ids runIds[k] … runIds[k] + runLengths[k] - 1 at slots from runSlots[k]. */
  private readonly runIds: Float64Array;
  private readonly runSlots: Uint32Array;
  private readonly runLengths: Uint32Array;
  private readonly groupOf: Uint32Array;
  private readonly numbers: Int32Array;
  private readonly positions: Int32Array;
  private readonly groups: SeatGroup[] = [];
  readonly size: number;

  constructor(
    rows: readonly SeatGroupRow[],
    private readonly currency: string,
    readonly performanceId: number,
    readonly seatsVersion: number,
  ) {
    const size = rows.reduce((sum, row) => sum + countItems(row.ids), 0);
    this.size = size;
    const ids = new Float64Array(size);
    this.groupOf = new Uint32Array(size);
    this.numbers = new Int32Array(size);
    this.positions = new Int32Array(size);
    let slot = 0;
    rows.forEach((row, group) => {
      this.groups.push({
        section: row.section,
        row: row.row,
        rowLabel: row.rowLabel,
        grade: row.grade,
        price: row.price,
      });
      const from = slot;
      parseIntegers(row.ids, ids, from);
      parseIntegers(row.numbers, this.numbers, from);
      slot = parseIntegers(row.positions, this.positions, from);
      this.groupOf.fill(group, from, slot);
    });
    // Runs in slot order, then ordered by first id for the binary search of get.
    const runs: [number, number, number][] = [];
    for (let s = 0; s < size; s += 1) {
      const last = runs[runs.length - 1];
      if (last && ids[s] === last[0] + last[2] && s === last[1] + last[2]) last[2] += 1;
      else runs.push([ids[s], s, 1]);
    }
    runs.sort((a, b) => a[0] - b[0]);
    this.runIds = Float64Array.from(runs, (run) => run[0]);
    this.runSlots = Uint32Array.from(runs, (run) => run[1]);
    this.runLengths = Uint32Array.from(runs, (run) => run[2]);
  }

  /** The slot of the seat with this id, or -1 when the performance has none. */
  private slotOf(id: number): number {
    const { runIds } = this;
    let low = 0;
    let high = runIds.length - 1;
    // The last run whose first id is at most `id`.
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (runIds[middle] <= id) low = middle;
      else high = middle - 1;
    }
    const offset = id - runIds[low];
    return offset >= 0 && offset < this.runLengths[low] ? this.runSlots[low] + offset : -1;
  }

  /** The seat with this id, or undefined when the performance has none. */
  get(id: number): SeatListing | undefined {
    const slot = this.slotOf(id);
    if (slot < 0) return undefined;
    const group = this.groups[this.groupOf[slot]];
    return Object.freeze({
      id,
      position: this.positions[slot],
      section: group.section,
      row: group.row,
      rowLabel: group.rowLabel,
      number: this.numbers[slot],
      grade: group.grade,
      price: group.price,
      currency: this.currency,
    });
  }
}

/**
 * Seats of a performance by id, in this process: what holds and purchases show of each seat
 * (section, row and its label, number, grade, price). A seat's static data changes only with its performance's
 * `seatsVersion` (a section's price), which is part of the key, so no catalog version is needed:
 * one PostgreSQL read per performance and seats version per process, shared by concurrent callers,
 * then none. The read answers one row per group of seats (section, row, grade, price: about a
 * thousand for a 100,000-seat stadium), not one per seat (docs/performance.md). Bounded by an LRU
 * counted in seats ({@link SEAT_DIRECTORY_MAX_SEATS}).
 */
@Injectable()
export class SeatDirectory {
  private readonly directories: LRUCache<string, Directory>;
  private readonly loading = new Map<string, Promise<Directory>>();
  /**
   * Seats (`totalSeats`) of the loads under way: not in the cache's size yet, but taking room once
   * they land, so a warm-up after the rush counts them (two browsed at once must not evict).
   */
  private loadingSeats = 0;
  /** The newest seats version held, by performance id: a newer one's load drops the older directory. */
  private readonly newestVersions = new Map<number, number>();

  constructor(private readonly performances: PerformanceRepository) {
    this.directories = new LRUCache<string, Directory>({
      maxSize: SEAT_DIRECTORY_MAX_SEATS,
      sizeCalculation: (directory) => Math.max(1, directory.size),
      dispose: (directory) => {
        if (this.newestVersions.get(directory.performanceId) === directory.seatsVersion) {
          this.newestVersions.delete(directory.performanceId);
        }
      },
    });
  }

  /**
   * The seats of `performance` with the ids `seatIds`, in that order; an id the performance does
   * not have is left out (a seat is never removed from a performance that has holds or purchases).
   */
  async seats(performance: Performance, seatIds: readonly number[]): Promise<SeatListing[]> {
    const key = directoryKey(performance);
    const directory = this.directories.get(key) ?? (await this.load(key, performance));
    return pick(directory, seatIds);
  }

  /**
   * Starts loading `performance`'s directory in the background when this process neither holds
   * nor loads it and the performance sells or opens within {@link SEAT_DIRECTORY_RUSH_MS} of
   * `nowMs` (epoch ms): without it an on-sale's first holds and purchases wait for the load (an
   * 80,000-seat directory is a 0.1–0.5 s read of PostgreSQL, docs/performance.md), and each admin
   * change of the seats version makes them wait again. In the rush (sales opening or opened
   * within that time) the load may evict other performances' directories; after it, a
   * performance still on sale (for weeks, perhaps, and browsed) loads only into room the bound
   * has free (loads under way counted as taken), so browsing never evicts what holds use. A failed load is dropped here: the next
   * {@link seats} loads again and throws what it meets. Answers false when a later call may
   * still load (the rush not come yet, or no room), so the caller asks again on a later read of the
   * same copy; true when there is nothing more to do for it (the load started, held or under way,
   * or never due: sales over, paused or canceled; a status change is a new copy).
   */
  warm(performance: Performance, nowMs: number): boolean {
    const state = salesStateAt(performance, nowMs);
    if (state !== 'ON_SALE' && state !== 'NOT_OPEN') return true;
    const untilOpen = performance.salesOpenAt.getTime() - nowMs;
    if (untilOpen > SEAT_DIRECTORY_RUSH_MS) return false;
    const key = directoryKey(performance);
    if (this.directories.has(key) || this.loading.has(key)) return true;
    const inRush = untilOpen >= -SEAT_DIRECTORY_RUSH_MS;
    const room = SEAT_DIRECTORY_MAX_SEATS - this.directories.calculatedSize - this.loadingSeats;
    if (!inRush && performance.totalSeats > room) return false;
    this.load(key, performance).catch(() => undefined);
    return true;
  }

  /** {@link seats} when this process holds the performance's directory already; else undefined (nothing loaded). */
  keptSeats(performance: Performance, seatIds: readonly number[]): SeatListing[] | undefined {
    const directory = this.directories.get(directoryKey(performance));
    return directory && pick(directory, seatIds);
  }

  private load(key: string, performance: Performance): Promise<Directory> {
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.performances
        .seatGroupsOf(performance.id)
        .then((rows) => {
          const seatsVersion = performance.seatsVersion ?? 0;
          const directory = new Directory(rows, performance.currency, performance.id, seatsVersion);
          const newest = this.newestVersions.get(performance.id);
          if (newest === undefined || newest < seatsVersion) {
            // An older seats version is read no more once a newer one is asked for (copies move on).
            if (newest !== undefined) this.directories.delete(versionKey(performance.id, newest));
            this.newestVersions.set(performance.id, seatsVersion);
          }
          this.directories.set(key, directory);
          return directory;
        })
        .finally(() => {
          this.loading.delete(key);
          this.loadingSeats -= performance.totalSeats;
        });
      this.loading.set(key, pending);
      this.loadingSeats += performance.totalSeats;
    }
    return pending;
  }
}

/** How many comma-separated items `list` holds (0 for ''). */
function countItems(list: string): number {
  if (list === '') return 0;
  let count = 1;
  for (let at = list.indexOf(','); at !== -1; at = list.indexOf(',', at + 1)) count += 1;
  return count;
}

/**
 * Parses `list`, comma-separated decimal integers (what `string_agg` of integer columns gives),
 * into `into` from index `from`, without a string per item; answers the index after the last one
 * written.
 */
function parseIntegers(list: string, into: Float64Array | Int32Array, from: number): number {
  if (list === '') return from;
  let at = from;
  let value = 0;
  let sign = 1;
  for (let i = 0; i < list.length; i += 1) {
    const code = list.charCodeAt(i);
    if (code === 44) {
      into[at++] = sign * value;
      value = 0;
      sign = 1;
    } else if (code === 45) {
      sign = -1;
    } else {
      value = value * 10 + (code - 48);
    }
  }
  into[at++] = sign * value;
  return at;
}

function directoryKey(performance: Performance): string {
  return versionKey(performance.id, performance.seatsVersion ?? 0);
}

function versionKey(performanceId: number, seatsVersion: number): string {
  return `${performanceId}:${seatsVersion}`;
}

/** The seats of `directory` with the ids `seatIds`, in that order; unknown ids left out. */
function pick(directory: Directory, seatIds: readonly number[]): SeatListing[] {
  const seats: SeatListing[] = [];
  for (const id of seatIds) {
    const seat = directory.get(id);
    if (seat) seats.push(seat);
  }
  return seats;
}
