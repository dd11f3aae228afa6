import type { SeatStatus } from '../seats/seat-status';

export interface EventView {
  id: number;
  title: string;
  description: string | null;
  venue: string;
  /** ISO 4217 code of every price and amount of the event. */
  currency: string;
  createdAt: string;
  updatedAt: string;
}

export interface PerformanceView {
  id: number;
  eventId: number;
  startsAt: string;
  salesOpenAt: string;
  totalSeats: number;
  /** ISO 4217 code of its event, which its seat prices are in. */
  currency: string;
}

/**
 * A seat's static data: it never changes after its performance is created, so one immutable
 * object serves every page that shows the seat (see LocalCatalog).
 */
export interface SeatListing {
  readonly id: number;
  /** 1-based place in the performance's layout order (what cursors count). */
  readonly position: number;
  readonly section: string;
  readonly row: number;
  readonly number: number;
  readonly grade: string;
  /** An integer in minor units of `currency`. */
  readonly price: number;
  readonly currency: string;
}

/** A page of seats in layout order: `items[i]` has the live status `statuses[i]`. */
export interface SeatPage {
  items: readonly SeatListing[];
  statuses: SeatStatus[];
  nextCursor: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SectionInput {
  name: string;
  grade: string;
  /** Price of each seat, an integer in minor units of the event's currency. */
  price: number;
  rows: number;
  seatsPerRow: number;
}
