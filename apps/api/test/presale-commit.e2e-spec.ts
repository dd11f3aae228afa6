import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { refuseCommitsOn } from '@app/testing';
import { AdminApi, startAdminApi } from './support/api';
import { fastBuyer, newFloorPerformance } from './support/races';

/**
 * A presale's allocation change or delete whose PostgreSQL commit fails after its Redis write (the
 * meta hash is written under the row lock, before the commit) leaves nothing of it in force: the
 * hold scripts read what PostgreSQL has. Before the fix, a failed `maxSeats` lowering refused
 * code holders the list said had seats left, and a failed delete killed a code the list still
 * showed (catalog trial 2026-12-07, M1's kind). The commit is refused by a deferred constraint
 * trigger, as PostgreSQL refuses a COMMIT it cannot make.
 */
describe('a presale change whose commit fails changes nothing (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  const CODE = 'FANS-COMMIT-2027';

  let restore: (() => Promise<void>) | undefined;

  beforeAll(async () => ({ api, db, admin, call, close } = await startAdminApi()));
  afterEach(() => restore?.());
  afterAll(() => close?.());

  /** Makes every later commit that changed performance_presales fail, until afterEach. */
  const refuseCommits = async () => {
    restore = await refuseCommitsOn(db, 'performance_presales', ['UPDATE', 'DELETE']);
  };

  /** A performance on sale in an hour, with a presale open now of `maxSeats` seats; its presale id. */
  async function presaleShow(maxSeats: number) {
    const show = await newFloorPerformance(call, admin, 'Presale commit fails', 10, {
      salesOpenAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const created = await call('POST', `/admin/performances/${show.id}/presales`, {
      body: {
        name: 'Fan club',
        opensAt: '2020-01-01T00:00:00Z',
        closesAt: new Date(Date.now() + 1_800_000).toISOString(),
        code: CODE,
        maxSeats,
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    return { ...show, presaleId: created.json().id as string };
  }

  const holdWithCode = async (performanceId: number, seatIds: number[]) =>
    api.app.inject({
      method: 'POST',
      url: '/api/v1/reservations',
      headers: await fastBuyer(api),
      payload: { performanceId, seatIds, accessCode: CODE },
    });

  it('a lowered allocation whose commit failed lets code holders in as the list says', async () => {
    const show = await presaleShow(5);
    await refuseCommits();
    const lowered = await call('PATCH', `/admin/performances/${show.id}/presales/${show.presaleId}`, {
      body: { maxSeats: 1 },
      session: admin,
    });
    expect(lowered.statusCode, lowered.body).toBeGreaterThanOrEqual(500);
    const listed = await call('GET', `/admin/performances/${show.id}/presales`, { session: admin });
    expect(listed.json().items).toMatchObject([{ id: show.presaleId, maxSeats: 5, seatsTaken: 0 }]);
    const hold = await holdWithCode(show.id, show.seatIds.slice(0, 3));
    expect(hold.statusCode, hold.body).toBe(201);
    const after = await call('GET', `/admin/performances/${show.id}/presales`, { session: admin });
    expect(after.json().items).toMatchObject([{ maxSeats: 5, seatsTaken: 3 }]);
  });

  it('a delete whose commit failed leaves the listed presale’s code working, its count kept', async () => {
    const show = await presaleShow(5);
    expect((await holdWithCode(show.id, show.seatIds.slice(0, 2))).statusCode).toBe(201);
    await refuseCommits();
    const deleted = await call('DELETE', `/admin/performances/${show.id}/presales/${show.presaleId}`, {
      session: admin,
    });
    expect(deleted.statusCode, deleted.body).toBeGreaterThanOrEqual(500);
    const listed = await call('GET', `/admin/performances/${show.id}/presales`, { session: admin });
    expect(listed.json().items).toMatchObject([{ id: show.presaleId, maxSeats: 5, seatsTaken: 2 }]);
    const hold = await holdWithCode(show.id, show.seatIds.slice(4, 7));
    expect(hold.statusCode, hold.body).toBe(201);
    // 2 + 3 = the allocation: the next seat is refused, the count was kept.
    const over = await holdWithCode(show.id, [show.seatIds[9]]);
    expect(over.statusCode, over.body).toBe(409);
    expect(over.json().details).toMatchObject({ code: 'PresaleAllocationExhausted', seatsTaken: 5 });
  });
});
