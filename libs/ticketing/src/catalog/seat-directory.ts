import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { PerformanceRepository } from '@app/database';
import { toSeatListing } from './catalog-copies';
import type { Performance, SeatListing } from './catalog.types';

/** Bound of the directory, in seats: two 100,000-seat stadiums (as LocalCatalog). */
export const SEAT_DIRECTORY_MAX_SEATS = 200_000;

type Directory = ReadonlyMap<number, SeatListing>;

/**
 * Seats of a performance by id, in this process: what holds and purchases show of each seat
 * (section, row, number, grade, price). A seat's static data changes only with its performance's
 * `seatsVersion` (a section's price), which is part of the key, so no catalog version is needed:
 * one PostgreSQL read per performance and seats version per process, shared by concurrent callers,
 * then none. Bounded by an LRU counted in seats ({@link SEAT_DIRECTORY_MAX_SEATS}).
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
    const key = `${performance.id}:${performance.seatsVersion ?? 0}`;
    const directory = this.directories.get(key) ?? (await this.load(key, performance));
    const seats: SeatListing[] = [];
    for (const id of seatIds) {
      const seat = directory.get(id);
      if (seat) seats.push(seat);
    }
    return seats;
  }

  private load(key: string, performance: Performance): Promise<Directory> {
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.performances
        .seatsOf(performance.id)
        .then((rows) => {
          const directory = new Map(rows.map((row) => [row.id, toSeatListing(row, performance.currency)]));
          this.directories.set(key, directory);
          return directory;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }
}
