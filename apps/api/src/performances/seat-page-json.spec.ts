import { describe, expect, it } from 'vitest';
import type { SeatListing, SeatPage, SeatStatus } from '@app/ticketing';
import { seatPageBody, seatPageJson } from './seat-page-json';

const seat = (id: number, section: string, grade: string, price: number): SeatListing =>
  Object.freeze({ id, position: id, section, row: 3, rowLabel: 'C', number: id, grade, price, currency: 'EUR' });

/** What the route answered before seatPageJson: the page object through JSON.stringify. */
function stringified(page: SeatPage): string {
  return JSON.stringify({
    items: page.items.map(({ id, section, row, rowLabel, number, grade, price, currency }, i) => ({
      id,
      section,
      row,
      rowLabel,
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
    ['last page', ['SOLD', 'BLOCKED', 'AVAILABLE'], null],
  ])('gives the bytes JSON.stringify gives (%s)', (_, statuses, nextCursor) => {
    const page = { items: seats, statuses, nextCursor };
    expect(seatPageJson(page)).toBe(stringified(page));
    // Again, from the fragments kept for these seat objects.
    expect(seatPageJson(page)).toBe(stringified(page));
    expect(JSON.parse(seatPageJson(page)).items[1]).toEqual({
      id: 2,
      section: 'Balcón ñ 東',
      row: 3,
      rowLabel: 'C',
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

describe('seatPageBody', () => {
  const seats = [seat(11, 'Floor', 'VIP', 220000), seat(12, 'Balcón ñ 東', 'R', 0), seat(13, 'Stand', 'S', 2100)];

  it('sends the bytes of seatPageJson, the same Buffer again while nothing changed', () => {
    const page = { items: seats, statuses: ['AVAILABLE', 'HELD', 'SOLD'] as SeatStatus[], nextCursor: 'eyJwIjoxM30' };
    const first = seatPageBody(page);
    expect(first.toString('utf8')).toBe(stringified(page));
    // Another page object with the same seats and statuses (a later request).
    expect(seatPageBody({ ...page, items: [...seats], statuses: [...page.statuses] })).toBe(first);
    expect(seatPageBody({ items: [], statuses: [], nextCursor: null }).toString('utf8')).toBe(
      '{"items":[],"nextCursor":null}',
    );
  });

  it('never sends a body whose statuses or seats have changed since', () => {
    const page = { items: seats, statuses: ['AVAILABLE', 'AVAILABLE', 'AVAILABLE'] as SeatStatus[], nextCursor: null };
    const before = seatPageBody(page);
    const held = { ...page, statuses: ['AVAILABLE', 'AVAILABLE', 'HELD'] as SeatStatus[] };
    expect(seatPageBody(held).toString('utf8')).toBe(stringified(held));
    // The same first seat, length and cursor, another seat in the middle (a filtered page).
    const other = { ...page, items: [seats[0], seat(14, 'Stand', 'S', 2100), seats[2]] };
    expect(seatPageBody(other).toString('utf8')).toBe(stringified(other));
    // The seats reloaded after an admin write: other objects, another price.
    const repriced = { ...page, items: [seat(11, 'Floor', 'VIP', 230000), seats[1], seats[2]] };
    expect(seatPageBody(repriced).toString('utf8')).toBe(stringified(repriced));
    expect(seatPageBody(page).toString('utf8')).toBe(before.toString('utf8'));
  });
});
