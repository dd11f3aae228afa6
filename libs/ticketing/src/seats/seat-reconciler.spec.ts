import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import type { DroppedSeatBlock, NewAdminAudit, PurchaseRepository, SeatBlocksRepository } from '@app/database';
import type { SeatRepairAnswer, SeatRepairRequest, StreamMark } from './reconcile-scripts';
import { SeatHolder, SeatReconcileStore } from './seat-reconcile.store';
import { SalesClosureSettler } from './sales-closure-settler';
import { RELEASE_SETTLE_SECONDS, SEAT_RECONCILER_ACTOR, SEAT_REPAIR_KINDS, SeatReconciler } from './seat-reconciler';

type Sale = { seatId: number; purchaseId: string; reservationId: string | null; final: boolean };

const MARK: StreamMark = { lastId: '5-0', added: 5 };

/**
 * A reconciler over one performance's seat `letters` (seat id → letter), the seats of purchases
 * still in the stream, the sales PostgreSQL has and the holders of held seats; the store's script
 * answers `answer` to every repair unless told otherwise. `blocked`: what seat_blocks has at the
 * unlocked read; `blockedLocked`: at the read under the share lock (the same unless given).
 */
function reconciler(
  state: {
    letters?: Record<number, string>;
    inStream?: number[];
    sold?: Sale[];
    holders?: Record<number, SeatHolder>;
    blocked?: number[];
    blockedLocked?: number[];
    /** Seats a release committed within RELEASE_SETTLE_SECONDS, as read under the share lock. */
    recentlyReleased?: number[];
    /** Purchases CANCELED in Redis (a refund not flushed yet). */
    canceledInRedis?: string[];
    chunk?: number;
    answer?: (request: SeatRepairRequest) => SeatRepairAnswer;
  } = {},
) {
  const order: string[] = [];
  const pairs = Object.entries(state.letters ?? {}).flat();
  const store = {
    performanceIds: vi.fn(async () => [7]),
    streamSnapshot: vi.fn(async (_performanceId: number) => {
      order.push('stream');
      return { mark: MARK, seats: new Set((state.inStream ?? []).map(String)) };
    }),
    // Two letters a step, as a small HSCAN COUNT would answer.
    scanLetters: vi.fn(async (_performanceId: number, cursor: string) => {
      const at = Number(cursor);
      const next = at + 4 >= pairs.length ? '0' : String(at + 4);
      return { cursor: next, pairs: pairs.slice(at, at + 4) };
    }),
    holders: vi.fn(async (_performanceId: number, seatIds: string[]) =>
      seatIds.map((seat) => state.holders?.[Number(seat)] ?? { entry: '', holdId: null, status: null }),
    ),
    undoneSales: vi.fn(
      async (_performanceId: number, sales: { seatId: string; purchaseId: string }[]) =>
        new Set(sales.filter((sale) => state.canceledInRedis?.includes(sale.purchaseId)).map((sale) => sale.seatId)),
    ),
    repair: vi.fn(async (_performanceId: number, _mark: StreamMark, requests: SeatRepairRequest[]) =>
      requests.map(state.answer ?? ((): SeatRepairAnswer => ({ outcome: 'REPAIRED', takenFromHold: null }))),
    ),
  };
  const purchases = {
    soldSeats: vi.fn(async () => {
      order.push('postgres');
      return state.sold ?? [];
    }),
  };
  let inShareLock = false;
  const audits: NewAdminAudit[] = [];
  const blocks = {
    blockedSeatIds: vi.fn(async () => state.blocked ?? []),
    lentSeatIds: vi.fn(async () => []),
    // PostgreSQL's check of the tickets again, as the repository's under its lock: every seat given.
    dropSoldBlocks: vi.fn(
      async (_performanceId: number, seatIds: number[], audit: (dropped: DroppedSeatBlock[]) => NewAdminAudit) => {
        const dropped = seatIds.map((seatId) => ({
          seatId,
          reason: 'desk',
          blockedBy: { id: 'op-1', email: 'ops@example.test' },
          blockedAt: new Date(0),
        }));
        audits.push(audit(dropped));
        return dropped;
      },
    ),
    underShareLock: vi.fn(
      async (
        _performanceId: number,
        seatIds: number[],
        _releases: { subjectId: string; action: string; withinSeconds: number },
        apply: (blocked: number[], recentlyReleased: number[]) => unknown,
      ) => {
        const locked = new Set(state.blockedLocked ?? state.blocked ?? []);
        const released = new Set(state.recentlyReleased ?? []);
        inShareLock = true;
        try {
          return await apply(
            seatIds.filter((id) => locked.has(id)),
            seatIds.filter((id) => released.has(id)),
          );
        } finally {
          inShareLock = false;
        }
      },
    ),
  };
  const env = { SEAT_RECONCILE_CHUNK_SIZE: state.chunk ?? 1000 } as Env;
  const subject = new SeatReconciler(
    store as unknown as SeatReconcileStore,
    env,
    purchases as unknown as PurchaseRepository,
    blocks as unknown as SeatBlocksRepository,
    { settle: vi.fn(async () => 'LEASED') } as unknown as SalesClosureSettler,
  );
  const requested = () => store.repair.mock.calls.flatMap(([, , requests]) => requests);
  store.repair.mockImplementation(async (_performanceId: number, _mark: StreamMark, requests: SeatRepairRequest[]) => {
    if (inShareLock) order.push('repair under the share lock');
    return requests.map(state.answer ?? ((): SeatRepairAnswer => ({ outcome: 'REPAIRED', takenFromHold: null })));
  });
  return { subject, store, purchases, blocks, order, requested, audits };
}

