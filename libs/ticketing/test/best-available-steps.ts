import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { gradeKey, sectionNameKey } from '../src/catalog/section-names';
import { DomainError } from '../src/errors';
import { SeatScope } from '../src/holds/best-available-scripts';
import { Hold } from '../src/holds/hold';
import { cancelPurchase, purchaseHold } from '../src/purchases/purchase-scripts';
import { performanceKeys } from '../src/redis-keys';
import { SeatPlace } from '../src/seats/seating-layout';
import { drawHall, DrawnHall, DrawnSection, hallRegistration } from './halls';
import { TicketingFixture } from './ticketing-fixture';

/**
 * The random halls and sales of the properties over them (best-available.property.int-spec.ts,
 * best-available.bounded.property.int-spec.ts, free-seats.property.int-spec.ts): one statement of
 * the steps they draw and of how each step is played.
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
/** A purchase of a hold or a cancellation of a purchase (each by index, modulo how many there are). */
export type SaleStep = { kind: 'buy'; which: number } | { kind: 'cancel'; which: number };

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

/** The two sale steps with their weights (2 buy, 1 cancel), for fc.oneof beside holdStepArbs. */
export function saleStepArbs() {
  return [
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('buy' as const), which: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }) },
  ];
}

/**
 * Registers performance `performanceId` with the hall of `drawnSections` (named S0, S1, …, each
 * with `extra(index)` over it where given); answers the named sections and the hall.
 */
export async function registerDrawnHall(
  fixture: TicketingFixture,
  performanceId: number,
  drawnSections: Omit<DrawnSection, 'name'>[],
  extra: (index: number) => Partial<DrawnSection> = () => ({}),
): Promise<{ sections: DrawnSection[]; hall: DrawnHall }> {
  const sections: DrawnSection[] = drawnSections.map((section, i) => ({ name: `S${i}`, ...section, ...extra(i) }));
  const hall = drawHall(sections);
  await fixture.store.registerPerformance(hallRegistration(performanceId, hall));
  return { sections, hall };
}

/**
 * Buys `hold` with the purchase script (charge `ch_<purchase id>`, the hold kept 60 s); answers the
 * new purchase's id and the script's outcome (`OK` when bought).
 */
export async function buyHold(
  fixture: TicketingFixture,
  performanceId: number,
  hold: Hold,
): Promise<{ purchaseId: string; outcome: string }> {
  const purchaseId = randomUUID();
  const bought = await purchaseHold(fixture.redis, performanceKeys(performanceId), {
    holdId: hold.id,
    userId: hold.userId,
    purchaseId,
    chargeId: `ch_${purchaseId}`,
    holdRetentionMs: 60_000,
  });
  return { purchaseId, outcome: bought.outcome };
}

/**
 * Plays a sale step with the purchase scripts: a buy of one of `holds` (charge `ch_<purchase id>`,
 * the hold kept 60 s), adding the purchase to `purchases` when it went through; or an operator's
 * cancel of one of `purchases` (none checked in, nothing persisted). Nothing to act on: nothing.
 */
export async function playSaleStep(
  fixture: TicketingFixture,
  performanceId: number,
  holds: Hold[],
  purchases: { id: string; userId: string }[],
  step: SaleStep,
): Promise<void> {
  const keys = performanceKeys(performanceId);
  if (step.kind === 'buy' && holds.length > 0) {
    const hold = holds[step.which % holds.length];
    const bought = await buyHold(fixture, performanceId, hold);
    if (bought.outcome === 'OK') purchases.push({ id: bought.purchaseId, userId: hold.userId });
  } else if (step.kind === 'cancel' && purchases.length > 0) {
    const purchase = purchases[step.which % purchases.length];
    await cancelPurchase(fixture.redis, keys, {
      purchaseId: purchase.id,
      userId: purchase.userId,
      mode: 'operator',
      canceledBy: 'operator',
      checkedIn: [],
      transferredSeatIds: [],
      persisted: null,
    });
  }
}
