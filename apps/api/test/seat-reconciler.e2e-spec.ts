import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '@app/auth';
import { PurchaseRepository } from '@app/database';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import {
  HoldService,
  HoldSweeper,
  PurchaseCancellation,
  PurchaseFlusher,
  PurchaseService,
  performanceKeys,
  SeatReconciler,
  SeatRepair,
  SeatsUnavailableError,
} from '@app/ticketing';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';

/**
 * The seat reconciler of `batch` (libs/ticketing/src/seats/seat-reconciler.ts) on the real Redis
 * and PostgreSQL: each inconsistency a lost write leaves is built by writing Redis directly, the
 * reconciler repairs exactly those seats, and a sale running meanwhile is never overruled.
 */
describe('SeatReconciler', () => {
  let api: ApiHarness;
  let redis: Redis;
  let db: Client;
  let admin: TestSession;
  let holds: HoldService;
  let purchases: PurchaseService;
  let reconciler: SeatReconciler;
  let flusher: PurchaseFlusher;

  /** Counts recomputed from the seat letters, read atomically with the stored counts. */
  async function truth(performanceId: number) {
    const keys = performanceKeys(performanceId);
    const [[, letters], [, counts]] = (await redis.multi().hgetall(keys.seats).hgetall(keys.counts).exec()) as [
      [null, Record<string, string>],
      [null, Record<string, string>],
    ];
    const values = Object.values(letters);
    const count = (letter: string) => values.filter((value) => value === letter).length;
    return {
      letters,
      stored: { available: Number(counts.available), held: Number(counts.held), sold: Number(counts.sold) },
      recomputed: { available: count('A'), held: count('H'), sold: count('S') },
    };
  }

  /** Moves a seat's letter as a lost write would leave it, counts with it (as every script keeps them). */
  async function setLetter(performanceId: number, seatId: number, to: 'A' | 'H' | 'S'): Promise<void> {
    const keys = performanceKeys(performanceId);
    const from = (await redis.hget(keys.seats, String(seatId))) as 'A' | 'H' | 'S';
    const counter = { A: 'available', H: 'held', S: 'sold' };
    await redis
      .multi()
      .hset(keys.seats, String(seatId), to)
      .hincrby(keys.counts, counter[from], -1)
      .hincrby(keys.counts, counter[to], 1)
      .exec();
  }

  /** Active tickets in PostgreSQL: seat id → purchase id. */
  async function activeTickets(performanceId: number): Promise<Map<number, string>> {
    const { rows } = await db.query<{ seat_id: number; purchase_id: string }>(
      `SELECT seat_id, purchase_id FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE'`,
      [performanceId],
    );
    return new Map(rows.map((row) => [row.seat_id, row.purchase_id]));
  }

  async function repairsCounted(): Promise<Record<string, number>> {
    const metric = await reconciler.repairs.get();
    return Object.fromEntries(metric.values.map((value) => [String(value.labels.kind), value.value]));
  }

  beforeAll(async () => {
    api = await startTestApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      RESERVATION_TTL_SECONDS: '300',
      MAX_SEATS_PER_RESERVATION: '4',
      SEAT_RECONCILE_CHUNK_SIZE: '16',
    });
    redis = api.app.get(Redis);
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    admin = await createSession(api.app, { role: Role.Admin });
    holds = api.app.get(HoldService);
    purchases = api.app.get(PurchaseService);
    reconciler = api.app.get(SeatReconciler);
    flusher = api.app.get(PurchaseFlusher);
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('repairs each inconsistency a lost write leaves, and touches no consistent seat', async () => {
    const buyer = await createSession(api.app);
    const other = await createSession(api.app);
    const { id, seatIds } = await createPerformance(api.app, admin, 40);
    const keys = performanceKeys(id);
    const seat = (n: number) => seatIds[n - 1];
    const buy = async (userId: string, seats: number[]) => {
      const hold = await holds.hold(userId, id, seats.map(seat));
      return { hold, purchase: await purchases.purchase(userId, hold.id) };
    };

    // Consistent: sold and flushed (1, 2), sold not flushed yet (3: only the stream backs it),
    // held (4, 5), bought then canceled (6), and never touched (the rest).
    await buy(buyer.id, [1, 2]);
    const restoredHeld = await buy(buyer.id, [14]);
    const restoredFree = await buy(buyer.id, [15]);
    const taken = await buy(other.id, [16]);
    const pendingCancel = await buy(other.id, [17]);
    const canceled = await buy(other.id, [6]);
    await flushPurchases(api.app);
    await buy(buyer.id, [3]);
    const live = await holds.hold(other.id, id, [seat(4), seat(5)]);
    await api.app.get(PurchaseCancellation).cancel(other.id, canceled.purchase.id);
    await flushPurchases(api.app);

    // Lost writes. 10: shown sold, no purchase anywhere. 11: held by a hold with no record.
    // 12, 13: held by a hold whose record says RELEASED.
    await setLetter(id, seat(10), 'S');
    await setLetter(id, seat(11), 'H');
    await redis.hset(keys.seatHolds, String(seat(11)), `${Date.now() + 600_000}:ghost-hold`);
    const released = await holds.hold(buyer.id, id, [seat(12), seat(13)]);
    await redis.hset(keys.hold(released.id), 'status', 'RELEASED');
    // 14: its purchase reached PostgreSQL, then the failover lost the sale: held again by its hold.
    await setLetter(id, seat(14), 'H');
    await redis.hset(keys.hold(restoredHeld.hold.id), 'status', 'HELD');
    await redis.hdel(keys.hold(restoredHeld.hold.id), 'purchaseId');
    await redis.zadd(keys.expiry, Date.now() + 600_000, restoredHeld.hold.id);
    await redis.del(keys.purchase(restoredHeld.purchase.id));
    // 15: the same, and its hold expired since (the seat shown free).
    await setLetter(id, seat(15), 'A');
    // 16: the same, and another buyer holds the seat now.
    await setLetter(id, seat(16), 'A');
    const intruder = await holds.hold(buyer.id, id, [seat(16)]);
    // 17: canceled by its buyer; the cancellation is in Redis, not in PostgreSQL yet (the cancel's
    // own write there failed: PostgreSQL unreachable for that moment; its flush writes it).
    vi.spyOn(api.app.get(PurchaseRepository), 'cancelWritten').mockRejectedValueOnce(
      new Error('PostgreSQL unreachable'),
    );
    await api.app.get(PurchaseCancellation).cancel(other.id, pendingCancel.purchase.id);
    vi.restoreAllMocks();
    expect(await redis.hget(keys.seats, String(seat(17)))).toBe('A');
    expect((await activeTickets(id)).get(seat(17))).toBe(pendingCancel.purchase.id);

    const before = await truth(id);
    const counted = await repairsCounted();
    const { repairs, deferred } = await reconciler.reconcilePerformance(id);

    const bySeat = (list: SeatRepair[]) => [...list].sort((a, b) => a.seatId - b.seatId);
    expect(bySeat(repairs)).toEqual(
      bySeat([
        { performanceId: id, seatId: seat(10), kind: 'sold_unbacked' },
        { performanceId: id, seatId: seat(11), kind: 'held_without_hold', holdId: 'ghost-hold' },
        { performanceId: id, seatId: seat(12), kind: 'held_without_hold', holdId: released.id },
        { performanceId: id, seatId: seat(13), kind: 'held_without_hold', holdId: released.id },
        { performanceId: id, seatId: seat(14), kind: 'sold_restored', purchaseId: restoredHeld.purchase.id },
        { performanceId: id, seatId: seat(15), kind: 'sold_restored', purchaseId: restoredFree.purchase.id },
        {
          performanceId: id,
          seatId: seat(16),
          kind: 'sold_restored',
          purchaseId: taken.purchase.id,
          takenFromHold: intruder.id,
        },
      ]),
    );
    // Seat 17 waits for its cancellation to reach PostgreSQL; nothing else was left for later.
    expect(deferred).toBe(1);
    const after = await truth(id);
    expect(after.stored).toEqual(after.recomputed);
    const expected: Record<number, string> = {
      [seat(10)]: 'A',
      [seat(11)]: 'A',
      [seat(12)]: 'A',
      [seat(13)]: 'A',
      [seat(14)]: 'S',
      [seat(15)]: 'S',
      [seat(16)]: 'S',
    };
    for (const [seatId, letter] of Object.entries(before.letters)) {
      expect(after.letters[seatId], `seat ${seatId}`).toBe(expected[Number(seatId)] ?? letter);
    }
    expect(after.letters[seat(3)]).toBe('S');
    expect([after.letters[seat(4)], after.letters[seat(5)], after.letters[seat(17)]]).toEqual(['H', 'H', 'A']);
    expect((await holds.get(other.id, live.id)).status).toBe('HELD');
    // The hold whose sale PostgreSQL has is bought by that purchase: neither bought again nor released.
    expect(await redis.hmget(keys.hold(restoredHeld.hold.id), 'status', 'purchaseId')).toEqual([
      'PURCHASED',
      restoredHeld.purchase.id,
    ]);
    expect(await redis.zscore(keys.expiry, restoredHeld.hold.id)).toBeNull();
    // The hold that had taken a sold seat can no longer buy it; the buyer is refunded (409).
    await expect(purchases.purchase(buyer.id, intruder.id)).rejects.toBeInstanceOf(SeatsUnavailableError);

    const now = await repairsCounted();
    expect((now.sold_unbacked ?? 0) - (counted.sold_unbacked ?? 0)).toBe(1);
    expect((now.held_without_hold ?? 0) - (counted.held_without_hold ?? 0)).toBe(3);
    expect((now.sold_restored ?? 0) - (counted.sold_restored ?? 0)).toBe(3);

    // A second pass finds nothing; the canceled purchase's seat stays free once its cancellation is written.
    expect((await reconciler.reconcilePerformance(id)).repairs).toEqual([]);
    await flushPurchases(api.app);
    expect(await reconciler.reconcileOnce()).toEqual([]);
    expect(await redis.hget(keys.seats, String(seat(17)))).toBe('A');
  });

  it('overrules no buyer while hundreds of buy, cancel and hold attempts race two reconcilers on the same seats', async () => {
    const { id, seatIds } = await createPerformance(api.app, admin, 48);
    const keys = performanceKeys(id);
    const { rows: users } = await db.query<{ id: string }>(
      `INSERT INTO users (email, email_key, name, password_hash)
       SELECT e, e, 'Buyer', 'not-a-hash'
       FROM generate_series(1, 40) AS n, LATERAL (SELECT 'race-' || n || '-' || $1 || '@example.test' AS e) AS address
       RETURNING id`,
      [id],
    );
    // Planted before the sale, on seats the buyers want too: a sale nothing backs, a hold with no record.
    await setLetter(id, seatIds[0], 'S');
    await setLetter(id, seatIds[1], 'H');
    await redis.hset(keys.seatHolds, String(seatIds[1]), `${Date.now() + 600_000}:lost-hold`);

    const repairs: SeatRepair[] = [];
    const failures: unknown[] = [];
    let selling = true;
    const background = (work: () => Promise<unknown>) =>
      (async () => {
        while (selling) await work().catch((error: unknown) => failures.push(error));
      })();
    const workers = [
      background(async () => repairs.push(...(await reconciler.reconcilePerformance(id)).repairs)),
      background(async () => repairs.push(...(await reconciler.reconcilePerformance(id)).repairs)),
      background(() => flusher.flushOnce()),
      background(() => api.app.get(HoldSweeper).sweepOnce()),
    ];

    // 400 buyers, 40 accounts: each holds one or two of the same few seats, buys most holds,
    // releases some, and cancels some purchases; most attempts meet a taken seat (409).
    const outcomes = { held: 0, bought: 0, canceled: 0, refused: 0 };
    const buyer = async (n: number) => {
      const userId = users[n % users.length].id;
      const first = (n * 7) % seatIds.length;
      const wanted = n % 3 === 0 ? [seatIds[first], seatIds[(first + 1) % seatIds.length]] : [seatIds[first]];
      const hold = await holds.hold(userId, id, wanted).catch(() => null);
      if (!hold) return void (outcomes.refused += 1);
      outcomes.held += 1;
      if (n % 5 === 0) return holds.release(userId, hold.id);
      const purchase = await purchases.purchase(userId, hold.id);
      outcomes.bought += 1;
      if (n % 4 === 0) {
        await api.app.get(PurchaseCancellation).cancel(userId, purchase.id);
        outcomes.canceled += 1;
      }
    };
    for (let wave = 0; wave < 8; wave++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => buyer(wave * 50 + i)));
    }
    selling = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(outcomes.bought).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(0);

    // A pass once the sale is over repairs what the passes during it had to leave for later (a
    // planted seat whose check met flushed entries it could not read). Only the two planted seats
    // were ever repaired, each once (by one of the reconcilers); a further pass finds nothing.
    await flushPurchases(api.app);
    repairs.push(...(await reconciler.reconcilePerformance(id)).repairs);
    expect(repairs.map((r) => [r.seatId, r.kind]).sort()).toEqual(
      [
        [seatIds[0], 'sold_unbacked'],
        [seatIds[1], 'held_without_hold'],
      ].sort(),
    );
    expect((await reconciler.reconcilePerformance(id)).repairs).toEqual([]);

    // No seat sold twice, nothing sold lost: Redis's sold seats are exactly PostgreSQL's active
    // tickets (one per seat, the unique index), and every held seat belongs to a live hold.
    const { letters, stored, recomputed } = await truth(id);
    expect(stored).toEqual(recomputed);
    const tickets = await activeTickets(id);
    const soldInRedis = Object.keys(letters)
      .filter((seatId) => letters[seatId] === 'S')
      .map(Number)
      .sort((a, b) => a - b);
    expect(soldInRedis).toEqual([...tickets.keys()].sort((a, b) => a - b));
    const heldSeats = Object.keys(letters).filter((seatId) => letters[seatId] === 'H');
    for (const seatId of heldSeats) {
      const holdId = (await redis.hget(keys.seatHolds, seatId))!.split(':')[1];
      expect(await redis.hget(keys.hold(holdId), 'status')).toBe('HELD');
    }
    expect(await redis.xlen(keys.purchaseStream)).toBe(0);
  });
});
