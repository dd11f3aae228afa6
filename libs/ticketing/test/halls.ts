import Redis from 'ioredis';
import { performanceKeys } from '../src/redis-keys';
import { SEAT_INFO_BYTES, SeatPlace } from '../src/seats/seating-layout';
import type { PerformanceRegistration } from '../src/seats/seat-state.store';

/**
 * Small halls drawn as text, for tests of best-available seating. Each row is a string, one
 * character a seat, seat 1 first: `.` free, `x` sold, `A` accessible, `C` companion (`a`, `c`
 * the same seats sold). Seat ids are sparse (not the layout positions) so the id ↔ position
 * mapping is exercised.
 */
export interface DrawnSection {
  name: string;
  grade?: string;
  rows: string[];
  /** Seat quality (0…1000); default: front rows and the row's centre best. */
  quality?: (row: number, number: number) => number;
}

export interface DrawnHall {
  places: SeatPlace[];
  sold: number[];
  /** Seat id of section `name`, row, number (1-based). */
  seat(section: string, row: number, number: number): number;
  /** "section row-number" of a seat id, for readable assertions. */
  label(seatId: number): string;
}

export function seatIdAt(position: number): number {
  return 1000 + position * 7;
}

export function drawHall(sections: DrawnSection[]): DrawnHall {
  const places: SeatPlace[] = [];
  const sold: number[] = [];
  const ids = new Map<string, number>();
  const labels = new Map<number, string>();
  for (const section of sections) {
    section.rows.forEach((text, rowIndex) => {
      const row = rowIndex + 1;
      const centre = (text.length + 1) / 2;
      for (let number = 1; number <= text.length; number += 1) {
        const mark = text[number - 1];
        const id = seatIdAt(places.length);
        const quality =
          section.quality?.(row, number) ??
          Math.max(0, 1000 - 100 * (row - 1) - Math.round(10 * Math.abs(number - centre)));
        places.push({
          id,
          section: section.name,
          row,
          number,
          grade: section.grade ?? 'R',
          quality,
          accessible: mark === 'A' || mark === 'a',
          companion: mark === 'C' || mark === 'c',
        });
        if (mark === 'x' || mark === 'a' || mark === 'c') sold.push(id);
        ids.set(`${section.name}/${row}/${number}`, id);
        labels.set(id, `${section.name} ${row}-${number}`);
      }
    });
  }
  return {
    places,
    sold,
    seat: (section, row, number) => {
      const id = ids.get(`${section}/${row}/${number}`);
      if (id === undefined) throw new Error(`no seat ${section} ${row}-${number}`);
      return id;
    },
    label: (seatId) => labels.get(seatId) ?? `#${seatId}`,
  };
}

/** A registration of the drawn hall, on sale since a minute ago, every seat at `price`. */
export function hallRegistration(performanceId: number, hall: DrawnHall, price = 100): PerformanceRegistration {
  return {
    performanceId,
    salesOpenAt: new Date(Date.now() - 60_000),
    currency: 'KRW',
    seats: hall.places.map((place) => ({ id: place.id, price })),
    sold: hall.sold,
    places: hall.places,
  };
}

/** Bytes per row or section slot of the runs string. */
const SLOT_BYTES = 34;

/**
 * How many single free seats (a free neighbour whose other neighbour is taken or the row's end)
 * taking `size` seats from index `start` of a row whose free seats are `free` leaves beside them.
 */
export function singlesBeside(free: boolean[], start: number, size: number): number {
  const left = start - 1;
  const right = start + size;
  const singleLeft = left >= 0 && free[left] && (left === 0 || !free[left - 1]);
  const singleRight = right < free.length && free[right] && (right === free.length - 1 || !free[right + 1]);
  return (singleLeft ? 1 : 0) + (singleRight ? 1 : 0);
}

/**
 * Where the seating data (free bitmap, row and section runs) disagrees with the seat letters,
 * read in one MULTI: an empty list when they agree. The layout is given as registered.
 *
 * A row listed in the layout's 'dirty' field (seat-id holds deferred its refresh, seating.lua)
 * may keep a slot of before those holds; every other row's slot is exact, and each section's
 * slot is the most of its rows' slots as stored. With no row listed, every slot is exact.
 */
