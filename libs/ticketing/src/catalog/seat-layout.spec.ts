import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import type { MapPoint, SectionInput } from './catalog.types';
import { generateLayout, MAX_QUALITY, rowLabel, SectionGeometry } from './seat-layout';

const section = (overrides: Partial<SectionInput> = {}): SectionInput => ({
  name: 'A',
  grade: 'R',
  price: 1000,
  rows: 2,
  seatsPerRow: 3,
  ...overrides,
});

/** Every seat of the geometries with its section's rank, flattened. */
function seatsOf(sections: SectionInput[], geometries: SectionGeometry[]) {
  return geometries.flatMap((geometry, s) =>
    geometry.x.map((x, k) => ({
      section: s,
      rank: sections[s].rank,
      x,
      y: geometry.y[k],
      quality: geometry.quality[k],
    })),
  );
}

function invalidLayout(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ kind: 'invalid', code: 'InvalidLayout' });
    return error as DomainError;
  }
  throw new Error('the layout was accepted');
}

describe('rowLabel', () => {
  it.each([
    [1, 'A'],
    [2, 'B'],
    [26, 'Z'],
    [27, 'AA'],
    [52, 'AZ'],
    [53, 'BA'],
    [702, 'ZZ'],
    [703, 'AAA'],
    [1000, 'ALL'],
    [18_278, 'ZZZ'],
  ])('labels row %i %s', (row, label) => {
    expect(rowLabel(row)).toBe(label);
  });

  it('gives every row of a 1,000-row section its own label, in order of length then letters', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => rowLabel(i + 1));
    expect(new Set(labels).size).toBe(1000);
    const sorted = [...labels].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    expect(sorted).toEqual(labels);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses %s', (row) => {
    expect(() => rowLabel(row)).toThrow(RangeError);
  });
});

