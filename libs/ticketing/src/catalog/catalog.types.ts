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

export interface SeatView {
  id: number;
  section: string;
  row: number;
  number: number;
  grade: string;
  /** An integer in minor units of `currency`. */
  price: number;
  currency: string;
  status: SeatStatus;
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
