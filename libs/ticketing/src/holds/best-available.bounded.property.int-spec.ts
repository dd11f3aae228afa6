import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drawnSectionArb,
  holdBest,
  HoldStep,
  holdStepArbs,
  playPickOrRelease,
  registerDrawnHall,
  stepScope,
} from '../../test/best-available-steps';
import { adjacentRowsClaim, adjacentRowsSummary, exhaustiveAdjacentRows } from '../../test/adjacent-rows';
import { seatingDisagreements, singlesBeside } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { SeatPlace } from '../seats/seating-layout';
import { Hold } from './hold';

/** What the together rungs answer: the arrangement and the seat ids, in layout order. */
interface TogetherAnswer {
  arrangement: 'TOGETHER' | 'TOGETHER_WITH_GAP';
  seatIds: number[];
}

/**
 * The together rungs by exhaustive search, as docs/seating.md states them: over every row of the
 * scope, every window of `quantity` seats side by side that a request may take (free, accessible
 * or companion exactly when asked for accessible, then with one accessible seat at least);
 * TOGETHER is the best window leaving no single free seat beside it, else TOGETHER_WITH_GAP the
 * best leaving one, else the best leaving two; best = the highest sum of quality, then the lowest layout position. Null when
 * neither exists (the script then goes on to ADJACENT_ROWS or SPLIT).
 */
function exhaustiveTogether(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): TogetherAnswer | null {
  const rows: { start: number; places: SeatPlace[] }[] = [];
  places.forEach((place, position) => {
    const previous = places[position - 1];
    if (!previous || previous.section !== place.section || previous.row !== place.row) {
      rows.push({ start: position, places: [] });
    }
    rows[rows.length - 1].places.push(place);
  });
  // Per number of singles left (0, 1, 2): score and first layout position of the best window.
  const best: ({ score: number; position: number; seats: SeatPlace[] } | undefined)[] = [
    undefined,
    undefined,
    undefined,
  ];
  for (const row of rows) {
    if (!inScope(row.places[0])) continue;
    const free = row.places.map((place) => letters[String(place.id)] === 'A');
    const eligible = row.places.map((place, i) => free[i] && (place.accessible || place.companion) === accessible);
    for (let start = 0; start + quantity <= row.places.length; start += 1) {
      const window = row.places.slice(start, start + quantity);
      if (!window.every((_, k) => eligible[start + k])) continue;
      if (accessible && !window.some((place) => place.accessible)) continue;
      const singles = singlesBeside(free, start, quantity);
      const score = window.reduce((sum, place) => sum + place.quality, 0);
      const position = row.start + start;
      const current = best[singles];
      if (!current || score > current.score || (score === current.score && position < current.position)) {
        best[singles] = { score, position, seats: window };
      }
    }
  }
  const [together, withGap = best[2]] = best;
  if (together) return { arrangement: 'TOGETHER', seatIds: together.seats.map((place) => place.id) };
  if (withGap) return { arrangement: 'TOGETHER_WITH_GAP', seatIds: withGap.seats.map((place) => place.id) };
  return null;
}

/**
 * SPLIT by exhaustive search, as docs/seating.md states it: the `quantity` best seats of the scope
 * the request may take (free, accessible or companion exactly when asked for accessible; highest
 * quality, then lowest layout position); for an accessible request with no accessible seat among
 * them, the best free accessible seat replaces the worst. Seat ids in layout order; null when
 * too few seats (or no accessible one) are free.
 */
function exhaustiveSplit(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): number[] | null {
  const ranked = places
    .map((place, position) => ({ place, position }))
    .filter(
      ({ place }) =>
        inScope(place) && letters[String(place.id)] === 'A' && (place.accessible || place.companion) === accessible,
    )
    .sort((a, b) => b.place.quality - a.place.quality || a.position - b.position);
  if (ranked.length < quantity) return null;
  const picked = ranked.slice(0, quantity);
  if (accessible && !picked.some(({ place }) => place.accessible)) {
    const bestAccessible = ranked.find(({ place }) => place.accessible);
    if (!bestAccessible) return null;
    picked[quantity - 1] = bestAccessible;
  }
  return picked.sort((a, b) => a.position - b.position).map(({ place }) => place.id);
}

