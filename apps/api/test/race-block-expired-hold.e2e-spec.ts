import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@app/testing';
import { HoldSweeper, performanceKeys } from '@app/ticketing';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import { expectSeatsConsistent, Headers, newFloorPerformance, RACE_API_ENV } from './support/races';

/**
 * An operator's block meets a buyer's hold that has expired but was not ended yet (no sweep, no
 * hold asked for its seats): `block-seats.lua` takes the seat from that hold (its letter H -> B)
 * and leaves the hold itself HELD in the expiry index, its record still listing the seat. Once the
 * seat is released and held by another buyer, ending the old hold (the sweeper, or a hold asking
 * for another of its seats) must leave the new buyer's seat alone (freeSeats checks each seat's
 * holder entry): before that check it freed it, and a third buyer held the seat while the second
 * buyer's hold was live (P1: a seat in two holds, of which only one could be bought).
 * The old hold is ended by the sweep (the api’s own HoldSweeper stands in for `batch`’s loop), by a
 * seat-id hold meeting its other seat, or by a best-available hold (which ends due holds first).
 * Real PostgreSQL and Redis.
 */
describe('a block of an expired hold’s seat, released and held again (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      RESERVATION_TTL_SECONDS: '3',
    }));
  });
  afterAll(() => close?.());

  /** A fresh buyer's headers (an account row, a token signed directly). */
  const buyer = async () => (await signedBuyer(api)).headers;

  const newPerformance = (seats: number) => newFloorPerformance(call, admin, 'Blocks', seats);

  const reserve = (headers: Headers, payload: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });
  const reservation = (headers: Headers, id: string) =>
    api.app.inject({ method: 'GET', url: `/api/v1/reservations/${id}`, headers });

  it.each([
    ['batch’s sweep', 'sweep'],
    ['a hold asking for another of its seats (no batch running)', 'hold'],
    ['a best-available hold (no batch running)', 'best'],
  ])('never leaves one seat in two live holds, the old hold ended by %s', async (_, endedBy) => {
    const performance = await newPerformance(4);
    const [s1, s2] = performance.seatIds;
    const first = await buyer();
    const held = await reserve(first, { performanceId: performance.id, seatIds: [s1, s2] });
    expect(held.statusCode, held.body).toBe(201);
    const holdA = held.json().id as string;
    await waitUntil(
      async () => (await reservation(first, holdA)).json().status === 'EXPIRED',
      'the first hold expired (by Redis time)',
      15_000,
      50,
    );

    // The operator blocks seat 1 (taken from the expired, not yet ended hold A), then puts it
    // back on sale.
    const blocked = await call('POST', `/admin/performances/${performance.id}/seat-blocks`, {
      body: { seatIds: [s1], reason: 'camera' },
      session: admin,
    });
    expect(blocked.statusCode, blocked.body).toBe(200);
    expect(blocked.json().blocked).toEqual([s1]);
    const released = await call('POST', `/admin/performances/${performance.id}/seat-blocks/release`, {
      body: { seatIds: [s1] },
      session: admin,
    });
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json().released).toEqual([s1]);

    // A second buyer holds seat 1.
    const second = await buyer();
    const heldB = await reserve(second, { performanceId: performance.id, seatIds: [s1] });
    expect(heldB.statusCode, heldB.body).toBe(201);
    const holdB = heldB.json().id as string;

    // The old hold A is ended: by batch's sweep loop, or by a hold that meets its other seat.
    if (endedBy === 'sweep') await api.app.get(HoldSweeper).sweepOnce();
    else {
      const ender = await reserve(
        await buyer(),
        endedBy === 'hold'
          ? { performanceId: performance.id, seatIds: [s2] }
          : { performanceId: performance.id, quantity: 3 },
      );
      expect(ender.statusCode, ender.body).toBe(201);
      expect((await reservation(first, holdA)).json().status).toBe('EXPIRED');
    }

    // A third buyer asks for seat 1 while the second buyer's hold is live.
    const third = await buyer();
    const heldC = await reserve(third, { performanceId: performance.id, seatIds: [s1] });
    const statusB = (await reservation(second, holdB)).json().status as string;
    // Every seat is in one live hold at most (and the counts, blocks and sales agree).
    await expectSeatsConsistent(api, db, performance.id);
    expect(statusB, 'the second hold is still live (a 3 s hold; the steps above take milliseconds)').toBe('HELD');
    expect(
      heldC.statusCode,
      `seat ${s1} is in the live hold ${holdB}, yet a third buyer's hold answered ${heldC.body}`,
    ).toBe(409);

    // The letters and the counts still agree.
    const keys = performanceKeys(performance.id);
    const letters = Object.values(await redis.hgetall(keys.seats));
    const counts = await redis.hgetall(keys.counts);
    expect(Number(counts.held)).toBe(letters.filter((letter) => letter === 'H').length);
  });
});
