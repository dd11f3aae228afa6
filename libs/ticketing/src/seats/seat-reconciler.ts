import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Env } from '@app/config';
import { PurchaseRepository } from '@app/database';
import { SeatRepairRequest } from './reconcile-scripts';
import { SeatReconcileStore } from './seat-reconcile.store';

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
    private readonly store: SeatReconcileStore,
    @Inject(Env) private readonly env: Env,
    private readonly purchases: PurchaseRepository,
  ) {}

  /**
   * One pass over every registered performance; returns the repairs made. A performance whose
   * pass fails (Redis or PostgreSQL unreachable) does not stop the others; the failures are
   * thrown together at the end.
   */
  async reconcileOnce(): Promise<SeatRepair[]> {
    const performanceIds = await this.store.performanceIds();
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
    // Stream first, PostgreSQL second: a purchase flushed (and so gone from the stream) before the
    // stream was read committed before PostgreSQL is read. Purchases appended after the stream was
    // read are the script's to check (StreamMark).
    const { mark, seats: inStream } = await this.store.streamSnapshot(performanceId);
    const sold = new Map((await this.purchases.soldSeats(performanceId)).map((row) => [String(row.seatId), row]));
    const result: PerformanceReconciliation = { repairs: [], deferred: 0 };
    const chunk = this.env.SEAT_RECONCILE_CHUNK_SIZE;
    let cursor = '0';
    do {
      const scanned = await this.store.scanLetters(performanceId, cursor, chunk);
      cursor = scanned.cursor;
      const requests = await this.candidates(performanceId, scanned.pairs, inStream, sold);
      // A long HSCAN answer is cut in chunks, so no script call blocks Redis for long.
      for (let start = 0; start < requests.length; start += chunk) {
        const slice = requests.slice(start, start + chunk);
        const answers = await this.store.repair(performanceId, mark, slice);
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
   * Candidates among one chunk of `[seat id, letter, …]`: seats shown sold that nothing backs, seats
   * PostgreSQL has sold that are shown free or held, and seats shown held whose holder's record is
   * not HELD (their holders read in one more step).
   */
  private async candidates(
    performanceId: number,
    pairs: string[],
    inStream: Set<string>,
    sold: Map<string, { purchaseId: string; reservationId: string | null; userId: string; final: boolean }>,
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
          buyerId: sale.userId,
          final: sale.final,
        });
      } else if (!sale && !inStream.has(seat)) {
        if (letter === 'S') requests.push({ kind: 'unbacked-sale', seatId: Number(seat) });
        else if (letter === 'H') held.push(seat);
      }
    }
    if (held.length === 0) return requests;
    const holders = await this.store.holders(performanceId, held);
    held.forEach((seat, index) => {
      const { entry, holdId, status } = holders[index];
      if (holdId !== null && status === 'HELD') return;
      requests.push({ kind: 'dead-hold', seatId: Number(seat), holderEntry: entry, holdId });
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