describe('SeatReconciler', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads the purchase stream before PostgreSQL, and repairs against that stream mark', async () => {
    const { subject, store, order } = reconciler({ letters: { 1: 'S' } });
    await subject.reconcilePerformance(7);
    expect(order).toEqual(['stream', 'postgres']);
    expect(store.repair).toHaveBeenCalledWith(7, MARK, [{ kind: 'unbacked-sale', seatId: 1 }]);
  });

  it('exposes every repair kind at 0 before any repair, so the first repair of a kind is an increase', async () => {
    const { subject } = reconciler({ letters: { 1: 'S' } });
    const series = async () =>
      Object.fromEntries((await subject.repairs.get()).values.map(({ labels, value }) => [labels.kind, value]));
    expect(await series()).toEqual(Object.fromEntries(SEAT_REPAIR_KINDS.map((kind) => [kind, 0])));
    await subject.reconcilePerformance(7);
    expect(await series()).toMatchObject({ sold_unbacked: 1, sold_restored: 0 });
  });

  it('frees a seat shown sold only when neither PostgreSQL nor the stream backs it', async () => {
    const { subject, requested } = reconciler({
      letters: { 1: 'S', 2: 'S', 3: 'S' },
      inStream: [2],
      sold: [{ seatId: 3, purchaseId: 'p3', reservationId: 'h3', final: false }],
    });
    await subject.reconcilePerformance(7);
    expect(requested()).toEqual([{ kind: 'unbacked-sale', seatId: 1 }]);
  });

  it('makes sold again a seat PostgreSQL has sold but Redis shows free or held', async () => {
    const { subject, requested } = reconciler({
      letters: { 1: 'A', 2: 'H', 3: 'S' },
      sold: [
        { seatId: 1, purchaseId: 'p1', reservationId: 'h1', final: false },
        { seatId: 2, purchaseId: 'p2', reservationId: null, final: true },
        { seatId: 3, purchaseId: 'p3', reservationId: 'h3', final: false },
      ],
    });
    await subject.reconcilePerformance(7);
    expect(requested()).toEqual([
      { kind: 'persisted-sale', seatId: 1, purchaseId: 'p1', holdId: 'h1', final: false },
      { kind: 'persisted-sale', seatId: 2, purchaseId: 'p2', holdId: null, final: true },
    ]);
  });

  it('makes sold a seat shown blocked that PostgreSQL has sold (a block written over a lost sale)', async () => {
    const { subject, blocks, requested } = reconciler({
      letters: { 1: 'B' },
      blocked: [1],
      sold: [{ seatId: 1, purchaseId: 'p1', reservationId: 'h1', final: false }],
    });
    const { repairs } = await subject.reconcilePerformance(7);
    expect(requested()).toEqual([{ kind: 'persisted-sale', seatId: 1, purchaseId: 'p1', holdId: 'h1', final: false }]);
    expect(blocks.underShareLock).not.toHaveBeenCalled();
    expect(repairs.map((repair) => repair.kind)).toEqual(['sold_block_dropped', 'sold_restored']);
  });

  it('keeps the seat_blocks row of a seat whose purchase is canceled in Redis (a refund not flushed yet): no sale, as reconcile-seats.lua answers PENDING_CANCEL', async () => {
    const { subject, blocks } = reconciler({
      letters: { 1: 'A', 2: 'S' },
      blocked: [1, 2],
      sold: [
        { seatId: 1, purchaseId: 'p1', reservationId: 'h1', final: false },
        { seatId: 2, purchaseId: 'p2', reservationId: 'h2', final: false },
      ],
      canceledInRedis: ['p1'],
      answer: (request) =>
        request.kind === 'persisted-sale'
          ? { outcome: 'PENDING_CANCEL' }
          : { outcome: 'REPAIRED', takenFromHold: null },
    });
    const { repairs } = await subject.reconcilePerformance(7);
    expect(blocks.dropSoldBlocks).toHaveBeenCalledWith(7, [2], expect.any(Function));
    expect(repairs).toEqual([{ performanceId: 7, seatId: 2, kind: 'sold_block_dropped' }]);
  });

  it('deletes, audited, the seat_blocks rows of seats with an active ticket; a checked-in seat refunded keeps its row', async () => {
    const { subject, blocks, audits } = reconciler({
      letters: { 1: 'S', 2: 'S', 3: 'S' },
      blocked: [1, 2],
      sold: [
        { seatId: 1, purchaseId: 'p1', reservationId: 'h1', final: false },
        { seatId: 2, purchaseId: 'p2', reservationId: null, final: true },
        { seatId: 3, purchaseId: 'p3', reservationId: 'h3', final: false },
      ],
    });
    const { repairs } = await subject.reconcilePerformance(7);
    expect(blocks.dropSoldBlocks).toHaveBeenCalledWith(7, [1], expect.any(Function));
    expect(repairs).toEqual([{ performanceId: 7, seatId: 1, kind: 'sold_block_dropped' }]);
    expect(audits).toEqual([
      {
        actorId: SEAT_RECONCILER_ACTOR.id,
        actorEmail: 'seat-reconciler',
        action: 'seat.release',
        subjectId: 'performance:7',
        details: {
          performanceId: 7,
          seatIds: [1],
          cause: 'sold',
          blocks: [
            { seatId: 1, reason: 'desk', blockedBy: { id: 'op-1', email: 'ops@example.test' }, blockedAt: new Date(0) },
          ],
        },
      },
    ]);
  });

  it('repairs letters that disagree with seat_blocks as read again under the share lock, inside it', async () => {
    const { subject, blocks, order, requested } = reconciler({
      // 1 blocked, shown A; 2 shown B, not blocked; 3 shown A, blocked at the unlocked read but
      // released before the locked one; 4 and 5 agree; 6 shown H while blocked is left alone.
      letters: { 1: 'A', 2: 'B', 3: 'A', 4: 'B', 5: 'A', 6: 'H' },
      blocked: [1, 3, 4, 6],
      blockedLocked: [1, 4, 6],
      holders: { 6: { entry: '900:live', holdId: 'live', status: 'HELD' } },
    });
    const { repairs } = await subject.reconcilePerformance(7);
    expect(blocks.underShareLock.mock.calls.map(([, seats]) => seats)).toEqual([[1, 2], [3]]);
    expect(requested()).toEqual([
      { kind: 'seat-block', seatId: 1 },
      { kind: 'seat-release', seatId: 2 },
      { kind: 'seat-release', seatId: 3 },
    ]);
    expect(order.slice(2)).toEqual(['repair under the share lock', 'repair under the share lock']);
    expect(repairs.map((repair) => [repair.seatId, repair.kind])).toEqual([
      [1, 'block_restored'],
      [2, 'block_dropped'],
      [3, 'block_dropped'],
    ]);
  });

  it('leaves a B seat a release has just committed to that release, counted deferred; blocks are still restored', async () => {
    const { subject, blocks, requested } = reconciler({
      // 1 shown B, released moments ago (its Redis write still to come); 2 shown B, released long
      // ago (a lost write); 3 shown A, blocked again since its recent release.
      letters: { 1: 'B', 2: 'B', 3: 'A' },
      blocked: [3],
      recentlyReleased: [1, 3],
    });
    const { repairs, deferred } = await subject.reconcilePerformance(7);
    expect(blocks.underShareLock.mock.calls[0][2]).toEqual({
      subjectId: 'performance:7',
      action: 'seat.release',
      withinSeconds: RELEASE_SETTLE_SECONDS,
    });
    expect(requested()).toEqual([
      { kind: 'seat-release', seatId: 2 },
      { kind: 'seat-block', seatId: 3 },
    ]);
    expect(repairs.map((repair) => [repair.seatId, repair.kind])).toEqual([
      [2, 'block_dropped'],
      [3, 'block_restored'],
    ]);
    expect(deferred).toBe(1);
  });

  it('does not call the script when every suspect is a release settling', async () => {
    const { subject, store } = reconciler({ letters: { 1: 'B' }, recentlyReleased: [1] });
    expect(await subject.reconcilePerformance(7)).toEqual({ repairs: [], deferred: 1 });
    expect(store.repair).not.toHaveBeenCalled();
  });

  it('frees a seat shown held whose hold is not HELD or absent, and leaves one whose hold is HELD', async () => {
    const { subject, store, requested } = reconciler({
      letters: { 1: 'H', 2: 'H', 3: 'H', 4: 'H', 5: 'A' },
      inStream: [4],
      holders: {
        1: { entry: '900:live', holdId: 'live', status: 'HELD' },
        2: { entry: '900:over', holdId: 'over', status: 'EXPIRED' },
        3: { entry: '', holdId: null, status: null },
      },
    });
    await subject.reconcilePerformance(7);
    // Seat 4 is bought by a purchase still in the stream: its holder is not even read.
    expect(store.holders.mock.calls.flatMap(([, seats]) => seats)).toEqual(['1', '2', '3']);
    expect(requested()).toEqual([
      { kind: 'dead-hold', seatId: 2, holderEntry: '900:over', holdId: 'over' },
      { kind: 'dead-hold', seatId: 3, holderEntry: '', holdId: null },
    ]);
  });

  it('calls no script for a performance whose seats are all right', async () => {
    const { subject, store } = reconciler({ letters: { 1: 'A', 2: 'A', 3: 'S' }, inStream: [3] });
    expect(await subject.reconcilePerformance(7)).toEqual({ repairs: [], deferred: 0 });
    expect(store.repair).not.toHaveBeenCalled();
    expect(store.holders).not.toHaveBeenCalled();
  });

  it('scans every step and sends at most SEAT_RECONCILE_CHUNK_SIZE repairs a script call', async () => {
    const letters = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [i + 1, 'S']));
    const { subject, store } = reconciler({ letters, chunk: 1 });
    const { repairs } = await subject.reconcilePerformance(7);
    expect(repairs.map((repair) => repair.seatId)).toEqual([1, 2, 3, 4, 5]);
    expect(store.repair.mock.calls.map(([, , requests]) => requests.length)).toEqual([1, 1, 1, 1, 1]);
  });

  it('reports what the script repaired, counts it by kind, and defers what moved meanwhile', async () => {
    const { subject } = reconciler({
      letters: { 1: 'S', 2: 'S', 3: 'S', 4: 'A' },
      sold: [{ seatId: 4, purchaseId: 'p4', reservationId: 'h4', final: false }],
      answer: (request) =>
        request.kind === 'persisted-sale'
          ? { outcome: 'REPAIRED', takenFromHold: 'other' }
          : ({
              1: { outcome: 'REPAIRED', takenFromHold: null },
              2: { outcome: 'LEFT' },
              3: { outcome: 'STREAM_MOVED' },
            }[request.seatId] as SeatRepairAnswer),
    });
    const result = await subject.reconcilePerformance(7);
    expect(result).toEqual({
      repairs: [
        { performanceId: 7, seatId: 1, kind: 'sold_unbacked' },
        { performanceId: 7, seatId: 4, kind: 'sold_restored', purchaseId: 'p4', takenFromHold: 'other' },
      ],
      deferred: 1,
    });
    const counted = (await subject.repairs.get()).values.map(({ labels, value }) => [labels.kind, value]);
    expect(counted).toEqual(
      expect.arrayContaining([
        ['sold_unbacked', 1],
        ['sold_restored', 1],
      ]),
    );
  });

  it('awaits its pace before each performance, and ends the pass where the pace answers false', async () => {
    const { subject, store } = reconciler({ letters: { 1: 'S' } });
    store.performanceIds.mockResolvedValue([7, 8, 9]);
    const events: string[] = [];
    store.streamSnapshot.mockImplementation(async (performanceId: number) => {
      events.push(`read ${performanceId}`);
      return { mark: MARK, seats: new Set<string>() };
    });
    const pace = vi.fn(async () => {
      events.push('pace');
      return events.length < 4; // the third pace answers false
    });
    await subject.reconcileOnce(pace);
    expect(events).toEqual(['pace', 'read 7', 'pace', 'read 8', 'pace']);
    expect(store.repair.mock.calls.map(([performanceId]) => performanceId)).toEqual([7, 8]);
  });

  it('goes on with the other performances when one fails, and throws the failures together', async () => {
    const { subject, store } = reconciler({ letters: { 1: 'S' } });
    store.performanceIds.mockResolvedValue([7, 8, 9]);
    store.streamSnapshot.mockImplementation(async (performanceId: number) => {
      if (performanceId === 8) throw new Error('stream unreadable');
      return { mark: MARK, seats: new Set<string>() };
    });
    await expect(subject.reconcileOnce()).rejects.toThrow(
      'performance 8: stream unreadable (2 seats of others repaired)',
    );
    expect(store.repair.mock.calls.map(([performanceId]) => performanceId)).toEqual([7, 9]);
  });
});
