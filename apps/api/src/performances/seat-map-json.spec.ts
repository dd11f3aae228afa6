import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MapSeatRow } from '@app/database';
import { buildSeatMap, generateLayout, Performance, SALES_STATES, SeatStatus, SectionInput } from '@app/ticketing';
import { ifNoneMatchHits, SeatMapAnswer, seatMapEtag, seatMapJson } from './seat-map-json';

const PERFORMANCE: Performance = {
  id: 7,
  eventId: 1,
  startsAt: new Date('2030-03-01T19:00:00Z'),
  salesOpenAt: new Date('2030-01-01T00:00:00Z'),
  salesCloseAt: null,
  cancelUntil: null,
  status: 'ON_SALE',
  totalSeats: 0,
  currency: 'EUR',
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'UTC',
};

/** The seats PostgreSQL would give for a layout, in position order. */
function rowsOf(sections: SectionInput[]): MapSeatRow[] {
  const geometries = generateLayout(sections);
  let id = 100;
  return sections.flatMap((section, s) =>
    geometries[s].x.map((x, k) => ({
      id: (id += 1),
      section: section.name,
      row: Math.floor(k / section.seatsPerRow) + 1,
      rowLabel: geometries[s].rowLabels[Math.floor(k / section.seatsPerRow)],
      number: (k % section.seatsPerRow) + 1,
      grade: section.grade,
      price: section.price,
      x,
      y: geometries[s].y[k],
      quality: geometries[s].quality[k],
      accessible: geometries[s].accessible[k],
      companion: geometries[s].companion[k],
    })),
  );
}

/** What the route would answer through JSON.stringify of the nested object. */
function stringified({ map, statuses, salesState }: SeatMapAnswer): string {
  let i = 0;
  return JSON.stringify({
    performanceId: map.performanceId,
    currency: map.currency,
    focalPoint: map.focalPoint,
    bounds: map.bounds,
    sections: map.sections.map(({ name, grade, price, currency, bounds, rows }) => ({
      name,
      grade,
      price,
      currency,
      bounds,
      rows: rows.map(({ row, rowLabel, seats }) => ({
        row,
        rowLabel,
        seats: seats.map((seat) => ({ ...seat, status: statuses[i++] })),
      })),
    })),
    salesState,
  });
}

const status = fc.constantFrom<SeatStatus>('AVAILABLE', 'HELD', 'SOLD', 'BLOCKED');
const layout = fc.array(
  fc.record({
    rows: fc.integer({ min: 1, max: 4 }),
    seatsPerRow: fc.integer({ min: 1, max: 5 }),
    grade: fc.constantFrom('VIP', 'R', 'Balcón ñ 東', 'a"b\\c'),
    price: fc.integer({ min: 0, max: 100_000_000 }),
  }),
  { minLength: 1, maxLength: 4 },
);

describe('seatMapJson', () => {
  it('gives the bytes JSON.stringify gives, for any hall and statuses, again from its cached pieces', () => {
    fc.assert(
      fc.property(
        layout.chain((sections) => {
          const seats = sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
          return fc.tuple(
            fc.constant(sections),
            fc.array(status, { minLength: seats, maxLength: seats }),
            fc.constantFrom(...SALES_STATES),
          );
        }),
        ([sections, statuses, salesState]) => {
          const inputs = sections.map((s, i) => ({ ...s, name: `S${i}"` }));
          const map = buildSeatMap('42', PERFORMANCE, { x: 0, y: -1 }, rowsOf(inputs));
          const live = { map, statuses, salesState };
          expect(seatMapJson(live)).toBe(stringified(live));
          expect(seatMapJson(live)).toBe(stringified(live));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a strong ETag that changes with any status and with the catalog version', () => {
    const rows = rowsOf([{ name: 'A', grade: 'R', price: 10, rows: 2, seatsPerRow: 2 }]);
    const statuses: SeatStatus[] = ['AVAILABLE', 'HELD', 'SOLD', 'AVAILABLE'];
    const map = buildSeatMap('3', PERFORMANCE, { x: 0, y: 0 }, rows);
    const salesState = 'ON_SALE' as const;
    const etag = seatMapEtag({ map, statuses, salesState });
    expect(etag).toMatch(/^"7\.3\.[A-Za-z0-9_-]+"$/);
    expect(seatMapEtag({ map, statuses: [...statuses], salesState })).toBe(etag);
    expect(seatMapEtag({ map, statuses: ['AVAILABLE', 'HELD', 'SOLD', 'HELD'], salesState })).not.toBe(etag);
    expect(seatMapEtag({ map, statuses, salesState: 'CANCELED' })).not.toBe(etag);
    expect(seatMapEtag({ map: buildSeatMap('4', PERFORMANCE, { x: 0, y: 0 }, rows), statuses, salesState })).not.toBe(
      etag,
    );
  });

  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['"t"', true],
    ['W/"t"', true],
    ['"a", "t"', true],
    ['*', true],
    ['"a"', false],
    ['t', false],
    ['', false],
  ])('If-None-Match %j matches "t": %s', (header, hits) => {
    expect(ifNoneMatchHits(header, '"t"')).toBe(hits);
  });
});
