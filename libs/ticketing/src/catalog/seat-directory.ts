import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { PerformanceRepository, SeatGroupRow } from '@app/database';
import type { Performance, SeatListing } from './catalog.types';

/** Bound of the directory, in seats: two 100,000-seat stadiums (as LocalCatalog). */
export const SEAT_DIRECTORY_MAX_SEATS = 200_000;

/** What the seats of one group (one section, row, grade and price) share. */
interface SeatGroup {
  section: string;
  row: number;
  grade: string;
  /** An integer in minor units of the performance's currency. */
  price: number;
}

/**
 * The seats of one performance, column-wise: `slots` maps a seat id to its slot s, and the seat
 * has the number `numbers[s]`, the layout position `positions[s]` and the rest from
 * `groups[groupOf[s]]`. A SeatListing is built only when a seat is asked for: a stadium's
 * directory loads without building one object per seat.
 */
class Directory {
  private readonly slots = new Map<number, number>();
  private readonly groupOf: Uint32Array;
  private readonly numbers: Int32Array;
  private readonly positions: Int32Array;
  private readonly groups: SeatGroup[] = [];

  constructor(
    rows: readonly SeatGroupRow[],
    private readonly currency: string,
  ) {
    const lists = rows.map((row) => ({
      ids: row.ids.split(','),
      numbers: row.numbers.split(','),
      positions: row.positions.split(','),
    }));
    const size = lists.reduce((sum, list) => sum + list.ids.length, 0);
    this.groupOf = new Uint32Array(size);
    this.numbers = new Int32Array(size);
    this.positions = new Int32Array(size);
    let slot = 0;
    rows.forEach((row, group) => {
      this.groups.push({ section: row.section, row: row.row, grade: row.grade, price: row.price });
      const { ids, numbers, positions } = lists[group];
      for (let i = 0; i < ids.length; i += 1, slot += 1) {
        this.slots.set(Number(ids[i]), slot);
        this.groupOf[slot] = group;
        this.numbers[slot] = Number(numbers[i]);
        this.positions[slot] = Number(positions[i]);
      }
    });
  }

  get size(): number {
    return this.slots.size;
  }

  /** The seat with this id, or undefined when the performance has none. */
  get(id: number): SeatListing | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    const group = this.groups[this.groupOf[slot]];
    return Object.freeze({
      id,
      position: this.positions[slot],
      section: group.section,
      row: group.row,
      number: this.numbers[slot],
      grade: group.grade,
      price: group.price,
      currency: this.currency,
    });
  }
}

/**
 * Seats of a performance by id, in this process: what holds and purchases show of each seat
 * (section, row, number, grade, price). A seat's static data changes only with its performance's
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

  constructor(private readonly performances: PerformanceRepository) {
    this.directories = new LRUCache<string, Directory>({
      maxSize: SEAT_DIRECTORY_MAX_SEATS,
      sizeCalculation: (directory) => Math.max(1, directory.size),
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
          const directory = new Directory(rows, performance.currency);
          this.directories.set(key, directory);
          return directory;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }
}

function directoryKey(performance: Performance): string {
  return `${performance.id}:${performance.seatsVersion ?? 0}`;
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
