import { describe, expect, it } from 'vitest';
import type { SeatListing, SeatPage, SeatStatus } from '@app/ticketing';
import { seatPageJson } from './seat-page-json';

const seat = (id: number, section: string, grade: string, price: number): SeatListing =>
  Object.freeze({ id, position: id, section, row: 3, number: id, grade, price, currency: 'EUR' });

/** What the route answered before seatPageJson: the page object through JSON.stringify. */
function stringified(page: SeatPage): string {
  return JSON.stringify({
    items: page.items.map(({ id, section, row, number, grade, price, currency }, i) => ({
      id,
      section,
      row,
      number,
      grade,
      price,
      currency,
      status: page.statuses[i],
    })),
    nextCursor: page.nextCursor,
  });
}

describe('seatPageJson', () => {
  const seats = [seat(1, 'Floor', 'VIP', 220000), seat(2, 'Balcón ñ 東', 'R_1-a', 0), seat(3, 'Stand', 'S', 2100)];

  it.each<[string, SeatStatus[], string | null]>([
    ['mixed statuses, more pages', ['AVAILABLE', 'HELD', 'SOLD'], 'eyJwIjozfQ'],
    ['last page', ['SOLD', 'SOLD', 'AVAILABLE'], null],
  ])('gives the bytes JSON.stringify gives (%s)', (_, statuses, nextCursor) => {
    const page = { items: seats, statuses, nextCursor };
    expect(seatPageJson(page)).toBe(stringified(page));
    // Again, from the fragments kept for these seat objects.
    expect(seatPageJson(page)).toBe(stringified(page));
    expect(JSON.parse(seatPageJson(page)).items[1]).toEqual({
      id: 2,
      section: 'Balcón ñ 東',
      row: 3,
      number: 2,
      grade: 'R_1-a',
      price: 0,
      currency: 'EUR',
      status: statuses[1],
    });
  });

  it('serialises an empty page', () => {
    expect(seatPageJson({ items: [], statuses: [], nextCursor: null })).toBe('{"items":[],"nextCursor":null}');
  });
});