describe('generateLayout', () => {
  it('labels the rows A, B, … unless the section gives its own labels', () => {
    const [generated, own] = generateLayout([
      section({ rows: 28 }),
      section({ name: 'B', rows: 2, rowLabels: ['Balcony 1', 'Balcony 2'] }),
    ]);
    expect(generated.rowLabels).toHaveLength(28);
    expect(generated.rowLabels.slice(0, 2)).toEqual(['A', 'B']);
    expect(generated.rowLabels.slice(25)).toEqual(['Z', 'AA', 'AB']);
    expect(own.rowLabels).toEqual(['Balcony 1', 'Balcony 2']);
  });

  it('counts a row label in code points, as its column does: ten letters outside the BMP fit', () => {
    const label = '\u{1D400}'.repeat(10);
    expect(label).toHaveLength(20);
    const [own] = generateLayout([section({ rowLabels: [label, 'B'] })]);
    expect(own.rowLabels).toEqual([label, 'B']);
  });

  it('places sections without origins side by side, centred, row 1 in front, one aisle apart', () => {
    const [a, b] = generateLayout([section({ name: 'A', seatsPerRow: 3 }), section({ name: 'B', seatsPerRow: 2 })]);
    // Widths 2 and 1, an aisle of 2 between seat centres: 5 in all, so A starts at −2.5.
    expect(a.x).toEqual([-2.5, -1.5, -0.5, -2.5, -1.5, -0.5]);
    expect(a.y).toEqual([1, 1, 1, 2, 2, 2]);
    expect(b.x).toEqual([1.5, 2.5, 1.5, 2.5]);
    expect(b.y).toEqual([1, 1, 2, 2]);
  });

  it('scores the closest seat MAX_QUALITY and the furthest 0 without ranks', () => {
    const [geometry] = generateLayout([section({ rows: 3, seatsPerRow: 3 })]);
    expect(geometry.quality[1]).toBe(MAX_QUALITY); // row 1 seat 2, at (0, 1)
    expect(Math.min(...geometry.quality)).toBe(0); // a back corner
  });

  it('places a section at its origin, pitch, row spacing and angle', () => {
    const [geometry] = generateLayout([
      section({ origin: { x: 10, y: 5 }, seatPitch: 2, rowSpacing: 3, angle: 90, rows: 2, seatsPerRow: 2 }),
    ]);
    // Turned a quarter: along the row is +y, row to row is −x.
    expect(geometry.x).toEqual([10, 10, 7, 7]);
    expect(geometry.y).toEqual([5, 7, 5, 7]);
  });

  it('a focal point elsewhere makes the seats near it the best', () => {
    const [geometry] = generateLayout([section({ rows: 1, seatsPerRow: 5 })], { x: 100, y: 1 });
    expect(geometry.quality).toEqual([...geometry.quality].sort((p, q) => p - q));
    expect(geometry.quality[4]).toBe(MAX_QUALITY);
  });

  it('ranked sections score above unranked ones whatever the distance, lower ranks first', () => {
    const sections = [
      section({ name: 'Front', rows: 2, seatsPerRow: 4 }),
      section({ name: 'Middle', rows: 2, seatsPerRow: 4, rank: 2 }),
      section({ name: 'Back', rows: 2, seatsPerRow: 4, rank: 1 }),
    ];
    const [front, middle, back] = generateLayout(sections);
    expect(Math.min(...back.quality)).toBeGreaterThan(Math.max(...middle.quality));
    expect(Math.min(...middle.quality)).toBeGreaterThan(Math.max(...front.quality));
    expect(Math.max(...back.quality)).toBe(MAX_QUALITY);
    expect(Math.min(...front.quality)).toBe(0);
  });

  it('marks accessible and companion seats', () => {
    const [geometry] = generateLayout([
      section({
        accessible: [{ row: 2, number: 2 }],
        companions: [
          { row: 2, number: 1 },
          { row: 2, number: 3 },
        ],
      }),
    ]);
    expect(geometry.accessible).toEqual([false, false, false, false, true, false]);
    expect(geometry.companion).toEqual([false, false, false, true, false, true]);
  });

  it.each<[string, SectionInput[]]>([
    ['an origin on some sections only', [section({ origin: { x: 0, y: 0 } }), section({ name: 'B' })]],
    ['an angle without an origin', [section({ angle: 10 })]],
    ['an accessible seat outside its section', [section({ accessible: [{ row: 3, number: 1 }] })]],
    ['a seat past the end of its row', [section({ accessible: [{ row: 1, number: 4 }] })]],
    [
      'a companion far from every accessible seat',
      [section({ accessible: [{ row: 1, number: 1 }], companions: [{ row: 1, number: 3 }] })],
    ],
    [
      'a companion in another row',
      [section({ accessible: [{ row: 1, number: 1 }], companions: [{ row: 2, number: 1 }] })],
    ],
    ['a companion without any accessible seat', [section({ companions: [{ row: 1, number: 1 }] })]],
    ['fewer row labels than rows', [section({ rowLabels: ['A'] })]],
    ['more row labels than rows', [section({ rowLabels: ['A', 'B', 'C'] })]],
    ['one row label twice', [section({ rowLabels: ['AA', 'AA'] })]],
    ['one row label twice in two cases', [section({ rowLabels: ['aa', 'AA'] })]],
    ['a row label of 11 letters outside the BMP', [section({ rowLabels: ['A', '\u{1D400}'.repeat(11)] })]],
    ['an empty row label', [section({ rowLabels: ['A', ''] })]],
    ['a row label of 11 characters', [section({ rowLabels: ['A', 'Balcony 123'] })]],
    [
      'a seat both accessible and companion',
      [
        section({
          accessible: [
            { row: 1, number: 1 },
            { row: 1, number: 2 },
          ],
          companions: [{ row: 1, number: 1 }],
        }),
      ],
    ],
    [
      'an accessible seat listed twice',
      [
        section({
          accessible: [
            { row: 1, number: 1 },
            { row: 1, number: 1 },
          ],
        }),
      ],
    ],
    [
      'two sections on the same spot',
      [section({ origin: { x: 0, y: 0 } }), section({ name: 'B', origin: { x: 1, y: 1 } })],
    ],
    [
      'a section turned into another',
      [
        section({ origin: { x: 0, y: 0 }, rows: 10, seatsPerRow: 10 }),
        section({ name: 'B', origin: { x: 12, y: 0 }, angle: 135, rows: 10, seatsPerRow: 10 }),
      ],
    ],
  ])('refuses %s', (_, sections) => {
    invalidLayout(() => generateLayout(sections));
  });

  it('accepts sections whose footprints only touch', () => {
    // A's footprint ends at x = 2.5, B's starts there.
    expect(() =>
      generateLayout([section({ origin: { x: 0, y: 0 } }), section({ name: 'B', origin: { x: 3, y: 0 } })]),
    ).not.toThrow();
  });
});

