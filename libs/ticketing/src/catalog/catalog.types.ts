import type { SeatStatus } from '../seats/seat-status';

export interface EventView {
  id: number;
  title: string;
  description: string | null;
  venue: string;
  createdAt: string;
  updatedAt: string;
}

export interface PerformanceView {
  id: number;
  eventId: number;
  startsAt: string;
  salesOpenAt: string;
  totalSeats: number;
}

export interface SeatView {
  id: number;
  section: string;
  row: number;
  number: number;
  grade: string;
  price: number;
  status: SeatStatus;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SectionInput {
  name: string;
  grade: string;
  price: number;
  rows: number;
  seatsPerRow: number;
}
