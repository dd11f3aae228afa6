import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdSeats } from '../holds/hold-scripts';
import { performanceKeys } from '../redis-keys';
import { drawHall, seatingDisagreements } from '../../test/halls';
import { compOfHouseSeats } from '../../test/house-seats';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { cancelPurchase, purchaseHold, refundSeats } from './purchase-scripts';

/**
 * A comp with includeBlocked takes house seats out of their block; its purchase keeps them
 * (`fromBlock`, from the hold), and its cancel or refund (cancel-purchase.lua, refund-seats.lua)
 * gives them back to the block (S -> B, counts sold -> blocked), never to public sale, whether
 * Redis still has the purchase's record or it is passed from PostgreSQL; its other seats go on sale.
 * The scripts on the real Redis (and on the run's Cluster, int-cluster).
 */
describe("a comp's house seats when the comp is canceled or refunded", () => {
  let fx: TicketingFixture;
  const hall = drawHall([{ name: 'A', rows: ['......'] }]);
  const [house1, house2, free3, free4] = [1, 2, 3, 4].map((number) => hall.seat('A', 1, number));
  let nextPerformance = 1;

  beforeAll(() => {
    fx = ticketingFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  /** A performance of six seats whose first two are house seats, comped with the third to 'guest'. */
  async function houseComp(): Promise<{ performanceId: number; keys: ReturnType<typeof performanceKeys> }> {
    const performanceId = nextPerformance;
    nextPerformance += 1;
    const { keys } = await compOfHouseSeats(fx, hall, performanceId, {
      houseSeats: [house1, house2],
      otherSeats: [free3],
      lifetimeMs: 60_000,
    });
    const sale = { holdId: 'comp', userId: 'guest', purchaseId: 'cp', chargeId: '', holdRetentionMs: 60_000 };
    expect(await purchaseHold(fx.redis, keys, { ...sale, operator: true })).toMatchObject({ outcome: 'OK' });
    return { performanceId, keys };
  }

  /** The first four seats' letters, after checking the counts and the seating data agree with all the letters. */
  async function letters(performanceId: number): Promise<string[]> {
    const truth = await fx.truth(performanceId);
    expect(truth.stored).toEqual(truth.recomputed);
    expect(await seatingDisagreements(fx.redis, performanceId, hall.places)).toEqual([]);
    return [house1, house2, free3, free4].map((seat) => truth.letters[String(seat)]);
  }

  const byOperator = {
    purchaseId: 'cp',
    userId: 'guest',
    checkedIn: [],
    transferredSeatIds: [],
    mode: 'operator' as const,
    operatorId: 'op1',
  };

  it('its purchase keeps the house seats; a whole cancel blocks them again and frees the other; a buyer is refused them', async () => {
    const { performanceId, keys } = await houseComp();
    expect(await fx.redis.hget(keys.purchase('cp'), 'fromBlock')).toBe(`${house1},${house2}`);
    const [[, entry]] = await fx.redis.xrange(keys.purchaseStream, '-', '+');
    expect(entry[entry.indexOf('fromBlock') + 1]).toBe(`${house1},${house2}`);
    expect(await letters(performanceId)).toEqual(['S', 'S', 'S', 'A']);

    const canceled = await cancelPurchase(fx.redis, keys, { ...byOperator, canceledBy: 'operator', persisted: null });
    expect(canceled).toMatchObject({ outcome: 'CANCELED', amount: 0 });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A']);
    expect(await fx.redis.hgetall(keys.counts)).toMatchObject({ sold: '0', blocked: '2', available: '4' });
    const buyer = { userId: 'buyer', performanceId, lifetimeMs: 60_000, userLimit: 6, retentionMs: 60_000 };
    expect(await holdSeats(fx.redis, keys, { ...buyer, holdId: 'b1', seatIds: [house1, free3] })).toEqual({
      outcome: 'UNAVAILABLE',
      seatIds: [house1],
    });
  });

  it('a partial refund of a house seat blocks it again; the whole refund of the rest blocks the other and frees the third', async () => {
    const { performanceId, keys } = await houseComp();
    const refund = { ...byOperator, flushed: true, persisted: null };
    expect(await refundSeats(fx.redis, keys, { ...refund, refundId: 'r1', seatIds: [house2] })).toMatchObject({
      outcome: 'REFUNDED',
      amount: 0,
    });
    expect(await letters(performanceId)).toEqual(['S', 'B', 'S', 'A']);
    expect(await refundSeats(fx.redis, keys, { ...refund, refundId: 'r2', seatIds: [free3, house1] })).toMatchObject({
      outcome: 'CANCELED',
    });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A']);
  });

  it("from PostgreSQL's record (Redis's gone): the house seats it names go back to their block", async () => {
    const { performanceId, keys } = await houseComp();
    const record = await fx.redis.hgetall(keys.purchase('cp'));
    await fx.redis.del(keys.purchase('cp'));
    // A partial refund of one house seat, then the cancel of the rest, each from the persisted record.
    const refund = { ...byOperator, flushed: true, persisted: record, refundId: 'r1', seatIds: [house1] };
    expect(await refundSeats(fx.redis, keys, refund)).toMatchObject({ outcome: 'REFUNDED' });
    expect(await letters(performanceId)).toEqual(['B', 'S', 'S', 'A']);
    const rest = await fx.redis.hgetall(keys.purchase('cp'));
    await fx.redis.del(keys.purchase('cp'));
    expect(
      await cancelPurchase(fx.redis, keys, {
        ...byOperator,
        canceledBy: 'operator',
        persisted: { ...rest, fromBlock: `${house2}` },
      }),
    ).toMatchObject({ outcome: 'CANCELED' });
    expect(await letters(performanceId)).toEqual(['B', 'B', 'A', 'A']);
  });
});
