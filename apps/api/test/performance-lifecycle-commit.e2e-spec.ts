import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { refuseCommitsOn } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { AdminApi, startAdminApi } from './support/api';
import { fastBuyer, newFloorPerformance } from './support/races';

/**
 * A lifecycle PATCH whose PostgreSQL commit fails after it wrote the performance's live state in
 * Redis (the scripts' meta hash is written under the row lock, before the commit): nothing of the
 * change may stay in force. Before the fix, Redis kept it: a pause lifted by a PATCH answered 500
 * sold seats while PostgreSQL and every read said PAUSED; a pause or a ticket limit that failed
 * refused buyers while the performance read ON_SALE (catalog trial 2026-12-07, M1). The commit is
 * refused by a deferred constraint trigger, as PostgreSQL refuses a COMMIT it cannot make.
 */
describe('a lifecycle change whose commit fails changes nothing (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close, redis } = {} as AdminApi;

  let restore: (() => Promise<void>) | undefined;

  beforeAll(async () => ({ api, db, admin, call, close, redis } = await startAdminApi()));
  afterEach(() => restore?.());
  afterAll(() => close?.());

  /** Makes every later commit that changed the performances table fail, until `restore`. */
  const refuseCommits = async () => {
    restore = await refuseCommitsOn(db, 'performances', ['UPDATE']);
  };

  /** What the scripts read of the lifecycle, against the performance's row in PostgreSQL. */
  async function expectLiveStateAsStored(performanceId: number): Promise<void> {
    const meta = await redis.hgetall(performanceKeys(performanceId).meta);
    const row = (
      await db.query(
        `SELECT status, max_tickets_per_buyer, no_orphan_seats, sales_open_at, sales_close_at, starts_at, cancel_until
           FROM performances WHERE id = $1`,
        [performanceId],
      )
    ).rows[0];
    const ms = (value: Date) => String(new Date(value).getTime());
    expect({
      status: meta.status ?? 'ON_SALE',
      maxTicketsPerBuyer: meta.maxTicketsPerBuyer ?? null,
      noOrphanSeats: meta.noOrphanSeats === '1',
      salesOpenAt: meta.salesOpenAt,
      salesCloseAt: meta.salesCloseAt,
      cancelUntil: meta.cancelUntil,
    }).toEqual({
      status: row.status,
      maxTicketsPerBuyer: row.max_tickets_per_buyer === null ? null : String(row.max_tickets_per_buyer),
      noOrphanSeats: row.no_orphan_seats,
      salesOpenAt: ms(row.sales_open_at),
      salesCloseAt: ms(row.sales_close_at ?? row.starts_at),
      cancelUntil: row.cancel_until === null ? 'none' : ms(row.cancel_until),
    });
  }

  it('a resume whose commit failed sells nothing: the performance stays PAUSED for the scripts too', async () => {
    const { id, seatIds } = await newFloorPerformance(call, admin, 'Commit fails on resume', 6);
    expect(
      (await call('PATCH', `/performances/${id}`, { body: { status: 'PAUSED' }, session: admin })).statusCode,
    ).toBe(200);
    await refuseCommits();
    const resume = await call('PATCH', `/performances/${id}`, { body: { status: 'ON_SALE' }, session: admin });
    expect(resume.statusCode, resume.body).toBeGreaterThanOrEqual(500);
    expect((await call('GET', `/performances/${id}`)).json()).toMatchObject({ status: 'PAUSED', salesState: 'PAUSED' });
    const hold = await api.app.inject({
      method: 'POST',
      url: '/api/v1/reservations',
      headers: await fastBuyer(api),
      payload: { performanceId: id, seatIds: [seatIds[0]] },
    });
    expect(hold.statusCode, hold.body).toBe(409);
    expect(hold.json().message).toContain('paused');
    await expectLiveStateAsStored(id);
  });

  it('a pause, a close, a ticket limit, a sales window or a cancel window that failed refuses no buyer', async () => {
    const changes: Record<string, unknown>[] = [
      { status: 'PAUSED' },
      { status: 'CLOSED', noOrphanSeats: true },
      { maxTicketsPerBuyer: 1 },
      { salesOpenAt: '2029-06-01T00:00:00Z' },
      { salesCloseAt: '2021-01-01T00:00:00Z', cancelUntil: null },
    ];
    for (const body of changes) {
      const { id, seatIds } = await newFloorPerformance(call, admin, 'Commit fails', 6);
      await refuseCommits();
      const patch = await call('PATCH', `/performances/${id}`, { body, session: admin });
      expect(patch.statusCode, `${JSON.stringify(body)}: ${patch.body}`).toBeGreaterThanOrEqual(500);
      await restore?.();
      // Two seats leaving one free seat between them and the row's first: refused by a limit of 1
      // and by noOrphanSeats, as by a pause, a close or a sales window, were the change in force.
      const hold = await api.app.inject({
        method: 'POST',
        url: '/api/v1/reservations',
        headers: await fastBuyer(api),
        payload: { performanceId: id, seatIds: [seatIds[1], seatIds[2]] },
      });
      expect(hold.statusCode, `${JSON.stringify(body)}: ${hold.body}`).toBe(201);
      expect((await call('GET', `/performances/${id}`)).json()).toMatchObject({
        status: 'ON_SALE',
        salesState: 'ON_SALE',
      });
      await expectLiveStateAsStored(id);
    }
  });

  it('the operator’s retry after a failed PATCH puts the change in force, in Redis as in PostgreSQL', async () => {
    // The retry after a failed PATCH (the operator's next step) writes what PostgreSQL then has.
    const { id } = await newFloorPerformance(call, admin, 'Commit retried', 6);
    await refuseCommits();
    expect(
      (await call('PATCH', `/performances/${id}`, { body: { status: 'PAUSED' }, session: admin })).statusCode,
    ).toBeGreaterThanOrEqual(500);
    await restore?.();
    const retry = await call('PATCH', `/performances/${id}`, { body: { status: 'PAUSED' }, session: admin });
    expect(retry.statusCode, retry.body).toBe(200);
    await expectLiveStateAsStored(id);
    expect(await redis.hget(performanceKeys(id).meta, 'status')).toBe('PAUSED');
  });
});
