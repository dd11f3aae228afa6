import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '@app/redis';
import {
  ApiHarness,
  AppProcess,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestSession,
  waitForValue,
  waitUntil,
} from '@app/testing';
import { performanceKeys, SeatReconciler, SeatStateStore } from '@app/ticketing';
import { caller, createPerformance } from './purchase-helpers';
import { startApiWithSessions } from './support/api';

/** The closures' lease here (SALES_CLOSURE_LEASE_MS, ms): the shortest allowed, so a test waits little. */
const LEASE_MS = 1000;

/**
 * A closure to sales whose closer crashed (a delete, a time zone change) is a lease: sales resume
 * once it lapses by Redis TIME. Before leases, the closure of an api SIGKILLed between close and
 * reopen stayed for ever: every hold and purchase of the performance answered 409 SalesClosed
 * until someone edited Redis by hand.
 */
describe('a crashed closer leaves sales closed for one lease, never for good (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let buyer: TestSession;
  let redis: Redis;
  let db: Client;

  beforeAll(async () => {
    ({ api, admin, user: buyer } = await startApiWithSessions({ SALES_CLOSURE_LEASE_MS: String(LEASE_MS) }));
    redis = createRedis(api.env);
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    redis?.disconnect();
    await api?.close();
  });

  const redisNow = async () => {
    const [seconds, micros] = (await redis.time()).map(Number);
    return seconds * 1000 + Math.floor(micros / 1000);
  };

  it('a closure never reopened (its closer gone) stops refusing holds and purchases once its lease lapses', async () => {
    const call = caller(api.app);
    const performance = await createPerformance(api.app, admin, 3);
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    // Closed as a delete or a time zone change closes it, then never renewed nor reopened.
    const seats = api.app.get(SeatStateStore);
    expect(await seats.closeSales(performance.id, 'crashed-closer', LEASE_MS)).toMatchObject({
      closed: true,
    });
    const holdOther = async () => {
      const answer = await call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [performance.seatIds[1]] },
        session: buyer,
      });
      return { statusCode: answer.statusCode, body: answer.body };
    };
    const refused = await holdOther();
    expect(refused.statusCode, refused.body).toBe(409);
    expect(JSON.parse(refused.body).message).toBe('sales are closed for this performance');

    // Sales resume by themselves within a lease (plus the poll): no reopen, no hand edit.
    const resumed = await waitForValue(holdOther, 'a hold taken again', {
      done: (answer) => answer.statusCode !== 409,
      timeoutMs: LEASE_MS + 5_000,
      intervalMs: 50,
    });
    expect(resumed.statusCode, resumed.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
  });

  it(
    'a delete whose api is SIGKILLed while its transaction works: the closure stands while the api lives (renewed), lapses once it is killed; the delete never commits',
    async () => {
      const call = caller(api.app);
      const performance = await createPerformance(api.app, admin, 3);
      const port = await freePort();
      const doomed = new AppProcess('api', { ...api.env, PORT: String(port) });
      const blocker = new Client({ connectionString: api.env.DATABASE_URL });
      await blocker.connect();
      try {
        await doomed.waitForLine('api listening');
        // A seat row held FOR SHARE: the delete's cascade to the seats waits on it, after the delete
        // closed sales (in its transaction, under the performance's row lock).
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM seats WHERE performance_id = $1 FOR SHARE', [performance.id]);
        const deletion = fetch(`http://127.0.0.1:${port}/api/v1/performances/${performance.id}`, {
          method: 'DELETE',
          headers: admin.headers,
        }).catch((error: Error) => error);
        const meta = performanceKeys(performance.id).meta;
        const firstEntry = await waitForValue(() => redis.hget(meta, 'closed'), 'the delete closed sales', {
          done: (closed) => closed !== null,
          intervalMs: 20,
        });
        const firstDeadline = Number(firstEntry!.split(':')[1]);
        await waitUntil(
          async () =>
            (
              await db.query(
                `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                   AND query LIKE 'DELETE FROM performances%'`,
              )
            ).rowCount === 1,
          'the delete waits on the seat lock',
          10_000,
          20,
        );
        await waitUntil(async () => (await redisNow()) > firstDeadline, 'past the first lease (Redis time)', 5_000, 20);
        // The live delete renewed its closure: still closed past its first deadline.
        const duringDelete = await call('POST', '/reservations', {
          body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
          session: buyer,
        });
        expect(duringDelete.statusCode, duringDelete.body).toBe(409);
        expect(Number((await redis.hget(meta, 'closed'))!.split(':')[1])).toBeGreaterThan(firstDeadline);

        doomed.kill('SIGKILL');
        await doomed.exited;
        expect(await deletion).toBeInstanceOf(Error);
        const resumed = await waitForValue(
          async () => {
            const answer = await call('POST', '/reservations', {
              body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
              session: buyer,
            });
            return { statusCode: answer.statusCode, body: answer.body };
          },
          'a hold taken once the killed delete’s lease lapsed',
          { done: (answer) => answer.statusCode !== 409, timeoutMs: LEASE_MS + 5_000, intervalMs: 50 },
        );
        expect(resumed.statusCode, resumed.body).toBe(201);
        await blocker.query('ROLLBACK');
        // The killed delete's transaction ended with its connection: the performance is still there.
        await waitUntil(
          async () =>
            (
              await db.query(
                `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND query LIKE 'DELETE FROM performances%'`,
              )
            ).rowCount === 0,
          'the killed delete’s session ended',
          10_000,
          20,
        );
        expect((await call('GET', `/performances/${performance.id}`)).statusCode).toBe(200);
        const bought = await call('POST', '/purchases', {
          body: { reservationId: (JSON.parse(resumed.body) as { id: string }).id },
          session: buyer,
        });
        expect(bought.statusCode, bought.body).toBe(201);
      } finally {
        await blocker.end();
        await doomed.forceStop();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it("the seat reconciler settles a closure without deadline (a delete's made final, an older version's) once no closer's transaction can commit", async () => {
    const call = caller(api.app);
    const reconciler = api.app.get(SeatReconciler);
    const seats = api.app.get(SeatStateStore);
    const standing = await createPerformance(api.app, admin, 2);
    const deleted = await createPerformance(api.app, admin, 2);
    const holdOf = (performance: { id: number; seatIds: number[] }) =>
      call('POST', '/reservations', {
        body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
        session: buyer,
      });
    // A final closure (a delete that died between its last renewal and its rollback) beside one an
    // older version wrote, and a lapsed lease.
    const now = await redisNow();
    await redis.hset(performanceKeys(standing.id).meta, 'closed', `final-token old-token lapsed:${now - 1}`);
    // A transaction that may still delete it (it holds the row FOR UPDATE): the closure stays.
    const closer = new Client({ connectionString: api.env.DATABASE_URL });
    await closer.connect();
    try {
      await closer.query('BEGIN');
      await closer.query('SELECT id FROM performances WHERE id = $1 FOR UPDATE', [standing.id]);
      await reconciler.reconcilePerformance(standing.id);
      expect(await seats.salesClosers(standing.id)).toEqual(['final-token', 'old-token']);
      expect((await holdOf(standing)).statusCode).toBe(409);
      await closer.query('ROLLBACK');
    } finally {
      await closer.end();
    }
    // Its transaction ended and the performance stands: it was not deleted, sales resume.
    await reconciler.reconcilePerformance(standing.id);
    expect(await seats.salesClosers(standing.id)).toEqual([]);
    expect((await holdOf(standing)).statusCode).toBe(201);

    // A delete that committed and died before it removed the keys: its live state is removed.
    await redis.hset(performanceKeys(deleted.id).meta, 'closed', 'final-token');
    await db.query('DELETE FROM performances WHERE id = $1', [deleted.id]);
    expect(await seats.isRegistered(deleted.id)).toBe(true);
    await reconciler.reconcilePerformance(deleted.id);
    expect(await seats.isRegistered(deleted.id)).toBe(false);
    expect(await redis.exists(performanceKeys(deleted.id).meta)).toBe(0);
  });
});
