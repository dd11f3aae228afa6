import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatBlocksRepository } from '@app/database';
import { waitUntil } from '@app/testing';
import { HOLD_RETENTION_MS, HoldStore, HoldSweeper, newIdOf, performanceKeys, SeatReconciler } from '@app/ticketing';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import {
  AnswerLog,
  expectSeatsConsistent,
  Headers,
  newFloorPerformance,
  RACE_API_ENV,
  redisNow,
} from './support/races';

/**
 * A comp with `includeBlocked` takes house seats out of their block into its hold under the
 * performance's row lock; their `seat_blocks` rows are deleted in the transaction that commits
 * after the comp's sale. An api killed between the hold and the purchase leaves the rows (its
 * transaction rolls back with its connection) and a hold nobody buys, which expires: every path
 * that ends it (batch's sweep, a buyer's seat-id hold meeting its seats, a best-available hold)
 * must put the house seats back to BLOCKED, so no buyer ever holds one, and Redis, PostgreSQL and
 * the seat reconciler agree. The dying api is played by the comp's own steps: the row lock's
 * transaction, the hold script taking the blocked seats, then a throw instead of the purchase.
 * Real PostgreSQL and Redis.
 */
describe("a comp's hold of house seats left by a killed api expires (real PostgreSQL and Redis)", () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi(RACE_API_ENV));
  });
  afterAll(() => close?.());

  const newPerformance = (seats: number) => newFloorPerformance(call, admin, 'House seats', seats);

  const blockRows = async (performanceId: number) =>
    (
      await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [performanceId])
    ).rows.map((row: { seat_id: number }) => row.seat_id);

  /**
   * Blocks `house` (the operator's route), then runs a comp of `house` and `free` with
   * includeBlocked up to its hold (lifetime `lifetimeMs`) and dies there: the row lock's
   * transaction rolls back, the hold stays. Answers the hold's id and expiry (epoch ms).
   */
  async function compKilledAfterItsHold(
    performanceId: number,
    house: number[],
    free: number[],
    lifetimeMs: number,
  ): Promise<{ holdId: string; expiresAt: number }> {
    const blocked = await call('POST', `/admin/performances/${performanceId}/seat-blocks`, {
      body: { seatIds: house, reason: 'house seats' },
      session: admin,
    });
    expect(blocked.statusCode, blocked.body).toBe(200);
    const holdId = newIdOf(performanceId);
    let expiresAt = 0;
    const seatIds = [...house, ...free];
    await expect(
      api.app.get(SeatBlocksRepository).takeForComp(
        performanceId,
        seatIds,
        async () => {
          const held = await api.app.get(HoldStore).holdComp({
            holdId,
            userId: admin.id,
            performanceId,
            seatIds,
            sale: { kind: 'COMP', note: 'artist guests' },
            lifetimeMs,
            retentionMs: HOLD_RETENTION_MS,
            takeBlocked: true,
          });
          expect(held).toMatchObject({ outcome: 'OK', fromBlocked: house });
          expiresAt = (held as { expiresAt: number }).expiresAt;
          throw new Error('the api was killed before the purchase');
        },
        () => holdId,
        () => {
          throw new Error('no audit row: the comp never committed');
        },
      ),
    ).rejects.toThrow('killed');
    // The rows rolled back with the transaction; Redis shows the house seats in the comp's hold.
    expect(await blockRows(performanceId)).toEqual(house);
    const keys = performanceKeys(performanceId);
    expect(await redis.hmget(keys.seats, ...house.map(String))).toEqual(house.map(() => 'H'));
    return { holdId, expiresAt };
  }

  const reserve = (headers: Headers, payload: Record<string, unknown>) =>
    api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });
  const buyer = async () => (await signedBuyer(api)).headers;

  it('no buyer gets a house seat once the hold expires: a seat-id hold is refused it, a best-available hold is not offered it, the sweep blocks them again, and the seat reconciler has nothing to repair', async () => {
    const performance = await newPerformance(8);
    const [house1, house2, free3] = performance.seatIds;
    const { holdId, expiresAt } = await compKilledAfterItsHold(performance.id, [house1, house2], [free3], 1_500);
    const keys = performanceKeys(performance.id);
    await waitUntil(
      async () => (await redisNow(redis)) > expiresAt,
      "the comp's hold expired (Redis time)",
      10_000,
      20,
    );

    // Before the hold is ended, the reads show its seats as its end will leave them: the house
    // seats BLOCKED (not on sale), the comp's free seat AVAILABLE.
    expect(await redis.hget(keys.hold(holdId), 'status')).toBe('HELD');
    const comp = [house1, house2, free3];
    const statusesIn = (items: { id: number; status: string }[]) =>
      comp.map((seat) => items.find((item) => item.id === seat)?.status);
    const page = await call('GET', `/performances/${performance.id}/seats?limit=100`);
    expect(statusesIn(page.json().items)).toEqual(['BLOCKED', 'BLOCKED', 'AVAILABLE']);
    const available = await call('GET', `/performances/${performance.id}/seats?status=AVAILABLE&limit=100`);
    expect(available.json().items.map((seat: { id: number }) => seat.id)).toEqual(performance.seatIds.slice(2));
    const map = await call('GET', `/performances/${performance.id}/map`);
    const mapSeats = map
      .json()
      .sections.flatMap((section: { rows: { seats: { id: number; status: string }[] }[] }) =>
        section.rows.flatMap((row) => row.seats),
      );
    expect(statusesIn(mapSeats)).toEqual(['BLOCKED', 'BLOCKED', 'AVAILABLE']);
    const sales = await call('GET', `/performances/${performance.id}/sales`, { session: admin });
    expect(sales.json().totals).toMatchObject({ available: 6, held: 0, blocked: 2 });
    // The section's live count reads letters (an expired hold's seats count as held until it ends).
    const sections = await call('GET', `/performances/${performance.id}/sections`);
    expect(sections.json().items).toMatchObject([{ name: 'Floor', available: 5 }]);

    // A buyer asks for a house seat of the expired hold: refused, and the hold is ended here.
    const first = await reserve(await buyer(), { performanceId: performance.id, seatIds: [house1] });
    expect(first.statusCode, first.body).toBe(409);
    expect(first.json().details.seatIds).toEqual([house1]);
    expect(await redis.hget(keys.hold(holdId), 'status')).toBe('EXPIRED');
    const listed = await call('GET', `/performances/${performance.id}/seats?limit=100`);
    const statusOf = (seat: number) =>
      (listed.json().items as { id: number; status: string }[]).find((item) => item.id === seat)?.status;
    expect([house1, house2, free3].map(statusOf)).toEqual(['BLOCKED', 'BLOCKED', 'AVAILABLE']);
    // A best-available hold of every seat left is offered only the seats on sale.
    const best = await reserve(await buyer(), { performanceId: performance.id, quantity: 4, together: false });
    expect(best.statusCode, best.body).toBe(201);
    expect(best.json().seatIds).not.toContain(house1);
    expect(best.json().seatIds).not.toContain(house2);
    expect(await api.app.get(HoldSweeper).sweepOnce()).toBe(0);

    // PostgreSQL still has the blocks, Redis agrees, and the seat reconciler repairs nothing.
    expect(await blockRows(performance.id)).toEqual([house1, house2]);
    expect((await api.app.get(SeatReconciler).reconcilePerformance(performance.id)).repairs).toEqual([]);
    await expectSeatsConsistent(api, db, performance.id);
    const listedBlocks = await call('GET', `/admin/performances/${performance.id}/seat-blocks`, { session: admin });
    expect(listedBlocks.json().items.map((block: { seatId: number }) => block.seatId)).toEqual([house1, house2]);
  });

  it('races buyers (seat ids and best available) and the sweep against the expiry, round after round: no buyer ever holds a house seat', async () => {
    const log = new AnswerLog();
    const sweeper = api.app.get(HoldSweeper);
    const reconciler = api.app.get(SeatReconciler);
    let freeTaken = 0;
    for (let round = 0; round < 6; round += 1) {
      const performance = await newPerformance(6);
      const [house1, house2, free3] = performance.seatIds;
      const house = [house1, house2];
      const { expiresAt } = await compKilledAfterItsHold(performance.id, house, [free3], 400);
      const buyers = await Promise.all(Array.from({ length: 8 }, () => buyer()));
      // Until the hold has expired and some more: each buyer tries a house seat (alone or with the
      // comp's free seat), or the best available; the sweep runs beside them (batch's loop).
      const until = expiresAt + 300;
      const payloads: Record<string, unknown>[] = [
        { performanceId: performance.id, seatIds: [house1] },
        { performanceId: performance.id, seatIds: [house2, free3] },
        { performanceId: performance.id, seatIds: [free3, house1] },
        // Three seats are on sale before the expiry, four after it (six if the house seats were freed).
        { performanceId: performance.id, quantity: 4, together: false },
      ];
      const granted: { seatIds: number[] }[] = [];
      const tryUntilDone = async (headers: Headers, index: number) => {
        while ((await redisNow(redis)) <= until) {
          const answer = await reserve(headers, payloads[index % payloads.length]);
          log.note('POST /reservations', answer);
          if (answer.statusCode === 201) {
            granted.push(answer.json());
            return;
          }
        }
      };
      const sweep = async () => {
        while ((await redisNow(redis)) <= until) await sweeper.sweepOnce();
      };
      await Promise.all([...buyers.map((headers, index) => tryUntilDone(headers, index + round)), sweep()]);

      const summary = `round ${round}: ${JSON.stringify(granted)}`;
      for (const hold of granted)
        expect(
          hold.seatIds.filter((seat) => house.includes(seat)),
          summary,
        ).toEqual([]);
      freeTaken += granted.length;
      await sweeper.sweepOnce();
      const keys = performanceKeys(performance.id);
      expect(await redis.hmget(keys.seats, ...house.map(String)), summary).toEqual(['B', 'B']);
      expect(await blockRows(performance.id), summary).toEqual(house);
      expect((await reconciler.reconcilePerformance(performance.id)).repairs, summary).toEqual([]);
      await expectSeatsConsistent(api, db, performance.id);
    }
    log.expectNo5xx();
    // The free seats did sell meanwhile: the buyers were not simply all refused.
    expect(freeTaken).toBeGreaterThan(0);
  });
});
