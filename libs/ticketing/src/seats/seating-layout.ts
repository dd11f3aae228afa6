/**
 * The static part of the best-available seating data of one performance (docs/seating.md;
 * the field formats are those of lua-includes/seating.lua and holds/hold-best-available.lua).
 */

import { gradeKey, sectionNameKey } from '../catalog/section-names';

/** One seat as the layout needs it, in layout (position) order. */
export interface SeatPlace {
  id: number;
  section: string;
  row: number;
  number: number;
  grade: string;
  /** 0…1000, higher is better. */
  quality: number;
  accessible: boolean;
  companion: boolean;
}

export interface SeatingLayout {
  /** Fields of the seating hash, without `ready` (written once the free data is built); `sections` is bytes. */
  fields: Map<string, string | Buffer>;
  /** 8 bytes per layout position: seat id (u32), quality (u16), flags (u8: 1 accessible, 2 companion), 0. */
  seatInfo: Buffer;
  /** Seats in each row, by row index (rows count from 0, in layout order). */
  rowSizes: number[];
}

/** Bytes per seat in the seat-info string. */
export const SEAT_INFO_BYTES = 8;
/** Bytes per section in the `sections` field: first row index, rows, slot, marked seats (u24 each, big-endian). */
export const SECTION_RECORD_BYTES = 12;
/**
 * The seating data's format, the value of the layout hash's `ready` field once built: 4 since row
 * and section slots carry the best clean windows of 2…8 seats and the best free accessible
 * seat (34 bytes, docs/seating.md); 5 since the `sn:` fields are keyed by the folded section name
 * (sectionNameKey); 6 since the `g:` fields are keyed by the folded grade (gradeKey); 7 since the
 * sections' records are one `sections` field of bytes (SECTION_RECORD_BYTES a section) instead of
 * an `s<index>` text field each: a search read and parsed eight of those on every call; 8 since
 * section names and grades are fully case-folded (foldCase: `Straße` and `STRASSE` are one name).
 * hold-best-available.lua (and hold-seats.lua, for the noOrphanSeats rule), given it in ARGV
 * (holdScriptArgs, holdSeatsArgs), answer NO_LAYOUT to any other, so data built by an older version is built again;
 * data of a newer one (a newer version's, during a rolling deploy) is never built back (seating-format.lua,
 * SeatStateRebuilder.ensureSeating: a 503 instead).
 */
export const SEATING_FORMAT = 8;

/**
 * The seating layout of `seats`, given in layout order: a row is a run of consecutive seats of
 * one section and row number, a section a run of consecutive rows. A section whose rows are not
 * consecutive in that order is still one section (its rows are listed where they stand). Seats
 * of a row need not be numbered without gaps: neighbours in the layout are neighbours in the row.
 */
export function buildSeatingLayout(seats: readonly SeatPlace[]): SeatingLayout {
  const fields = new Map<string, string | Buffer>();
  const seatInfo = Buffer.alloc(seats.length * SEAT_INFO_BYTES);
  interface Row {
    first: number;
    seats: number;
    section: number;
    top: number;
    /** Seats marked accessible or companion: the seats an accessible request may be given. */
    marked: number;
  }
  interface Section {
    name: string;
    grade: string;
    rows: number[];
    top: number;
    marked: number;
  }
  const rows: Row[] = [];
  const sections: Section[] = [];
  const sectionByName = new Map<string, number>();
  seats.forEach((seat, position) => {
    let sectionIndex = sectionByName.get(seat.section);
    if (sectionIndex === undefined) {
      sectionIndex = sections.length;
      sectionByName.set(seat.section, sectionIndex);
      sections.push({ name: seat.section, grade: seat.grade, rows: [], top: 0, marked: 0 });
    }
    const previous = position > 0 ? seats[position - 1] : undefined;
    if (!previous || previous.section !== seat.section || previous.row !== seat.row) {
      sections[sectionIndex].rows.push(rows.length);
      rows.push({ first: position, seats: 0, section: sectionIndex, top: 0, marked: 0 });
    }
    const row = rows[rows.length - 1];
    row.seats += 1;
    row.top = Math.max(row.top, seat.quality);
    const flags = (seat.accessible ? 1 : 0) | (seat.companion ? 2 : 0);
    row.marked += flags !== 0 ? 1 : 0;
    fields.set(String(seat.id), `${position},${rows.length - 1}`);
    const offset = position * SEAT_INFO_BYTES;
    seatInfo.writeUInt32BE(seat.id, offset);
    seatInfo.writeUInt16BE(seat.quality, offset + 4);
    seatInfo.writeUInt8(flags, offset + 6);
  });
  rows.forEach((row, index) => {
    fields.set(`r${index}`, `${row.first},${row.seats},${row.section},${row.top},${row.marked}`);
    const section = sections[row.section];
    section.top = Math.max(section.top, row.top);
    section.marked += row.marked;
  });
  const byQuality = (a: { top: number; index: number }, b: { top: number; index: number }) =>
    b.top - a.top || a.index - b.index;
  const sectionRecords = Buffer.alloc(sections.length * SECTION_RECORD_BYTES);
  sections.forEach((section, index) => {
    // The section's rows must be consecutive row indexes (the scripts read them as a range).
    const firstRow = section.rows[0];
    if (section.rows.some((row, i) => row !== firstRow + i)) {
      throw new Error(`section ${section.name}: its rows are not consecutive in layout order`);
    }
    // The section's slot follows the rows' slots.
    const record = [firstRow, section.rows.length, rows.length + index, section.marked];
    record.forEach((value, i) => sectionRecords.writeUIntBE(value, index * SECTION_RECORD_BYTES + 3 * i, 3));
    // Format 6's text record, read by nothing here: replicas of the version before, during a
    // rolling upgrade, read it to free seats (release, expiry, cancellation) on data built by this one.
    fields.set(
      `s${index}`,
      `${firstRow},${section.rows.length},${section.top},${rows.length + index},${section.marked}`,
    );
    // By the name's folded form: best-available `section` finds it in any casing (sectionNameKey).
    fields.set(`sn:${sectionNameKey(section.name)}`, String(index));
  });
  fields.set('sections', sectionRecords);
  const ranked = sections.map((section, index) => ({ top: section.top, index, grade: section.grade })).sort(byQuality);
  fields.set('all', ranked.map((section) => section.index).join(','));
  // By the grade's folded form: best-available `grade` finds it in any casing, and sections whose
  // grade is written `VIP` and `vip` are one grade (gradeKey).
  for (const grade of new Set(sections.map((section) => gradeKey(section.grade)))) {
    fields.set(
      `g:${grade}`,
      ranked
        .filter((section) => gradeKey(section.grade) === grade)
        .map((section) => section.index)
        .join(','),
    );
  }
  return { fields, seatInfo, rowSizes: rows.map((row) => row.seats) };
}
