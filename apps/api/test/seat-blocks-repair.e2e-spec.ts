import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PurchaseRefundsRepository, PurchaseRepository } from '@app/database';
import { createSession, waitUntil } from '@app/testing';
import {
  HoldService,
  PurchaseCancellation,
  PurchaseService,
  performanceKeys,
  RELEASE_SETTLE_SECONDS,
  SEAT_RECONCILER_ACTOR,
  SeatBlockStore,
  SeatReconciler,
} from '@app/ticketing';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/**
 * Moves the performance's release audit rows back past RELEASE_SETTLE_SECONDS, as time would: the
 * reconciler leaves a release's seats to its own Redis write until then.
 */
async function ageReleases(db: Client, performanceId: number): Promise<void> {
  await db.query(
    `UPDATE admin_audit_log SET created_at = created_at - make_interval(secs => $2)
      WHERE subject_id = $1 AND action = 'seat.release'`,
    [`performance:${performanceId}`, RELEASE_SETTLE_SECONDS + 1],
  );
}

/**
 * Blocked seats against lost Redis writes: a block refused for a seat PostgreSQL has sold (its S
 * lost by a failover), and the seat reconciler bringing the letters B back in line with
 * `seat_blocks` and the tickets, never undoing a block in flight. Real PostgreSQL and Redis.
 */
