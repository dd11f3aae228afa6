import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { gradeKey, sectionNameKey } from '../src/catalog/section-names';
import { DomainError } from '../src/errors';
import { SeatScope } from '../src/holds/best-available-scripts';
import { Hold } from '../src/holds/hold';
import { SeatPlace } from '../src/seats/seating-layout';
import { DrawnHall, DrawnSection } from './halls';
import { TicketingFixture } from './ticketing-fixture';

/**
 * The random halls and sales of the best-available properties
 * (best-available.property.int-spec.ts, best-available.bounded.property.int-spec.ts): one
 * statement of the steps both draw and of how a hold or release step is played.
 */

/** A best-available request, a chosen-seat hold (seats by layout position) or a release (of a hold by index). */
export type BestStep = {
  kind: 'best';
  quantity: number;
  together: boolean;
  accessible: boolean;
  scope: 'all' | 'grade' | 'section';
};
export type PickStep = { kind: 'pick'; seats: number[] };
export type ReleaseStep = { kind: 'release'; which: number };
export type HoldStep = BestStep | PickStep | ReleaseStep;

/**
 * A drawn section (see drawHall) of 1–`maxRows` rows of 1–`maxSeatsPerRow` marks, `.` free
 * `freeWeight` times as often as sold `x`, accessible `A` or companion `C`; grade R or S.
 */
export function drawnSectionArb(options: { maxRows: number; maxSeatsPerRow: number; freeWeight: number }) {
  const marks = [...Array<string>(options.freeWeight).fill('.'), 'x', 'A', 'C'];
  const row = fc
    .array(fc.constantFrom(...marks), { minLength: 1, maxLength: options.maxSeatsPerRow })
    .map((drawn) => drawn.join(''));
  return fc.record({
    rows: fc.array(row, { minLength: 1, maxLength: options.maxRows }),
    grade: fc.constantFrom('R', 'S'),
  });
}

/** The three hold steps with their weights (6 best, 2 pick, 2 release), for fc.oneof. */
export function holdStepArbs(options: { maxQuantity: number; maxSeat: number }) {
  return [
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('best' as const),
        quantity: fc.integer({ min: 1, max: options.maxQuantity }),
        together: fc.boolean(),
        accessible: fc.constantFrom(false, false, false, true),
        scope: fc.constantFrom('all' as const, 'grade' as const, 'section' as const),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('pick' as const),
        seats: fc.array(fc.nat(options.maxSeat), { minLength: 1, maxLength: 3 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), which: fc.nat() }) },
  ];
}

/** The scope of a best step (of the first section or its grade) and the test of a place against it. */
export function stepScope(
  step: BestStep,
  sections: DrawnSection[],
): { scope: SeatScope; inScope: (place: SeatPlace) => boolean } {
  const first = sections[0];
  const scope: SeatScope =
    step.scope === 'grade'
      ? { kind: 'grade', grade: first.grade ?? 'R' }
      : step.scope === 'section'
        ? { kind: 'section', section: first.name }
        : { kind: 'all' };
  const inScope = (place: SeatPlace) =>
    scope.kind === 'all' ||
    (scope.kind === 'grade'
      ? gradeKey(place.grade) === gradeKey(scope.grade)
      : sectionNameKey(place.section) === sectionNameKey(scope.section));
  return { scope, inScope };
}

/** A best-available hold for a new user, as `step` asks; NoSeatsFit is undefined, any other error thrown. */
export async function holdBest(
  fixture: TicketingFixture,
  performanceId: number,
  step: BestStep,
  scope: SeatScope,
): Promise<Hold | undefined> {
  try {
    return await fixture.holds.holdBestAvailable(randomUUID(), {
      performanceId,
      quantity: step.quantity,
      together: step.together,
      accessible: step.accessible,
      scope,
    });
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== 'NoSeatsFit') throw error;
    return undefined;
  }
}

/**
 * Plays a pick step (a chosen-seat hold; SeatsUnavailable is fine) or a release step (of one of
 * `holds`; one no longer live is fine), adding a new hold to `holds`.
 */
export async function playPickOrRelease(
  fixture: TicketingFixture,
  performanceId: number,
  hall: DrawnHall,
  holds: Hold[],
  step: PickStep | ReleaseStep,
): Promise<void> {
  if (step.kind === 'pick') {
    const seatIds = [...new Set(step.seats.map((i) => hall.places[i % hall.places.length].id))];
    try {
      holds.push(await fixture.holds.hold(randomUUID(), performanceId, seatIds));
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'SeatsUnavailable') throw error;
    }
  } else if (holds.length > 0) {
    const hold = holds[step.which % holds.length];
    await fixture.holds.release(hold.userId, hold.id).catch((error: unknown) => {
      if (!(error instanceof DomainError) || error.kind !== 'conflict') throw error;
    });
  }
}
