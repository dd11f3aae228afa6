import { expect } from 'vitest';
import { blockSeats } from '../src/blocks/seat-block-scripts';
import { holdCompSeats } from '../src/holds/hold-scripts';
import { performanceKeys } from '../src/redis-keys';
import { DrawnHall, hallRegistration } from './halls';
import { TicketingFixture } from './ticketing-fixture';

/**
 * Performance `performanceId` of `hall` registered, `houseSeats` blocked (house seats), and hold
 * 'comp' of them and `otherSeats` for 'guest' taken as a comp with includeBlocked does
 * (hold-comp-seats.lua, takeBlocked), living `lifetimeMs`; the house seats checked to have come
 * from their block. Answers the performance's keys.
 */
export async function compOfHouseSeats(
  fx: TicketingFixture,
  hall: DrawnHall,
  performanceId: number,
  seats: { houseSeats: number[]; otherSeats: number[]; lifetimeMs: number },
): Promise<{ keys: ReturnType<typeof performanceKeys>; expiresAt: number }> {
  const keys = performanceKeys(performanceId);
  await fx.store.registerPerformance(hallRegistration(performanceId, hall));
  expect(await blockSeats(fx.redis, keys, seats.houseSeats)).toMatchObject({
    outcome: 'OK',
    blocked: seats.houseSeats.length,
  });
  const held = await holdCompSeats(fx.redis, keys, {
    holdId: 'comp',
    userId: 'guest',
    performanceId,
    lifetimeMs: seats.lifetimeMs,
    retentionMs: 60_000,
    seatIds: [...seats.houseSeats, ...seats.otherSeats],
    sale: { kind: 'COMP', note: 'artist guests' },
    takeBlocked: true,
  });
  expect(held).toMatchObject({ outcome: 'OK', fromBlocked: seats.houseSeats });
  return { keys, expiresAt: (held as { expiresAt: number }).expiresAt };
}
