import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Counter } from 'prom-client';
import { Env } from '@app/config';
import { PurchaseRepository } from '@app/database';
import { defineTicketingScripts } from '../lua-scripts';
import { PERFORMANCE_REGISTRY_KEY, PerformanceKeys, performanceKeys } from '../redis-keys';
import { reconcileSeats, SeatRepairRequest, StreamMark, streamMark } from './reconcile-scripts';

/**
 * What a repair did: `sold_unbacked` freed a seat shown sold that no purchase backs;
 * `held_without_hold` freed a seat shown held whose hold is gone or over; `sold_restored` made
 * sold again a seat PostgreSQL says is sold.
 */
export type SeatRepairKind = 'sold_unbacked' | 'held_without_hold' | 'sold_restored';

/** One seat repaired, as logged. */
export interface SeatRepair {
  performanceId: number;
  seatId: number;
  kind: SeatRepairKind;
  /** sold_restored: the purchase PostgreSQL has the seat sold by. */
  purchaseId?: string;
  /** held_without_hold: the hold the seat still named (absent when it named none). */
  holdId?: string;
  /** sold_restored: another buyer's hold that had taken the seat meanwhile, and lost it. */
  takenFromHold?: string;
}

/** What one pass over one performance found. */
export interface PerformanceReconciliation {
  repairs: SeatRepair[];
  /** Candidates left for a later pass: their state moved while the pass ran (see reconcile-seats.lua). */
  deferred: number;
}

const KIND_OF = {
  'unbacked-sale': 'sold_unbacked',
  'dead-hold': 'held_without_hold',
  'persisted-sale': 'sold_restored',
} as const satisfies Record<SeatRepairRequest['kind'], SeatRepairKind>;

/** Stream entries read per XRANGE while taking the stream's snapshot. */
const STREAM_PAGE = 1000;

/**
 * After a lost Redis write (a failover that promoted a replica missing the last writes, a restart
 * that lost them, a hold record gone before its seats were freed), brings each performance's live
 * seat state back in line with what backs it: PostgreSQL's tickets and the purchases still in the
 * Redis purchase stream (not flushed yet). A pass over a performance reads, in this order, the
 * stream (its position and the seats of every purchase in it), PostgreSQL's sold seats, then the
 * seat letters chunk by chunk (SEAT_RECONCILE_CHUNK_SIZE seats a read); each chunk's candidates go
 * to reconcile-seats.lua, which checks every one again against the state of that moment and repairs
 * only those still wrong, so concurrent buyers, flushers and any number of reconcilers in other
 * processes are never overruled: each repair is made, logged and counted once.
 */