// Qualities from a few values, so that windows and rows tie often (the tie-break on layout
// position is what a bound is likeliest to get wrong), or the drawn halls' default.
const qualityArb = fc.option(fc.array(fc.constantFrom(0, 100, 200, 300, 1000), { minLength: 2, maxLength: 7 }), {
  nil: undefined,
});
const hallArb = fc.record({
  sections: fc.array(drawnSectionArb({ maxRows: 6, maxSeatsPerRow: 12, freeWeight: 5 }), {
    minLength: 1,
    maxLength: 3,
  }),
  qualities: qualityArb,
});
const stepArb: fc.Arbitrary<HoldStep> = fc.oneof(...holdStepArbs({ maxQuantity: 10, maxSeat: 80 }));
// Tall sections of short free runs and parties of 4 to 10: ADJACENT_ROWS often, and a bound on its
// aligned work (alignWorkBound) often past ALIGN_BUDGET, so that adjacentRowsClaim's other half runs.
const tallHallArb = fc.record({
  sections: fc.array(
    fc.record({
      rows: fc.array(
        fc.array(fc.constantFrom('.', '.', 'x', 'A', 'C'), { minLength: 3, maxLength: 8 }).map((row) => row.join('')),
        { minLength: 30, maxLength: 64 },
      ),
      grade: fc.constantFrom('R', 'S'),
    }),
    { minLength: 1, maxLength: 2 },
  ),
  qualities: qualityArb,
});
const tallStepArb: fc.Arbitrary<HoldStep> = fc
  .oneof(...holdStepArbs({ maxQuantity: 10, maxSeat: 700 }))
  .map((step) => (step.kind === 'best' ? { ...step, quantity: Math.max(step.quantity, 4) } : step));

/**
 * The bounded search of hold-best-available.lua (rows and sections visited in the order of a bound
 * on their best TOGETHER placement, stopping once none left can beat or tie the best found)
 * against an exhaustive search of the together rungs (and SPLIT against its own), over random halls (qualities that tie
 * often) and random sequences of holds and releases: the same arrangement and the same seats; and
 * the bounded ADJACENT_ROWS search (aligned sets of rows scored exactly only while their bound may
 * beat the best aligned placement found) against exhaustiveAdjacentRows: as many rows, aligned
 * alike, the same score, position and singles left (adjacentRowsClaim: exactly so within the
 * rung's work budget, which the small halls rarely pass; past it, as tall sections of short runs
 * often are, aligned in as few rows or exactly the rung without alignment).
 */
describe('best-available holds: the bounded search answers as an exhaustive one', () => {
  let fixture: TicketingFixture;
  let nextPerformance = 1;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '10' });
  });
  afterAll(() => fixture.close());

  /** One drawn hall and steps, every best-available answer against the exhaustive searches. */
  async function play(drawn: typeof hallArb extends fc.Arbitrary<infer T> ? T : never, steps: HoldStep[]) {
    const performanceId = nextPerformance++;
    const { qualities } = drawn;
    const { sections, hall } = await registerDrawnHall(fixture, performanceId, drawn.sections, (s) =>
      qualities
        ? { quality: (row: number, number: number) => qualities[(s * 5 + row * 3 + number) % qualities.length] }
        : {},
    );
    const holds: Hold[] = [];

    for (const step of steps) {
      if (step.kind === 'best') {
        const { letters } = await fixture.truth(performanceId);
        const { scope, inScope } = stepScope(step, sections);
        const expected = exhaustiveTogether(hall.places, letters, step.quantity, step.accessible, inScope);
        const hold = await holdBest(fixture, performanceId, step, scope);
        if (hold) holds.push(hold);
        const adjacent = exhaustiveAdjacentRows(hall.places, letters, step.quantity, step.accessible, inScope);
        if (hold?.arrangement === 'ADJACENT_ROWS') {
          const seats = hold.seatIds.map((id) => hall.places.find((place) => place.id === id)!);
          // Exact within the rung's work budget (most of these halls), else what the budget leaves.
          const summary = adjacentRowsSummary(hall.places, letters, seats);
          const claim = adjacentRowsClaim(summary, hall.places, letters, step.quantity, step.accessible, inScope);
          expect(claim.actual).toEqual(claim.expected);
        } else if (!expected) {
          expect(adjacent).toBeNull();
        }
        const split = () => exhaustiveSplit(hall.places, letters, step.quantity, step.accessible, inScope);
        if (hold?.arrangement === 'SPLIT') expect(hold.seatIds).toEqual(split());
        if (!hold && !step.together) expect(split()).toBeNull();
        if (expected) {
          expect(hold && { arrangement: hold.arrangement, seatIds: hold.seatIds }).toEqual(expected);
        } else {
          expect(['TOGETHER', 'TOGETHER_WITH_GAP']).not.toContain(hold?.arrangement);
        }
      } else {
        await playPickOrRelease(fixture, performanceId, hall, holds, step);
      }
    }
    expect(await seatingDisagreements(fixture.redis, performanceId, hall.places)).toEqual([]);
  }

  it('picks the same together seats', async () => {
    await fc.assert(fc.asyncProperty(hallArb, fc.array(stepArb, { minLength: 1, maxLength: 20 }), play), {
      numRuns: 150,
    });
  });

  it('in tall sections of short runs, ADJACENT_ROWS is what its work budget leaves', async () => {
    await fc.assert(fc.asyncProperty(tallHallArb, fc.array(tallStepArb, { minLength: 1, maxLength: 12 }), play), {
      numRuns: 100,
    });
  });
});
