import { LRUCache } from 'lru-cache';
import type { SeatListing, SeatPage, SeatStatus } from '@app/ticketing';

/**
 * Each seat's JSON up to its status (`{"id":1,…,"currency":"KRW","status":"`), built once per
 * seat object: seat listings are immutable and shared by every page that shows them, so a page
 * is joined from these instead of stringifying 100 objects. Weak, so the fragments go with the
 * listings LocalCatalog evicts.
 */
const heads = new WeakMap<SeatListing, string>();

const TAILS: Record<SeatStatus, string> = {
  AVAILABLE: 'AVAILABLE"}',
  HELD: 'HELD"}',
  SOLD: 'SOLD"}',
  BLOCKED: 'BLOCKED"}',
};

/** Bound of the page bodies kept by {@link seatPageBody}, in bytes: ~1,300 pages of 100 seats. */
export const SEAT_PAGE_BODIES_MAX_BYTES = 16 * 1024 * 1024;

/** A page body as last made, with everything it was made of. */
interface Made {
  items: readonly SeatListing[];
  statuses: readonly SeatStatus[];
  body: Buffer;
}

/**
 * The last body made for a page, by its first seat, length and cursor. A hit is only used when
 * the page has the very same seat objects (LocalCatalog's copies: reloaded seats are other
 * objects) with the same statuses, so it can never answer with a status or a seat that changed.
 */
const made = new LRUCache<string, Made>({
  maxSize: SEAT_PAGE_BODIES_MAX_BYTES,
  // The body, plus the two arrays of references (8 bytes an element).
  sizeCalculation: (entry) => entry.body.length + 16 * entry.items.length + 100,
});

/**
 * The body of `GET /performances/:id/seats` as bytes to send: {@link seatPageJson}, encoded once
 * per (seats, statuses, cursor) and sent again as long as none of them changes. The static seat
 * data is the same for every reader; only the statuses are live, and a page whose statuses are
 * those of the last body made for it (the common case between two holds on it) costs a
 * comparison of 2 × its length instead of joining and encoding ~12 KB.
 */
export function seatPageBody(page: SeatPage): Buffer {
  const count = page.items.length;
  if (count === 0) return Buffer.from(seatPageJson(page));
  const key = `${page.items[0].id}:${count}:${page.nextCursor}`;
  const last = made.get(key);
  if (last !== undefined && sameSeats(last, page)) return last.body;
  const body = Buffer.from(seatPageJson(page));
  made.set(key, { items: page.items.slice(), statuses: page.statuses.slice(), body });
  return body;
}

function sameSeats(last: Made, page: SeatPage): boolean {
  const { items, statuses } = page;
  if (last.items.length !== items.length) return false;
  for (let i = 0; i < items.length; i += 1) {
    if (last.items[i] !== items[i] || last.statuses[i] !== statuses[i]) return false;
  }
  return true;
}

/**
 * The body of `GET /performances/:id/seats` (SeatPageDto): the same bytes `JSON.stringify` gives
 * for `{items: [{id, section, row, rowLabel, number, grade, price, currency, status}], nextCursor}`.
 */
export function seatPageJson(page: SeatPage): string {
  let json = '{"items":[';
  for (let i = 0; i < page.items.length; i += 1) {
    if (i > 0) json += ',';
    json += headOf(page.items[i]) + TAILS[page.statuses[i]];
  }
  return `${json}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
}

function headOf(seat: SeatListing): string {
  let head = heads.get(seat);
  if (head === undefined) {
    const fields = JSON.stringify({
      id: seat.id,
      section: seat.section,
      row: seat.row,
      rowLabel: seat.rowLabel,
      number: seat.number,
      grade: seat.grade,
      price: seat.price,
      currency: seat.currency,
      status: '',
    });
    // Cut before the closing `"}` of the empty status.
    head = fields.slice(0, -2);
    heads.set(seat, head);
  }
  return head;
}