export async function seatingDisagreements(
  redis: Redis,
  performanceId: number,
  places: SeatPlace[],
): Promise<string[]> {
  const keys = performanceKeys(performanceId);
  const replies = (await redis
    .multi()
    .hgetall(keys.seats)
    .getBuffer(keys.free)
    .getBuffer(keys.runs)
    .getBuffer(keys.seatInfo)
    .hget(keys.seating, 'dirty')
    .exec())!;
  const letters = replies[0][1] as Record<string, string>;
  const free = (replies[1][1] as Buffer | null) ?? Buffer.alloc(0);
  const runs = (replies[2][1] as Buffer | null) ?? Buffer.alloc(0);
  const info = replies[3][1] as Buffer;
  const dirty = new Set(((replies[4][1] as string | null) ?? '').split(',').filter(Boolean).map(Number));
  const problems: string[] = [];
  const bitAt = (position: number) => ((free[position >> 3] ?? 0) >> (7 - (position & 7))) & 1;
  // Slots of 34 bytes: longest free run, 1 + best free quality, then for 2, 3 and 4 seats side by
  // side leaving no single free seat beside them 1 + the best quality sum (0: none) and (rows only)
  // the seat index from 1 of the first such best window (0: none), 1 + the best free accessible
  // seat's quality, then the same two fields for 5, 6, 7 and 8 seats.
  const FIELDS = 17;
  const cleanField = (size: number) => (size <= 4 ? 2 * size - 2 : 2 * size - 1);
  const slotAt = (slot: number) =>
    runs.length >= SLOT_BYTES * slot + SLOT_BYTES
      ? Array.from({ length: FIELDS }, (_, field) => runs.readUInt16BE(SLOT_BYTES * slot + 2 * field))
      : new Array<number>(FIELDS).fill(0);
  // Rows and sections as buildSeatingLayout numbers them.
  const rowSlots: number[][] = [];
  const sectionOfRow: string[] = [];
  const rowPlaces: SeatPlace[][] = [];
  let current = 0;
  places.forEach((place, position) => {
    if (info.readUInt32BE(position * SEAT_INFO_BYTES) !== place.id) problems.push(`seat info ${position}`);
    const isFree = letters[String(place.id)] === 'A' ? 1 : 0;
    if (bitAt(position) !== isFree)
      problems.push(`bit of seat ${place.id} is ${bitAt(position)}, letter ${letters[place.id]}`);
    const previous = places[position - 1];
    if (!previous || previous.section !== place.section || previous.row !== place.row) {
      rowSlots.push(new Array<number>(FIELDS).fill(0));
      sectionOfRow.push(place.section);
      rowPlaces.push([]);
      current = 0;
    }
    rowPlaces[rowPlaces.length - 1].push(place);
    current = isFree ? current + 1 : 0;
    const slot = rowSlots[rowSlots.length - 1];
    slot[0] = Math.max(slot[0], current);
    if (isFree) slot[1] = Math.max(slot[1], place.quality + 1);
    if (isFree && place.accessible) slot[8] = Math.max(slot[8], place.quality + 1);
  });
  rowPlaces.forEach((row, r) => {
    const free = row.map((place) => letters[String(place.id)] === 'A');
    for (let size = 2; size <= 8; size += 1) {
      const field = cleanField(size);
      for (let start = 0; start + size <= row.length; start += 1) {
        const seats = row.slice(start, start + size);
        if (!free.slice(start, start + size).every(Boolean) || singlesBeside(free, start, size) > 0) continue;
        const sum = seats.reduce((total, place) => total + place.quality, 1);
        if (sum > rowSlots[r][field]) {
          rowSlots[r][field] = sum;
          rowSlots[r][field + 1] = start + 1;
        }
      }
    }
  });
  // The fields a section's slot holds the most of: run, best seat, clean windows, accessible best.
  const mostFields = [0, 1, 2, 4, 6, 8, 9, 11, 13, 15];
  rowSlots.forEach((truth, row) => {
    const stored = slotAt(row);
    if (!dirty.has(row) && stored.join() !== truth.join())
      problems.push(`slot of row ${row} is ${stored.join()}, truly ${truth.join()}`);
  });
  const sections = [...new Set(sectionOfRow)];
  sections.forEach((section, index) => {
    const own = rowSlots.map((_, row) => row).filter((row) => sectionOfRow[row] === section);
    const most = rowSlots[0].map((_, field) =>
      mostFields.includes(field) ? Math.max(...own.map((row) => slotAt(row)[field])) : 0,
    );
    const stored = slotAt(rowSlots.length + index);
    if (stored.join() !== most.join())
      problems.push(`slot of section ${section} is ${stored.join()}, the most of its rows' ${most.join()}`);
  });
  return problems;
}
