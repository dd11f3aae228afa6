import type { SeatListing, SeatPage, SeatStatus } from '@app/ticketing';

/**
 * Each seat's JSON up to its status (`{"id":1,…,"currency":"KRW","status":"`), built once per
 * seat object: seat listings are immutable and shared by every page that shows them, so a page
 * is joined from these instead of stringifying 100 objects. Weak, so the fragments go with the
 * listings LocalCatalog evicts.
 */
const heads = new WeakMap<SeatListing, string>();

const TAILS: Record<SeatStatus, string> = { AVAILABLE: 'AVAILABLE"}', HELD: 'HELD"}', SOLD: 'SOLD"}' };

/**
 * The body of `GET /performances/:id/seats` (SeatPageDto): the same bytes `JSON.stringify` gives
 * for `{items: [{id, section, row, number, grade, price, currency, status}], nextCursor}`.
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