@Injectable()
export class SeatReconciler {
  private readonly logger = new Logger(SeatReconciler.name);
  /** Seats repaired, by kind; in no registry until a process adds it. */
  readonly repairs = new Counter({
    name: 'boxoffice_seat_repairs_total',
    help: 'Seats whose live Redis state the seat reconciler repaired, by kind',
    labelNames: ['kind'],
    registers: [],
  });

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Env) private readonly env: Env,
    private readonly purchases: PurchaseRepository,
  ) {
    defineTicketingScripts(redis);
  }

  /**
   * One pass over every registered performance; returns the repairs made. A performance whose
   * pass fails (Redis or PostgreSQL unreachable) does not stop the others; the failures are
   * thrown together at the end.
   */
  async reconcileOnce(): Promise<SeatRepair[]> {
    const performanceIds = (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
    const repairs: SeatRepair[] = [];
    const failures: string[] = [];
    for (const performanceId of performanceIds) {
      try {
        repairs.push(...(await this.reconcilePerformance(performanceId)).repairs);
      } catch (error) {
        failures.push(`performance ${performanceId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`${failures.join('; ')} (${repairs.length} seats of others repaired)`);
    return repairs;
  }

  /** One pass over one performance (see the class); an unregistered one has nothing to repair. */
  async reconcilePerformance(performanceId: number): Promise<PerformanceReconciliation> {
    const keys = performanceKeys(performanceId);
    // Stream first, PostgreSQL second: a purchase flushed (and so gone from the stream) before the
    // stream was read committed before PostgreSQL is read. Purchases appended after the stream was
    // read are the script's to check (StreamMark).
    const { mark, seats: inStream } = await this.streamSnapshot(keys);
    const sold = new Map((await this.purchases.soldSeats(performanceId)).map((row) => [String(row.seatId), row]));
    const result: PerformanceReconciliation = { repairs: [], deferred: 0 };
    const chunk = this.env.SEAT_RECONCILE_CHUNK_SIZE;
    let cursor = '0';
    do {
      const [next, pairs] = await this.redis.hscan(keys.seats, cursor, 'COUNT', chunk);
      cursor = next;
      const requests = await this.candidates(keys, pairs, inStream, sold);
      // A long HSCAN answer is cut in chunks, so no script call blocks Redis for long.
      for (let start = 0; start < requests.length; start += chunk) {
        const slice = requests.slice(start, start + chunk);
        const answers = await reconcileSeats(this.redis, keys, mark, slice);
        answers.forEach((answer, index) => {
          if (answer.outcome === 'REPAIRED') {
            result.repairs.push(this.record(performanceId, slice[index], answer.takenFromHold));
          } else if (answer.outcome !== 'LEFT') {
            result.deferred += 1;
          }
        });
      }
    } while (cursor !== '0');
    return result;
  }

  /**
   * The stream's position (stream-mark.lua, taken first) and the seats of every purchase entry up to
   * it. Read in pages: an entry flushed between pages was committed to PostgreSQL before it left.
   */
  private async streamSnapshot(keys: PerformanceKeys): Promise<{ mark: StreamMark; seats: Set<string> }> {
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
   * Candidates among one chunk of `[seat id, letter, …]`: seats shown sold that nothing backs, seats
   * PostgreSQL has sold that are shown free or held, and seats shown held whose holder's record is
   * not HELD (read here, in one pipeline within the performance's slot).
   */
  private async candidates(
    keys: PerformanceKeys,
    pairs: string[],
    inStream: Set<string>,
    sold: Map<string, { purchaseId: string; reservationId: string | null; final: boolean }>,
  ): Promise<SeatRepairRequest[]> {
    const requests: SeatRepairRequest[] = [];
    const held: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const [seat, letter] = [pairs[i], pairs[i + 1]];
      const sale = sold.get(seat);
      if (sale && (letter === 'A' || letter === 'H')) {
        requests.push({
          kind: 'persisted-sale',
          seatId: Number(seat),
          purchaseId: sale.purchaseId,
          holdId: sale.reservationId,
          final: sale.final,
        });
      } else if (!sale && !inStream.has(seat)) {
        if (letter === 'S') requests.push({ kind: 'unbacked-sale', seatId: Number(seat) });
        else if (letter === 'H') held.push(seat);
      }
    }
    if (held.length === 0) return requests;
    const entries = await this.redis.hmget(keys.seatHolds, ...held);
    const holdIds = entries.map((entry) => (entry === null ? null : (/^\d+:(.+)$/.exec(entry)?.[1] ?? null)));
    const distinct = [...new Set(holdIds.filter((id): id is string => id !== null))];
    const pipeline = this.redis.pipeline();
    for (const holdId of distinct) pipeline.hget(keys.hold(holdId), 'status');
    const replies = distinct.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const statusOf = new Map<string, unknown>();
    replies.forEach(([error, status], index) => {
      if (error) throw error;
      statusOf.set(distinct[index], status);
    });
    held.forEach((seat, index) => {
      const holdId = holdIds[index];
      if (holdId !== null && statusOf.get(holdId) === 'HELD') return;
      requests.push({ kind: 'dead-hold', seatId: Number(seat), holderEntry: entries[index] ?? '', holdId });
    });
    return requests;
  }

  /** Logs and counts one repair the script made. */
  private record(performanceId: number, request: SeatRepairRequest, takenFromHold: string | null): SeatRepair {
    const kind = KIND_OF[request.kind];
    const repair: SeatRepair = { performanceId, seatId: request.seatId, kind };
    if (request.kind === 'dead-hold' && request.holdId !== null) repair.holdId = request.holdId;
    if (request.kind === 'persisted-sale') repair.purchaseId = request.purchaseId;
    if (takenFromHold !== null) repair.takenFromHold = takenFromHold;
    this.repairs.inc({ kind });
    const message = {
      sold_unbacked: 'shown sold with no purchase behind it: made available',
      held_without_hold: `shown held by ${request.kind === 'dead-hold' && request.holdId ? `hold ${request.holdId}, which is not held` : 'no hold'}: made available`,
      sold_restored: `sold in PostgreSQL by purchase ${repair.purchaseId} but not in Redis: made sold${takenFromHold ? ` (taken from hold ${takenFromHold})` : ''}`,
    }[kind];
    this.logger.warn({
      message: `seat ${request.seatId} of performance ${performanceId} ${message}`,
      boxoffice: {
        seat_repair: {
          performance_id: performanceId,
          seat_id: request.seatId,
          kind,
          purchase_id: repair.purchaseId,
          hold_id: repair.holdId,
          taken_from_hold: repair.takenFromHold,
        },
      },
    });
    return repair;
  }
}
