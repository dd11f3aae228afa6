import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrawnHall, drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys } from '../redis-keys';
import { SEATING_FORMAT, SECTION_RECORD_BYTES } from '../seats/seating-layout';

/**
 * Seating data of format 6 as the previous version left it in Redis (an `s<index>` text field a
 * section, no `sections` field, ready = 6) until a best-available search rebuilds it: the scripts
 * that free seats (release, expiry, a seat-id hold ending an expired hold) still free them, keep
 * the counts equal to the letters, and leave the sections' slots to the rebuild. (They failed in
 * seatingRefreshSection's read of `sections` after writing the letters: a 500 and counts off by
 * the hold; found by a stranger's review of SEATING_FORMAT 7.)
 */
describe('seating data of format 6 after an upgrade', () => {
  let fx: TicketingFixture;
  let next = 1;
  const halls = new Map<number, DrawnHall>();

  beforeAll(() => {
    fx = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '8' });
  });
  afterAll(() => fx.close());

  /** Rewrites the performance's layout hash the way format 6 had it. */
  async function downgradeToFormat6(performanceId: number) {
    const keys = performanceKeys(performanceId);
    const records = (await fx.redis.hgetBuffer(keys.seating, 'sections'))!;
    const fields: Record<string, string> = { ready: '6' };
    for (let index = 0; index * SECTION_RECORD_BYTES < records.length; index += 1) {
      const at = index * SECTION_RECORD_BYTES;
      const [firstRow, rows, slot, marked] = [0, 1, 2, 3].map((i) => records.readUIntBE(at + 3 * i, 3));
      fields[`s${index}`] = `${firstRow},${rows},1000,${slot},${marked}`;
    }
    await fx.redis.hdel(keys.seating, 'sections');
    await fx.redis.hset(keys.seating, fields);
  }

  /**
   * After the freeing script: counts equal the letters; the next search answers NO_LAYOUT (the
   * HoldDesk then builds the data from PostgreSQL, here from the hall), and searches again.
   */
  async function expectSoundThenRebuilt(performanceId: number) {
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual(recomputed);
    const request = pairRequest(performanceId);
    await expect(fx.holds.holdBestAvailable(randomUUID(), request)).rejects.toThrow('seating not found');
    await fx.store.registerSeating(performanceId, halls.get(performanceId)!.places);
    const keys = performanceKeys(performanceId);
    expect(await fx.redis.hget(keys.seating, 'ready')).toBe(String(SEATING_FORMAT));
    expect((await fx.holds.holdBestAvailable(randomUUID(), request)).seatIds).toHaveLength(2);
    expect(await seatingDisagreements(fx.redis, performanceId, halls.get(performanceId)!.places)).toEqual([]);
  }

  /** Best-available, 2 seats together, anywhere. */
  const pairRequest = (performanceId: number) => ({
    performanceId,
    quantity: 2,
    together: true,
    accessible: false,
    scope: { kind: 'all' as const },
  });

  /** A best-available hold of 2 seats living one second, the data then of format 6, the hold expired. */
  async function expiredHoldOnFormat6(performanceId: number) {
    const short = fx.connect({ RESERVATION_TTL_SECONDS: '1', MAX_SEATS_PER_RESERVATION: '8' });
    const hold = await short.holds.holdBestAvailable(randomUUID(), pairRequest(performanceId));
    await downgradeToFormat6(performanceId);
    await fx.redisTimePasses(hold.expiresAt, 'the hold expired');
    return hold;
  }

  async function setUp() {
    const performanceId = next++;
    const hall = drawHall([{ name: 'Floor', rows: ['..........', '..........'] }]);
    halls.set(performanceId, hall);
    await fx.store.registerPerformance(hallRegistration(performanceId, hall));
    return performanceId;
  }

  it('releases a hold (taken by best-available) after the upgrade, counts still matching the letters', async () => {
    const performanceId = await setUp();
    const user = randomUUID();
    // Made while the data was current (the old version's best-available refreshed the row slots too).
    const hold = await fx.holds.holdBestAvailable(user, pairRequest(performanceId));
    await downgradeToFormat6(performanceId);

    await fx.holds.release(user, hold.id);
    await expectSoundThenRebuilt(performanceId);
  });

  it('lets the sweeper expire such a hold', async () => {
    const performanceId = await setUp();
    await expiredHoldOnFormat6(performanceId);
    await fx.sweeper.sweepOnce();
    await expectSoundThenRebuilt(performanceId);
  });

  it('holds by seat id a seat whose best-available hold expired (the script ends that hold)', async () => {
    const performanceId = await setUp();
    const hold = await expiredHoldOnFormat6(performanceId);
    await fx.holds.hold(randomUUID(), performanceId, hold.seatIds);
    await expectSoundThenRebuilt(performanceId);
  });
});
