import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { expect } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { caller, createPerformance, hold } from '../purchase-helpers';

/** What {@link startBuyerOfShow} answers: a buyer and one performance whose seats a test takes in order. */
export interface BuyerOfShow {
  buyer: TestSession;
  performance: { id: number; seatIds: number[] };
  /** The next `count` seat ids of the performance, none of them given out before. */
  seats(count: number): number[];
  /**
   * The buyer holds the next `count` seats (through the HoldService) and buys them (`POST
   * /purchases`, no Idempotency-Key: 201); answers the purchase as the 201 gave it.
   */
  buy(count: number): Promise<{ id: string; seatIds: number[] }>;
}

/**
 * A buyer signed in on `app` and a performance of `seatCount` seats (`createPerformance` by
 * `admin`, with its `options`: price in minor units, …), for tests that buy a few seats at a time.
 */
export async function startBuyerOfShow(
  app: NestFastifyApplication,
  admin: TestSession,
  seatCount: number,
  options: Parameters<typeof createPerformance>[3] = {},
): Promise<BuyerOfShow> {
  const call = caller(app);
  const buyer = await createSession(app);
  const performance = await createPerformance(app, admin, seatCount, options);
  let nextSeat = 0;
  const seats = (count: number) => performance.seatIds.slice(nextSeat, (nextSeat += count));
  const buy = async (count: number) => {
    const held = await hold(app, buyer, performance.id, seats(count));
    const sold = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(sold.statusCode, sold.body).toBe(201);
    return sold.json() as { id: string; seatIds: number[] };
  };
  return { buyer, performance, seats, buy };
}
