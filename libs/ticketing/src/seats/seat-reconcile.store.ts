import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys } from '../redis-keys';
import { reconcileSeats, SeatRepairAnswer, SeatRepairRequest, StreamMark, streamMark } from './reconcile-scripts';

/** Stream entries read per XRANGE while taking the stream's snapshot. */
const STREAM_PAGE = 1000;

/** Who a seat shown held is held by, as Redis has it. */
export interface SeatHolder {
  /** The seat-holds entry (`<expiry ms>:<hold id>`), '' when the seat has none. */
  entry: string;
  /** The hold the entry names; null when none. */
  holdId: string | null;
  /** That hold record's `status`; null when there is no record (or no hold). */
  status: string | null;
}

/**
 * The Redis side of the seat reconciliation: the purchase stream's position and seats, the seat
 * letters, the holders of held seats and reconcile-seats.lua. Which seats are wrong, and what a
 * repair is, is SeatReconciler's.
 */
@Injectable()
export class SeatReconcileStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** The ids of every performance registered in Redis (the performance registry). */
  async performanceIds(): Promise<number[]> {
    return (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
  }

  /**
   * The purchase stream's position (stream-mark.lua, taken first) and the seat ids (as strings) of
   * every purchase entry up to it. Read in pages: an entry flushed between pages was committed to
   * PostgreSQL before it left.
   */
  async streamSnapshot(performanceId: number): Promise<{ mark: StreamMark; seats: Set<string> }> {
    const keys = performanceKeys(performanceId);
    const seats = new Set<string>();
    const mark = await streamMark(this.redis, keys);
    if (mark.lastId === '0-0') return { mark, seats };
    let from = '-';
    for (;;) {
      const entries = await this.redis.xrange(keys.purchaseStream, from, mark.lastId, 'COUNT', STREAM_PAGE);
      for (const [, fields] of entries) {
        // Only two of an entry's fields matter here: no object of all twenty per entry (with a
        // backlog of 20,000 that was ~5 % of a flushing batch process's CPU).
        let type: string | undefined;
        let seatList = '';
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === 'type') type = fields[i + 1];
          else if (fields[i] === 'seats') seatList = fields[i + 1];
        }
        if (type === 'purchase') for (const seatId of seatList.split(',')) seats.add(seatId);
      }
      if (entries.length < STREAM_PAGE) break;
      from = `(${entries[entries.length - 1][0]}`;
    }
    return { mark, seats };
  }

  /**
   * One HSCAN step over the seat letters from `cursor` ('0' to start), about `count` seats:
   * `pairs` is `[seat id, letter, …]` flat, as Redis answers it (no pair objects for 50,000 seats);
   * `cursor` is '0' when the scan is over.
   */
  async scanLetters(
    performanceId: number,
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; pairs: string[] }> {
    const [next, pairs] = await this.redis.hscan(performanceKeys(performanceId).seats, cursor, 'COUNT', count);
    return { cursor: next, pairs };
  }

  /**
   * The holder of each of `seatIds` (shown held) and the status of its hold record, in order: the
   * seat-holds entries in one read, then each distinct hold's status in one pipeline, all within
   * the performance's slot.
   */
  async holders(performanceId: number, seatIds: string[]): Promise<SeatHolder[]> {
    if (seatIds.length === 0) return [];
    const keys = performanceKeys(performanceId);
    const entries = await this.redis.hmget(keys.seatHolds, ...seatIds);
    const holdIds = entries.map((entry) => (entry === null ? null : (/^\d+:(.+)$/.exec(entry)?.[1] ?? null)));
    const distinct = [...new Set(holdIds.filter((id): id is string => id !== null))];
    const statusOf = new Map<string, string | null>();
    if (distinct.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const holdId of distinct) pipeline.hget(keys.hold(holdId), 'status');
      ((await pipeline.exec()) ?? []).forEach(([error, status], index) => {
        if (error) throw error;
        statusOf.set(distinct[index], status as string | null);
      });
    }
    return entries.map((entry, index) => {
      const holdId = holdIds[index];
      return { entry: entry ?? '', holdId, status: holdId === null ? null : (statusOf.get(holdId) ?? null) };
    });
  }

  /**
   * Those of `sales` (a seat and the purchase PostgreSQL says sold it) that Redis has undone
   * already, as reconcile-seats.lua's `pendingUndo` reads them: the purchase CANCELED, or the seat
   * in its `refundedSeats` (an operator's partial refund); PostgreSQL may not have either yet. As
   * seat ids, from one pipeline within the performance's slot (one HMGET a purchase).
   */
  async undoneSales(performanceId: number, sales: { seatId: string; purchaseId: string }[]): Promise<Set<string>> {
    if (sales.length === 0) return new Set();
    const keys = performanceKeys(performanceId);
    const purchaseIds = [...new Set(sales.map((sale) => sale.purchaseId))];
    const pipeline = this.redis.pipeline();
    for (const purchaseId of purchaseIds) pipeline.hmget(keys.purchase(purchaseId), 'status', 'refundedSeats');
    const undone = new Map<string, (seatId: string) => boolean>();
    ((await pipeline.exec()) ?? []).forEach(([error, state], index) => {
      if (error) throw error;
      const [status, refundedSeats] = state as [string | null, string | null];
      const refunded = new Set((refundedSeats ?? '').split(','));
      undone.set(purchaseIds[index], (seatId) => status === 'CANCELED' || refunded.has(seatId));
    });
    return new Set(sales.filter((sale) => undone.get(sale.purchaseId)?.(sale.seatId)).map((sale) => sale.seatId));
  }

  /**
   * Has reconcile-seats.lua check each of `repairs` again against the state of now and `mark`, and
   * apply those still wrong; one answer per repair, in order.
   */
  repair(performanceId: number, mark: StreamMark, repairs: SeatRepairRequest[]): Promise<SeatRepairAnswer[]> {
    return reconcileSeats(this.redis, performanceKeys(performanceId), mark, repairs);
  }
}
