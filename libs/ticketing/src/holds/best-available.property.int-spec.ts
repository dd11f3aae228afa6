import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drawnSectionArb,
  holdBest,
  HoldStep,
  holdStepArbs,
  playPickOrRelease,
  playSaleStep,
  registerDrawnHall,
  SaleStep,
  saleStepArbs,
  stepScope,
} from '../../test/best-available-steps';
import {
  adjacentRowsSummary,
  ALIGN_BUDGET,
  alignWorkBound,
  CLEAN_BUDGET,
  cleanWorkBound,
  exhaustiveAdjacentRows,
  exhaustiveCleanAdjacentRows,
} from '../../test/adjacent-rows';
import { seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys } from '../redis-keys';
import { SeatPlace } from '../seats/seating-layout';
import { Hold } from './hold';

/** One step of a random sale: a hold step, or a purchase or cancellation (of one by index). */
type Step = HoldStep | SaleStep;

const hallArb = fc.array(drawnSectionArb({ maxRows: 4, maxSeatsPerRow: 9, freeWeight: 4 }), {
  minLength: 1,
  maxLength: 3,
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(...holdStepArbs({ maxQuantity: 8, maxSeat: 60 }), ...saleStepArbs());

/**
 * Whether a placement of `quantity` seats side by side in one row existed that leaves no single
 * free seat beside it, among the seats a request may take: free, of the scope, accessible or
 * companion exactly when asked for accessible (then with one accessible seat at least).
 */
function singleFreePlacementExisted(
  places: SeatPlace[],
  letters: Record<string, string>,
  quantity: number,
  accessible: boolean,
  inScope: (place: SeatPlace) => boolean,
): boolean {
  const rows = new Map<string, SeatPlace[]>();
  for (const place of places) {
    const key = `${place.section}/${place.row}`;
    rows.set(key, [...(rows.get(key) ?? []), place]);
  }
  for (const row of rows.values()) {
    const free = row.map((place) => letters[String(place.id)] === 'A');
    const eligible = row.map(
      (place, i) => free[i] && inScope(place) && (place.accessible || place.companion) === accessible,
    );
    for (let start = 0; start + quantity <= row.length; start += 1) {
      const window = row.slice(start, start + quantity);
      if (!window.every((_, k) => eligible[start + k])) continue;
      if (accessible && !window.some((place) => place.accessible)) continue;
      const left = start - 1;
      const right = start + quantity;
      const singleLeft = left >= 0 && free[left] && (left === 0 || !free[left - 1]);
      const singleRight = right < row.length && free[right] && (right === row.length - 1 || !free[right + 1]);
      if (!singleLeft && !singleRight) return true;
    }
  }
  return false;
}

/**
 * The seats of `taken` (free in `letters` before) that leave a single free seat beside them once
 * taken: a free unmarked neighbour in their row whose other side is taken or the row's end (the
 * noOrphanSeats rule, as seatingSingleLeft states it: a wheelchair space or companion seat left
 * alone does not count).
 */
function singlesLeftBy(places: SeatPlace[], letters: Record<string, string>, taken: number[]): number[] {
  const takenIds = new Set(taken);
  const free = (place: SeatPlace | undefined) =>
    place !== undefined && letters[String(place.id)] === 'A' && !takenIds.has(place.id);
  const rowOf = (place: SeatPlace) =>
    places.filter((other) => other.section === place.section && other.row === place.row);
  return taken.filter((id) => {
    const place = places.find((candidate) => candidate.id === id)!;
    const row = rowOf(place);
    const at = row.indexOf(place);
    return [-1, 1].some((step) => {
      const beside = row[at + step];
      const marked = beside !== undefined && (beside.accessible || beside.companion);
      return free(beside) && !marked && !free(row[at + 2 * step]);
    });
  });
}

/**
 * Random halls and random sequences of best-available holds, chosen-seat holds, releases,
 * purchases and cancellations, on the real Redis: no seat is ever in two live holds, the counts
 * and the seating data (bitmap, row and section runs) always agree with the seat letters, every
 * TOGETHER answer is side by side in one row and leaves no single, no answer settles for a
 * single (TOGETHER_WITH_GAP) when a placement leaving none existed, and every ADJACENT_ROWS answer
 * is what an exhaustive search finds (exhaustiveAdjacentRows): leaving no single seat whenever an
 * adjacent-rows placement of any split leaving none existed (exhaustiveCleanAdjacentRows, brute
 * force over the hall), else its shares aligned whenever an aligned placement existed, in as few
 * rows, as good (score, position, singles left).
 */
describe('best-available holds: properties over random halls and sales', () => {
  let fixture: TicketingFixture;
  let nextPerformance = 1;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '8' });
  });
  afterAll(() => fixture.close());

  it('keeps every promise', async () => {
    await fc.assert(
      fc.asyncProperty(hallArb, fc.array(stepArb, { minLength: 1, maxLength: 14 }), async (drawnSections, steps) => {
        const performanceId = nextPerformance++;
        const { sections, hall } = await registerDrawnHall(fixture, performanceId, drawnSections);
        const keys = performanceKeys(performanceId);
        const byId = new Map(hall.places.map((place) => [place.id, place]));
        const holds: Hold[] = [];
        const purchases: { id: string; userId: string }[] = [];

        for (const step of steps) {
          const before = (await fixture.truth(performanceId)).letters;
          if (step.kind === 'best') {
            const { scope, inScope } = stepScope(step, sections);
            const hold = await holdBest(fixture, performanceId, step, scope);
            const existed = singleFreePlacementExisted(hall.places, before, step.quantity, step.accessible, inScope);
            const adjacent = exhaustiveAdjacentRows(hall.places, before, step.quantity, step.accessible, inScope);
            // The oracle states the rung without its work budget: these halls stay within it.
            expect(alignWorkBound(hall.places, before, step.quantity, inScope)).toBeLessThanOrEqual(ALIGN_BUDGET);
            expect(cleanWorkBound(hall.places, step.quantity, inScope)).toBeLessThanOrEqual(CLEAN_BUDGET);
            // An adjacent-rows placement of any split leaving no single, by brute force.
            const clean = exhaustiveCleanAdjacentRows(hall.places, before, step.quantity, step.accessible, inScope);
            if (!hold || hold.arrangement === 'SPLIT') expect(adjacent).toBeNull();
            if (!hold) {
              // NoSeatsFit: only when no placement leaving no single existed.
              expect(existed).toBe(false);
            } else {
              holds.push(hold);
              const seats = hold.seatIds.map((id) => byId.get(id)!);
              expect(seats).toHaveLength(step.quantity);
              expect(seats.filter((seat) => before[String(seat.id)] !== 'A' || !inScope(seat))).toEqual([]);
              expect(seats.filter((seat) => (seat.accessible || seat.companion) !== step.accessible)).toEqual([]);
              if (hold.arrangement === 'TOGETHER' || hold.arrangement === 'TOGETHER_WITH_GAP') {
                expect(new Set(seats.map((seat) => `${seat.section}/${seat.row}`)).size).toBe(1);
                const positions = seats.map((seat) => hall.places.indexOf(seat));
                expect(positions).toEqual(positions.map((_, i) => positions[0] + i));
              }
              if (hold.arrangement === 'ADJACENT_ROWS') {
                const summary = adjacentRowsSummary(hall.places, before, seats);
                expect(summary).toEqual(adjacent);
                // No single left when a placement leaving none existed (the seating trial's M3).
                if (clean) expect(summary.singles).toBe(0);
              }
              if (hold.arrangement === 'SPLIT') expect(clean).toBeNull();
              // TOGETHER exactly when a placement leaving no single existed.
              expect(hold.arrangement === 'TOGETHER').toBe(existed);
              if (hold.arrangement === 'SPLIT') expect(step.together).toBe(false);
            }
          } else if (step.kind === 'pick' || step.kind === 'release') {
            await playPickOrRelease(fixture, performanceId, hall, holds, step);
          } else if (step.kind === 'buy' || step.kind === 'cancel') {
            await playSaleStep(fixture, performanceId, holds, purchases, step);
          }

          const { stored, recomputed, letters } = await fixture.truth(performanceId);
          expect(stored).toEqual(recomputed);
          expect(await seatingDisagreements(fixture.redis, performanceId, hall.places)).toEqual([]);
          // No seat in two live holds: every live hold's seats are H and name that hold.
          const owners = await fixture.redis.hgetall(keys.seatHolds);
          const taken = new Map<number, string>();
          for (const hold of holds) {
            const status = await fixture.redis.hget(keys.hold(hold.id), 'status');
            if (status !== 'HELD') continue;
            for (const seatId of hold.seatIds) {
              expect(taken.get(seatId)).toBeUndefined();
              taken.set(seatId, hold.id);
              expect(letters[String(seatId)]).toBe('H');
              expect(owners[String(seatId)]).toMatch(new RegExp(`:${hold.id}$`));
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('with noOrphanSeats, no answer leaves a single free seat, TOGETHER comes whenever it existed, and a refusal only when no adjacent-rows split left none', async () => {
    const bestOrRelease = fc
      .oneof(...holdStepArbs({ maxQuantity: 8, maxSeat: 60 }))
      .filter((step): step is Exclude<HoldStep, { kind: 'pick' }> => step.kind !== 'pick');
    await fc.assert(
      fc.asyncProperty(
        hallArb,
        fc.array(bestOrRelease, { minLength: 1, maxLength: 14 }),
        async (drawnSections, steps) => {
          const performanceId = nextPerformance++;
          const { sections, hall } = await registerDrawnHall(fixture, performanceId, drawnSections);
          await fixture.redis.hset(performanceKeys(performanceId).meta, 'noOrphanSeats', '1');
          const holds: Hold[] = [];
          for (const step of steps) {
            if (step.kind !== 'best') {
              await playPickOrRelease(fixture, performanceId, hall, holds, step);
              continue;
            }
            const before = (await fixture.truth(performanceId)).letters;
            const { scope, inScope } = stepScope(step, sections);
            const hold = await holdBest(fixture, performanceId, step, scope);
            const existed = singleFreePlacementExisted(hall.places, before, step.quantity, step.accessible, inScope);
            expect(hold?.arrangement === 'TOGETHER').toBe(existed);
            if (!hold) {
              // Refused only when no adjacent-rows placement of any split left no single either.
              expect(
                exhaustiveCleanAdjacentRows(hall.places, before, step.quantity, step.accessible, inScope),
              ).toBeNull();
              continue;
            }
            holds.push(hold);
            // TOGETHER_WITH_GAP only where its singles are marked seats, which the rule lets be.
            expect(singlesLeftBy(hall.places, before, hold.seatIds)).toEqual([]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