/** Random halls: 1–4 sections, side by side or placed at random (then often refused as overlapping). */
const hall = fc
  .record({
    placed: fc.boolean(),
    focal: fc.record({ x: fc.integer({ min: -50, max: 50 }), y: fc.integer({ min: -50, max: 50 }) }),
    sections: fc.array(
      fc.record({
        rows: fc.integer({ min: 1, max: 8 }),
        seatsPerRow: fc.integer({ min: 1, max: 8 }),
        seatPitch: fc.constantFrom(0.5, 1, 1.5),
        rowSpacing: fc.constantFrom(0.8, 1, 2),
        origin: fc.record({ x: fc.integer({ min: -60, max: 60 }), y: fc.integer({ min: -60, max: 60 }) }),
        angle: fc.integer({ min: -180, max: 180 }),
        rank: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ placed, focal, sections }) => ({
    focal: focal as MapPoint,
    sections: sections.map((s, i): SectionInput => ({
      name: `S${i}`,
      grade: 'R',
      price: 1000,
      rows: s.rows,
      seatsPerRow: s.seatsPerRow,
      seatPitch: s.seatPitch,
      rowSpacing: s.rowSpacing,
      rank: s.rank,
      ...(placed ? { origin: s.origin, angle: s.angle } : {}),
    })),
  }));

/** The layout, or null when it is refused as overlapping (the only refusal these halls can meet). */
function tryLayout(sections: SectionInput[], focal: MapPoint): SectionGeometry[] | null {
  try {
    return generateLayout(sections, focal);
  } catch (error) {
    expect(error).toMatchObject({ code: 'InvalidLayout', message: expect.stringContaining('overlap') });
    return null;
  }
}

describe('generateLayout properties', () => {
  it('never puts two seats at the same place', () => {
    fc.assert(
      fc.property(hall, ({ sections, focal }) => {
        const geometries = tryLayout(sections, focal);
        if (!geometries) return;
        const places = seatsOf(sections, geometries).map((seat) => `${seat.x},${seat.y}`);
        expect(new Set(places).size).toBe(places.length);
      }),
      { numRuns: 300 },
    );
  });

  it('orders quality by rank, then by distance to the focal point', () => {
    fc.assert(
      fc.property(hall, ({ sections, focal }) => {
        const geometries = tryLayout(sections, focal);
        if (!geometries) return;
        const seats = seatsOf(sections, geometries).map((seat) => ({
          ...seat,
          band: seat.rank ?? Number.POSITIVE_INFINITY,
          distance: Math.hypot(seat.x - focal.x, seat.y - focal.y),
        }));
        for (const seat of seats) {
          expect(Number.isInteger(seat.quality)).toBe(true);
          expect(seat.quality).toBeGreaterThanOrEqual(0);
          expect(seat.quality).toBeLessThanOrEqual(MAX_QUALITY);
        }
        // By band, then distance: quality must never rise along this order, and must fall
        // strictly from one band to the next.
        seats.sort((a, b) => a.band - b.band || a.distance - b.distance || b.quality - a.quality);
        for (let i = 1; i < seats.length; i += 1) {
          const [a, b] = [seats[i - 1], seats[i]];
          if (a.band !== b.band) expect(a.quality).toBeGreaterThan(b.quality);
          else expect(a.quality).toBeGreaterThanOrEqual(b.quality);
        }
        expect(Math.max(...seats.map((seat) => seat.quality))).toBe(MAX_QUALITY);
      }),
      { numRuns: 200 },
    );
  });
});
