import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockSeats, releaseSeatBlocks } from '../blocks/seat-block-scripts';
import { sectionAvailability } from '../catalog/section-scripts';
import { performanceKeys } from '../redis-keys';
import { SalesStore } from '../sales/sales.store';
import { drawHall, seatingDisagreements } from '../../test/halls';
import { compOfHouseSeats } from '../../test/house-seats';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { holdBestAvailable } from './best-available-scripts';
import { endCanceledHolds, expireHolds, holdCompSeats, holdSeats, releaseHold } from './hold-scripts';

/**
 * A comp with includeBlocked takes house seats out of their block into its hold; their seat_blocks
 * rows are deleted only in the transaction that commits after the comp's sale. An api killed
 * between the hold and the purchase leaves the hold to expire with the rows still there: every
 * way the hold can end (the sweeper, a seat-id hold meeting one of its seats, a best-available
 * hold, an operator's hold, a canceled performance's end of holds) must put those seats back to
 * BLOCKED, never on sale, so that no buyer holds a house seat and Redis agrees with PostgreSQL.
 * The scripts on the real Redis (and on the run's Cluster, int-cluster).
 */
describe("a comp's house seats when its hold expires unbought", () => {
  let fx: TicketingFixture;
  const hall = drawHall([{ name: 'A', rows: ['......'] }]);
  const [house1, house2, free3, free4, free5, free6] = [1, 2, 3, 4, 5, 6].map((number) => hall.seat('A', 1, number));
  let nextPerformance = 1;

  beforeAll(() => {
    fx = ticketingFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  const buyer = (performanceId: number, holdId: string) => ({
    holdId,
    userId: `buyer-${holdId}`,
    performanceId,
    lifetimeMs: 60_000,
    userLimit: 6,
    retentionMs: 60_000,
  });

  /**
   * A performance of six seats whose first two are blocked (house seats), and a comp's hold of
   * them and the third (free) one, as an api killed before the comp's purchase leaves it: expired.
   */
  async function expiredComp(): Promise<{ performanceId: number; keys: ReturnType<typeof performanceKeys> }> {
    const performanceId = nextPerformance;
    nextPerformance += 1;
    const { keys, expiresAt } = await compOfHouseSeats(fx, hall, performanceId, {
      houseSeats: [house1, house2],
      otherSeats: [free3],
      lifetimeMs: 1,
    });
    await fx.redisTimePasses(expiresAt, "the comp's hold expired");
    return { performanceId, keys };
  }

  /** The six seats' letters, after checking the counts agree with all the letters and the seating data with them. */
  async function letters(performanceId: number): Promise<string[]> {
    const truth = await fx.truth(performanceId);
    expect(truth.stored).toEqual(truth.recomputed);
    expect(await seatingDisagreements(fx.redis, performanceId, hall.places)).toEqual([]);
    return [house1, house2, free3, free4, free5, free6].map((seat) => truth.letters[String(seat)]);
  }

  it('before any sweep, the reads show the house seats BLOCKED and the free one AVAILABLE', async () => {
    const { performanceId, keys } = await expiredComp();
    const seatIds = [house1, house2, free3, free4, free5, free6];
    const statuses = ['BLOCKED', 'BLOCKED', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE'];
    // Seat pages and the admin's block refusals (statuses), the seat map (registeredStatuses).
    expect(await fx.store.statuses(performanceId, seatIds)).toEqual(statuses);
    expect(await fx.store.registeredStatuses(performanceId, seatIds)).toEqual(statuses);
    expect(await fx.store.statuses(performanceId, [free3, house2])).toEqual(['AVAILABLE', 'BLOCKED']);
    // `?status=AVAILABLE` pages (free-seats-after.lua): the free seat at layout position 3, not 1 and 2.
    expect(await fx.store.freeSeatsAfter(performanceId, 0, 6, 6)).toEqual({ positions: [3, 4, 5, 6], looked: 6 });
    expect(await fx.store.freeSeatsAfter(performanceId, 0, 1, 6)).toEqual({ positions: [3], looked: 3 });
    // Section availability counts letters A only: the house seats are not available there either
    // (nor, until the hold ends, the free one: an expired hold's seats count as held, as in the counts).
    const counting = { keepMs: 0, step: 100, wholeAfterMs: 0 };
    const hallSection = [{ firstSeatId: house1, lastSeatId: free6 }];
    expect(await sectionAvailability(fx.redis, keys, counting, hallSection)).toEqual([3]);
    // The sales report's live read: the house seats count as blocked (performanceReport).
    expect((await new SalesStore(fx.redis).live(performanceId)).houseSeats).toEqual(
      new Set([String(house1), String(house2)]),
    );
    // Reads only: the hold is still to be ended, and the sweep blocks them as the reads showed.
    expect(await letters(performanceId)).toEqual(['H', 'H', 'H', 'A', 'A', 'A']);
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('HELD');
    expect(await expireHolds(fx.redis, keys, ['comp'])).toEqual({ holds: 1, seats: 1 });
    expect(await fx.store.statuses(performanceId, seatIds)).toEqual(statuses);
    expect(await fx.store.freeSeatsAfter(performanceId, 0, 6, 6)).toEqual({ positions: [3, 4, 5, 6], looked: 6 });
  });

  it("a house seat an operator's block took from the expired comp reads as the hold that took it next", async () => {
    const { performanceId, keys } = await expiredComp();
    // The operator's block takes house1 from the comp (not ended yet) and releases it; a buyer's hold
    // takes it and expires too: ending that hold frees it, the comp's record listing it or not.
    expect(await blockSeats(fx.redis, keys, [house1])).toMatchObject({ outcome: 'OK', fromExpiredHolds: 1 });
    expect(await releaseSeatBlocks(fx.redis, keys, [house1])).toEqual({ outcome: 'OK', released: 1 });
    const held = await holdSeats(fx.redis, keys, { ...buyer(performanceId, 'b1'), lifetimeMs: 1, seatIds: [house1] });
    expect(held).toMatchObject({ outcome: 'OK' });
    await fx.redisTimePasses((held as { expiresAt: number }).expiresAt, "the buyer's hold expired");
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('HELD');
    expect(await fx.store.statuses(performanceId, [house1, house2, free3])).toEqual([
      'AVAILABLE',
      'BLOCKED',
      'AVAILABLE',
    ]);
    expect(await fx.store.freeSeatsAfter(performanceId, 0, 6, 6)).toEqual({ positions: [1, 3, 4, 5, 6], looked: 6 });
    expect(await expireHolds(fx.redis, keys, ['comp', 'b1'])).toEqual({ holds: 2, seats: 2 });
    expect(await letters(performanceId)).toEqual(['A', 'B', 'A', 'A', 'A', 'A']);
  });

  it('the sweeper (expire-holds.lua) blocks them again and frees the others; a buyer is refused them', async () => {
    const { performanceId, keys } = await expiredComp();
    expect(await expireHolds(fx.redis, keys, ['comp'])).toEqual({ holds: 1, seats: 1 });
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('EXPIRED');
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
    expect(await holdSeats(fx.redis, keys, { ...buyer(performanceId, 'b1'), seatIds: [house1] })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [house1],
    });
  });

  it('a buyer asking for a house seat (hold-seats.lua) is refused it, and the hold ends with its house seats blocked again', async () => {
    const { performanceId, keys } = await expiredComp();
    expect(await holdSeats(fx.redis, keys, { ...buyer(performanceId, 'b1'), seatIds: [free4, house2] })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [house2],
    });
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('EXPIRED');
    expect(await fx.redis.zscore(keys.expiry, 'comp')).toBeNull();
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
    // The refused buyer holds nothing; the seat the comp took from sale is on sale again.
    expect(await holdSeats(fx.redis, keys, { ...buyer(performanceId, 'b2'), seatIds: [free3, free4] })).toMatchObject({
      outcome: 'OK',
    });
    expect(await fx.sweeper.sweepOnce()).toBe(0);
    expect(await letters(performanceId)).toEqual(['B', 'B', 'H', 'H', 'A', 'A']);
  });

  it("a buyer asking for the comp's other seat gets it, and the house seats go back to their block", async () => {
    const { performanceId, keys } = await expiredComp();
    expect(await holdSeats(fx.redis, keys, { ...buyer(performanceId, 'b1'), seatIds: [free3] })).toMatchObject({
      outcome: 'OK',
    });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'H', 'A', 'A', 'A']);
  });

  it('a best-available hold (hold-best-available.lua) ends the hold first and never offers a house seat', async () => {
    const { performanceId, keys } = await expiredComp();
    const best = await holdBestAvailable(fx.redis, keys, {
      ...buyer(performanceId, 'b1'),
      quantity: 4,
      together: false,
      accessible: false,
      scope: { kind: 'all' },
    });
    expect(best).toMatchObject({ outcome: 'OK', seatIds: [free3, free4, free5, free6] });
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('EXPIRED');
    expect(await letters(performanceId)).toEqual(['B', 'B', 'H', 'H', 'H', 'H']);
  });

  it('an operator hold meeting them: a box office sale is refused them, a comp that may take blocked seats takes them from the block', async () => {
    const { performanceId, keys } = await expiredComp();
    const operator = { userId: 'staff', performanceId, lifetimeMs: 60_000, retentionMs: 60_000 };
    const window = await holdCompSeats(fx.redis, keys, {
      ...operator,
      holdId: 'window',
      seatIds: [house1],
      sale: { kind: 'BOX_OFFICE', paymentMethod: 'CASH', ticketIds: ['t1'] },
    });
    expect(window).toEqual({ outcome: 'UNAVAILABLE', seatIds: [house1] });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
    expect(await fx.redis.hget(keys.hold('comp'), 'status')).toBe('EXPIRED');

    // A second comp's hold expires unbought too; a comp that may take house seats meets it.
    const second = await holdCompSeats(fx.redis, keys, {
      ...operator,
      holdId: 'comp2',
      lifetimeMs: 1,
      seatIds: [house2, house1],
      sale: { kind: 'COMP', note: 'press' },
      takeBlocked: true,
    });
    expect(second).toMatchObject({ outcome: 'OK', fromBlocked: [house2, house1] });
    await fx.redisTimePasses((second as { expiresAt: number }).expiresAt, 'the second comp expired');
    const third = await holdCompSeats(fx.redis, keys, {
      ...operator,
      holdId: 'comp3',
      seatIds: [free4, house1],
      sale: { kind: 'COMP', note: 'press again' },
      takeBlocked: true,
    });
    expect(third).toMatchObject({ outcome: 'OK', fromBlocked: [house1] });
    expect(await fx.redis.hget(keys.hold('comp3'), 'fromBlock')).toBe(String(house1));
    expect(await fx.redis.hget(keys.hold('comp2'), 'status')).toBe('EXPIRED');
    expect(await letters(performanceId)).toEqual(['H', 'B', 'A', 'H', 'A', 'A']);
    // Its own purchase failing, the comp path's release puts the house seat back in the block.
    expect(await releaseHold(fx.redis, keys, 'comp3', 'staff', true)).toBe('RELEASED');
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
  });

  it("the comp path's release of an expired hold changes nothing (EXPIRED); the sweep then blocks them again", async () => {
    const { performanceId, keys } = await expiredComp();
    expect(await releaseHold(fx.redis, keys, 'comp', 'guest', true)).toBe('EXPIRED');
    expect(await letters(performanceId)).toEqual(['H', 'H', 'H', 'A', 'A', 'A']);
    expect(await fx.sweeper.sweepOnce()).toBe(1);
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
  });

  it("a canceled performance's end of holds (end-canceled-holds.lua) blocks them again, as the blocks stay", async () => {
    const { performanceId, keys } = await expiredComp();
    await fx.redis.hset(keys.meta, 'status', 'CANCELED');
    expect(await endCanceledHolds(fx.redis, keys, ['comp'])).toEqual({ outcome: 'OK', holds: 1, seats: 1 });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A', 'A', 'A']);
  });

  it('a seat the block no longer holds is left as it is: a block taken over by an operator stays, a sold one stays sold', async () => {
    const { performanceId, keys } = await expiredComp();
    // An operator blocks the comp's free seat (taking it from the expired hold); house1 is sold by a
    // rebuild meanwhile (as after a failover): ending the hold leaves both.
    expect(await blockSeats(fx.redis, keys, [free3])).toMatchObject({ outcome: 'OK', fromExpiredHolds: 1 });
    await fx.redis.hset(keys.seats, String(house1), 'S');
    await fx.redis.hincrby(keys.counts, 'held', -1);
    await fx.redis.hincrby(keys.counts, 'sold', 1);
    expect(await expireHolds(fx.redis, keys, ['comp'])).toEqual({ holds: 1, seats: 0 });
    expect(await letters(performanceId)).toEqual(['S', 'B', 'B', 'A', 'A', 'A']);
  });
});
