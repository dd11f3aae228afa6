import { randomUUID } from 'node:crypto';
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
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { blockSeats, releaseSeatBlocks } from '../blocks/seat-block-scripts';
import { holdCompSeats, holdSeats } from '../holds/hold-scripts';
import { seatStatusFromLetter } from '../seats/seat-status';
import { Hold } from '../holds/hold';
import { performanceKeys } from '../redis-keys';
import { FreeSeats } from './free-seats-scripts';

/**
 * One step of a random sale: a hold step, a purchase or cancellation (of one by index), a hold
 * that has expired by the time anything reads (1 ms lifetime; the sweeper has not run), a comp's
 * hold of house seats that has expired so (`houseLapse`: the seats free of them blocked first,
 * then taken from the block with `takeBlocked`, as an api killed before the comp's purchase
 * leaves it), an operator's block (taking seats of expired holds too) or release of seats, or a
 * sweep that ends the expired holds.
 */
type Step =
  HoldStep | SaleStep | { kind: 'lapse' | 'houseLapse' | 'block' | 'unblock'; seats: number[] } | { kind: 'sweep' };

const hallArb = fc.array(drawnSectionArb({ maxRows: 5, maxSeatsPerRow: 12, freeWeight: 3 }), {
  minLength: 1,
  maxLength: 3,
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  ...holdStepArbs({ maxQuantity: 4, maxSeat: 180 }),
  ...saleStepArbs(),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('lapse' as const),
      seats: fc.array(fc.nat(180), { minLength: 1, maxLength: 3 }),
    }),
  },
  ...(['houseLapse', 'block', 'unblock'] as const).map((kind) => ({
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant(kind), seats: fc.array(fc.nat(180), { minLength: 1, maxLength: 3 }) }),
  })),
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
);
/** A question to the index: after which position, how many, up to which position (fractions of the hall). */
const askArb = fc.record({
  after: fc.double({ min: 0, max: 1, noNaN: true }),
  want: fc.integer({ min: 1, max: 40 }),
  span: fc.double({ min: 0, max: 1, noNaN: true }),
});

/**
 * Random halls and random sales (chosen-seat and best-available holds, releases, purchases,
 * cancellations, holds left to expire, comps of house seats left to expire, blocks and releases,
 * sweeps), on the real Redis: after every step the free bitmap's answer for random ranges is
 * exactly the seats whose status (SeatStateStore.statuses, which reads every letter and holder) is
 * AVAILABLE, in layout order; and the statuses read before a sweep are the letters after it (an
 * expired hold's seats read as its end leaves them: free, or a comp's house seats blocked).
 */
describe('free seats from the bitmap: the statuses exactly, over random sales', () => {
  let fixture: TicketingFixture;
  let nextPerformance = 1;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '4' });
  });
  afterAll(() => fixture.close());

  it('answers the AVAILABLE seats, neither more nor fewer', async () => {
    await fc.assert(
      fc.asyncProperty(
        hallArb,
        fc.array(fc.tuple(stepArb, askArb), { minLength: 1, maxLength: 14 }),
        async (drawnSections, steps) => {
          const performanceId = nextPerformance++;
          const { sections, hall } = await registerDrawnHall(fixture, performanceId, drawnSections);
          const keys = performanceKeys(performanceId);
          const total = hall.places.length;
          const holds: Hold[] = [];
          const purchases: { id: string; userId: string }[] = [];

          for (const [step, ask] of steps) {
            if (step.kind === 'best') {
              const hold = await holdBest(fixture, performanceId, step, stepScope(step, sections).scope);
              if (hold) holds.push(hold);
            } else if (step.kind === 'pick' || step.kind === 'release') {
              await playPickOrRelease(fixture, performanceId, hall, holds, step);
            } else if (step.kind === 'buy' || step.kind === 'cancel') {
              await playSaleStep(fixture, performanceId, holds, purchases, step);
            } else if (step.kind === 'lapse') {
              const seatIds = [...new Set(step.seats.map((i) => hall.places[i % total].id))];
              const held = await holdSeats(fixture.redis, keys, {
                holdId: randomUUID(),
                userId: randomUUID(),
                performanceId,
                seatIds,
                lifetimeMs: 1,
                userLimit: 4,
                retentionMs: 60_000,
              });
              if (held.outcome === 'OK') {
                await fixture.redisTimePasses(held.expiresAt, 'the hold expired', 5);
              }
            } else if (step.kind === 'houseLapse') {
              const seatIds = [...new Set(step.seats.map((i) => hall.places[i % total].id))];
              await blockSeats(fixture.redis, keys, seatIds, { onlyFree: true });
              const held = await holdCompSeats(fixture.redis, keys, {
                holdId: randomUUID(),
                userId: randomUUID(),
                performanceId,
                seatIds,
                lifetimeMs: 1,
                retentionMs: 60_000,
                sale: { kind: 'COMP', note: 'house' },
                takeBlocked: true,
              });
              if (held.outcome === 'OK') {
                await fixture.redisTimePasses(held.expiresAt, 'the comp hold expired', 5);
              }
            } else if (step.kind === 'block' || step.kind === 'unblock') {
              const seatIds = [...new Set(step.seats.map((i) => hall.places[i % total].id))];
              if (step.kind === 'block') await blockSeats(fixture.redis, keys, seatIds, { onlyFree: true });
              else await releaseSeatBlocks(fixture.redis, keys, seatIds);
            } else if (step.kind === 'sweep') {
              const before = await fixture.store.statuses(
                performanceId,
                hall.places.map((place) => place.id),
              );
              await fixture.sweeper.sweepOnce();
              const letters = await fixture.redis.hmget(keys.seats, ...hall.places.map((place) => String(place.id)));
              expect(letters.map((letter) => seatStatusFromLetter(letter!))).toEqual(before);
            }

            const statuses = await fixture.store.statuses(
              performanceId,
              hall.places.map((place) => place.id),
            );
            const available = statuses.flatMap((status, i) => (status === 'AVAILABLE' ? [i + 1] : []));
            // The whole hall in one answer, then a random range.
            expect(await fixture.store.freeSeatsAfter(performanceId, 0, total, total)).toEqual({
              positions: available,
              looked: total,
            });
            const after = Math.floor(ask.after * total);
            const last = after + Math.floor(ask.span * (total - after));
            if (last <= after) continue;
            const inRange = available.filter((position) => position > after && position <= last);
            const expected: FreeSeats = {
              positions: inRange.slice(0, ask.want),
              looked: inRange.length >= ask.want ? inRange[ask.want - 1] : last,
            };
            expect(await fixture.store.freeSeatsAfter(performanceId, after, ask.want, last)).toEqual(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