describe('blocked seats and the seat reconciler (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      MAX_SEATS_PER_RESERVATION: '4',
    }));
  });
  afterAll(() => close?.());

  /** A performance of four seats whose first seat is sold and flushed, then shown A again (a failover lost the S). */
  async function soldSeatLostByFailover(): Promise<{ id: number; seat: number }> {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const seat = seatIds[0];
    const first = await createSession(api.app);
    const hold = await api.app.get(HoldService).hold(first.id, id, [seat]);
    await api.app.get(PurchaseService).purchase(first.id, hold.id);
    await flushPurchases(api.app);
    const keys = performanceKeys(id);
    await redis
      .multi()
      .hset(keys.seats, String(seat), 'A')
      .hincrby(keys.counts, 'sold', -1)
      .hincrby(keys.counts, 'available', 1)
      .exec();
    return { id, seat };
  }

  const block = (id: number, seatIds: number[]) =>
    call('POST', `/admin/performances/${id}/seat-blocks`, { body: { seatIds }, session: admin });
  const release = (id: number, seatIds: number[]) =>
    call('POST', `/admin/performances/${id}/seat-blocks/release`, { body: { seatIds }, session: admin });
  const letter = (id: number, seat: number) => redis.hget(performanceKeys(id).seats, String(seat));
  const reconcile = (id: number) => api.app.get(SeatReconciler).reconcilePerformance(id);

  it('refuses to block a seat PostgreSQL has sold while Redis shows it available; the reconciler makes it S', async () => {
    const { id, seat } = await soldSeatLostByFailover();
    const blocked = await block(id, [seat]);
    expect(blocked.statusCode, blocked.body).toBe(409);
    expect(blocked.json().details).toEqual({
      seatIds: [seat],
      held: [],
      sold: [seat],
      truncated: false,
      heldCount: 0,
      soldCount: 1,
    });
    const kept = await db.query('SELECT 1 FROM seat_blocks WHERE seat_id = $1', [seat]);
    expect(kept.rowCount).toBe(0);
    await reconcile(id);
    expect(await letter(id, seat)).toBe('S');
    // A release (of nothing) and a second buyer: the seat stays sold.
    expect((await release(id, [seat])).statusCode).toBe(200);
    const second = await createSession(api.app);
    await expect(api.app.get(HoldService).hold(second.id, id, [seat])).rejects.toThrow();
  });

  it('makes S a seat shown B that PostgreSQL has sold (a block written over a lost sale)', async () => {
    const { id, seat } = await soldSeatLostByFailover();
    // As a block that had passed before the check existed leaves it: B in Redis, a seat_blocks row.
    expect(await api.app.get(SeatBlockStore).block(id, [seat])).toMatchObject({ outcome: 'OK', blocked: 1 });
    await db.query(
      `INSERT INTO seat_blocks (seat_id, performance_id, blocked_by, blocked_by_email) VALUES ($1, $2, $3, 'ops@example.test')`,
      [seat, id, admin.id],
    );
    const { repairs } = await reconcile(id);
    expect(repairs).toEqual([
      { performanceId: id, seatId: seat, kind: 'sold_block_dropped' },
      expect.objectContaining({ seatId: seat, kind: 'sold_restored' }),
    ]);
    expect(await letter(id, seat)).toBe('S');
    // Its block is gone with the repair: nothing left to release.
    expect((await release(id, [seat])).json()).toMatchObject({ released: [], notBlocked: [seat] });
    expect(await letter(id, seat)).toBe('S');
    const second = await createSession(api.app);
    await expect(api.app.get(HoldService).hold(second.id, id, [seat])).rejects.toThrow();
  });

  it('deletes, audited, an old seat_blocks row of a sold seat (blocked and sold before blocks checked tickets); a second pass finds nothing', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const [seat, other] = seatIds;
    const buyer = await createSession(api.app);
    const hold = await api.app.get(HoldService).hold(buyer.id, id, [seat]);
    await api.app.get(PurchaseService).purchase(buyer.id, hold.id);
    await flushPurchases(api.app);
    expect((await block(id, [other])).statusCode).toBe(200);
    // As such a block left it: the seat S in Redis, and a seat_blocks row beside its ACTIVE ticket.
    await db.query(
      `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email) VALUES ($1, $2, 'desk', $3, 'ops@example.test')`,
      [seat, id, admin.id],
    );
    const listed = async () =>
      (await call('GET', `/admin/performances/${id}/seat-blocks`, { session: admin }))
        .json()
        .items.map((item: { seatId: number }) => item.seatId);
    expect(await listed()).toEqual([seat, other]);

    const { repairs } = await reconcile(id);
    expect(repairs).toEqual([{ performanceId: id, seatId: seat, kind: 'sold_block_dropped' }]);
    expect(await listed()).toEqual([other]);
    expect(await letter(id, seat)).toBe('S');
    const audit = await db.query(
      `SELECT actor_id, actor_email, action, details FROM admin_audit_log WHERE subject_id = $1 AND actor_email = 'seat-reconciler'`,
      [`performance:${id}`],
    );
    expect(audit.rows).toEqual([
      {
        actor_id: SEAT_RECONCILER_ACTOR.id,
        actor_email: 'seat-reconciler',
        action: 'seat.release',
        details: {
          performanceId: id,
          seatIds: [seat],
          cause: 'sold',
          blocks: [
            {
              seatId: seat,
              reason: 'desk',
              blockedBy: { id: admin.id, email: 'ops@example.test' },
              blockedAt: expect.any(String),
            },
          ],
        },
      },
    ]);
    expect((await reconcile(id)).repairs).toEqual([]);
    expect(await letter(id, other)).toBe('B');
  });

  it('keeps the seat_blocks row of a sold seat whose refund is only in Redis yet; after the flush the block is restored', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const [seat] = seatIds;
    const buyer = await createSession(api.app);
    const hold = await api.app.get(HoldService).hold(buyer.id, id, [seat]);
    const bought = await api.app.get(PurchaseService).purchase(buyer.id, hold.id);
    await flushPurchases(api.app);
    await db.query(
      `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email) VALUES ($1, $2, 'desk', $3, 'ops@example.test')`,
      [seat, id, admin.id],
    );
    // The cancel's own write to PostgreSQL fails: the ticket stays ACTIVE there until the flush.
    vi.spyOn(api.app.get(PurchaseRepository), 'cancelWritten').mockRejectedValueOnce(
      new Error('PostgreSQL unreachable'),
    );
    await api.app.get(PurchaseCancellation).cancel(buyer.id, bought.id);
    vi.restoreAllMocks();
    const active = await db.query(`SELECT status FROM tickets WHERE performance_id = $1 AND seat_id = $2`, [id, seat]);
    expect(active.rows).toEqual([{ status: 'ACTIVE' }]);
    expect(await letter(id, seat)).toBe('A');

    const { repairs } = await reconcile(id);
    expect(repairs).toEqual([]);
    const kept = await db.query('SELECT 1 FROM seat_blocks WHERE seat_id = $1', [seat]);
    expect(kept.rowCount).toBe(1);
    await flushPurchases(api.app);
    expect((await reconcile(id)).repairs).toEqual([{ performanceId: id, seatId: seat, kind: 'block_restored' }]);
    expect(await letter(id, seat)).toBe('B');
  });

  it('keeps the seat_blocks row of a seat whose partial refund is only in Redis yet; after the flush the block is restored', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const [seat, other] = seatIds;
    const buyer = await createSession(api.app);
    const hold = await api.app.get(HoldService).hold(buyer.id, id, [seat, other]);
    const bought = await api.app.get(PurchaseService).purchase(buyer.id, hold.id);
    await flushPurchases(api.app);
    await db.query(
      `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email) VALUES ($1, $2, 'desk', $3, 'ops@example.test')`,
      [seat, id, admin.id],
    );
    // The refund's own write to PostgreSQL fails: the ticket stays ACTIVE there until the flush.
    vi.spyOn(api.app.get(PurchaseRefundsRepository), 'written').mockRejectedValueOnce(
      new Error('PostgreSQL unreachable'),
    );
    await api.app.get(PurchaseCancellation).refundSeats(buyer.id, bought.id, [seat], 'operator', admin.id);
    vi.restoreAllMocks();
    const active = await db.query(`SELECT status FROM tickets WHERE performance_id = $1 AND seat_id = $2`, [id, seat]);
    expect(active.rows).toEqual([{ status: 'ACTIVE' }]);
    expect(await letter(id, seat)).toBe('A');

    const { repairs } = await reconcile(id);
    expect(repairs).toEqual([]);
    const kept = await db.query('SELECT 1 FROM seat_blocks WHERE seat_id = $1', [seat]);
    expect(kept.rowCount).toBe(1);
    await flushPurchases(api.app);
    expect((await reconcile(id)).repairs).toEqual([{ performanceId: id, seatId: seat, kind: 'block_restored' }]);
    expect(await letter(id, seat)).toBe('B');
    expect(await letter(id, other)).toBe('S');
  });

  it('blocks again a committed block a failover lost (A with a seat_blocks row)', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    expect((await block(id, [seatIds[1]])).statusCode).toBe(200);
    // The failover's Redis has the seat as before the block (bitmap and rows included).
    expect(await api.app.get(SeatBlockStore).release(id, [seatIds[1]])).toEqual({ outcome: 'OK', released: 1 });
    const { repairs } = await reconcile(id);
    expect(repairs).toEqual([{ performanceId: id, seatId: seatIds[1], kind: 'block_restored' }]);
    expect(await letter(id, seatIds[1])).toBe('B');
    const buyer = await createSession(api.app);
    await expect(api.app.get(HoldService).hold(buyer.id, id, [seatIds[1]])).rejects.toThrow();
    expect(await redis.hmget(performanceKeys(id).counts, 'available', 'blocked')).toEqual(['3', '1']);
    expect((await reconcile(id)).repairs).toEqual([]);
  });

  it('puts back on sale a seat shown B with no seat_blocks row (a lost release, or a block that never committed)', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    expect((await block(id, [seatIds[0], seatIds[2]])).statusCode).toBe(200);
    expect((await release(id, [seatIds[0]])).statusCode).toBe(200);
    // The release's Redis write lost; seat 4 blocked in Redis by a process that died before its commit.
    const store = api.app.get(SeatBlockStore);
    expect(await store.block(id, [seatIds[0], seatIds[3]])).toMatchObject({ outcome: 'OK', blocked: 2 });
    // The release is moments old: its seat is left to its own write, the other repaired at once.
    expect(await reconcile(id)).toEqual({
      repairs: [{ performanceId: id, seatId: seatIds[3], kind: 'block_dropped' }],
      deferred: 1,
    });
    expect(await letter(id, seatIds[0])).toBe('B');
    await ageReleases(db, id);
    const { repairs } = await reconcile(id);
    expect(repairs.map((repair) => [repair.seatId, repair.kind])).toEqual([[seatIds[0], 'block_dropped']]);
    expect(await redis.hmget(performanceKeys(id).seats, ...seatIds.map(String))).toEqual(['A', 'A', 'B', 'A']);
    const buyer = await createSession(api.app);
    expect(await api.app.get(HoldService).hold(buyer.id, id, [seatIds[0], seatIds[3]])).toMatchObject({
      seatIds: [seatIds[0], seatIds[3]],
    });
  });

  it('does not undo a block in flight: the reconciler waits for its commit under the row lock', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const store = api.app.get(SeatBlockStore);
    const original = store.block.bind(store);
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    let written = false;
    const spy = vi.spyOn(store, 'block').mockImplementationOnce(async (performanceId, ids) => {
      const outcome = await original(performanceId, ids);
      written = true;
      await gate;
      return outcome;
    });
    const blocking = block(id, [seatIds[2]]);
    await waitUntil(async () => written, 'the block written to Redis, not committed', 10_000);
    const reconciling = reconcile(id);
    // The reconciler saw B with no committed row; it must now wait for the block's row lock.
    await waitUntil(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR SHARE%' AND query LIKE '%performances%'`,
          )
        ).rowCount! > 0,
      'the reconciler waiting for the row lock',
      10_000,
    );
    proceed();
    expect((await blocking).statusCode).toBe(200);
    expect((await reconciling).repairs).toEqual([]);
    spy.mockRestore();
    expect(await letter(id, seatIds[2])).toBe('B');
  });
});

/**
 * A release commits PostgreSQL first and changes Redis after, with no replica wait: whatever fails
 * after the commit, no seat PostgreSQL lists blocked is on sale, and a seat left blocked in Redis
 * is put on sale by the seat reconciler.
 */
describe('releasing blocked seats: PostgreSQL first (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '200',
    }));
  });
  afterAll(() => close?.());

  /** A performance of four seats whose first two are blocked in both stores (written directly: with no replica a block answers 503). */
  async function twoBlocked(): Promise<{ id: number; s1: number; s2: number }> {
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const [s1, s2] = seatIds;
    for (const seat of [s1, s2]) {
      await db.query(
        `INSERT INTO seat_blocks (seat_id, performance_id, blocked_by, blocked_by_email) VALUES ($1, $2, $3, 'ops@example.test')`,
        [seat, id, admin.id],
      );
    }
    expect(await api.app.get(SeatBlockStore).block(id, [s1, s2])).toMatchObject({ outcome: 'OK', blocked: 2 });
    return { id, s1, s2 };
  }
  const blockedInPostgres = async (id: number) =>
    (await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [id])).rows.map(
      (row: { seat_id: number }) => row.seat_id,
    );

  it('commits a release whatever the replicas; a buyer who takes a seat at once keeps it, the other is on sale', async () => {
    const { id, s1, s2 } = await twoBlocked();
    const store = api.app.get(SeatBlockStore);
    const buyer = await createSession(api.app);
    const original = store.release.bind(store);
    const spy = vi.spyOn(store, 'release').mockImplementationOnce(async (performanceId, ids) => {
      const outcome = await original(performanceId, ids);
      await api.app.get(HoldService).hold(buyer.id, id, [s1]);
      return outcome;
    });
    const answer = await call('POST', `/admin/performances/${id}/seat-blocks/release`, {
      body: { seatIds: [s1, s2] },
      session: admin,
    });
    spy.mockRestore();
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toEqual({ performanceId: id, released: [s1, s2], notBlocked: [] });
    expect(await blockedInPostgres(id)).toEqual([]);
    expect(await redis.hmget(performanceKeys(id).seats, String(s1), String(s2))).toEqual(['H', 'A']);
  });

  it("waits for replicas on the operators' own connection: a hold meanwhile is not queued behind the WAIT", async () => {
    if (api.env.REDIS_CLUSTER_NODES) return; // a Cluster run has replicas: the WAIT answers at once
    const { id, seatIds } = await createPerformance(api.app, admin, 4);
    const store = api.app.get(SeatBlockStore);
    const buyer = await createSession(api.app);
    const original = store.replicated.bind(store);
    let held: Promise<{ seatIds: number[]; waitOverFirst: boolean }> | undefined;
    const spy = vi.spyOn(store, 'replicated').mockImplementationOnce(async (performanceId, replicas, timeoutMs) => {
      let waitOver = false;
      const waiting = original(performanceId, replicas, timeoutMs).then((acked) => {
        waitOver = true;
        return acked;
      });
      held = api.app
        .get(HoldService)
        .hold(buyer.id, id, [seatIds[3]])
        .then((hold) => ({ seatIds: hold.seatIds, waitOverFirst: waitOver }));
      return waiting;
    });
    const answer = await call('POST', `/admin/performances/${id}/seat-blocks`, {
      body: { seatIds: [seatIds[0]] },
      session: admin,
    });
    spy.mockRestore();
    // The single Redis of `int` has no replica: the block is refused, the hold answered during its WAIT.
    expect(answer.statusCode, answer.body).toBe(503);
    expect(await held).toEqual({ seatIds: [seatIds[3]], waitOverFirst: false });
  });

  it('a release whose Redis write fails after the commit leaves the seats off sale until the reconciler frees them', async () => {
    const { id, s1, s2 } = await twoBlocked();
    const store = api.app.get(SeatBlockStore);
    const spy = vi.spyOn(store, 'release').mockRejectedValueOnce(new Error('connection lost'));
    const answer = await call('POST', `/admin/performances/${id}/seat-blocks/release`, {
      body: { seatIds: [s1, s2] },
      session: admin,
    });
    spy.mockRestore();
    expect(answer.statusCode, answer.body).toBe(200);
    expect(await blockedInPostgres(id)).toEqual([]);
    expect(await redis.hmget(performanceKeys(id).seats, String(s1), String(s2))).toEqual(['B', 'B']);
    const reconciler = api.app.get(SeatReconciler);
    // Within RELEASE_SETTLE_SECONDS of the commit the seats are left to the release's own write.
    expect(await reconciler.reconcilePerformance(id)).toEqual({ repairs: [], deferred: 2 });
    await ageReleases(db, id);
    const { repairs } = await reconciler.reconcilePerformance(id);
    expect(repairs.map((repair) => repair.kind)).toEqual(['block_dropped', 'block_dropped']);
    expect(await redis.hmget(performanceKeys(id).seats, String(s1), String(s2))).toEqual(['A', 'A']);
  });
});
