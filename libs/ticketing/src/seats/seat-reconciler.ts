import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Env } from '@app/config';
import { PurchaseRepository, SeatBlocksRepository } from '@app/database';
import { SEAT_RELEASE_ACTION } from '../blocks/seat-blocks';
import { SeatRepairRequest, StreamMark } from './reconcile-scripts';
import { SalesClosureSettler } from './sales-closure-settler';
import { SeatReconcileStore } from './seat-reconcile.store';

/**
 * What a repair did: `sold_unbacked` freed a seat shown sold that no purchase backs;
 * `held_without_hold` freed a seat shown held whose hold is gone or over; `sold_restored` made
 * sold again a seat PostgreSQL says is sold (also one shown blocked); `block_restored` blocked again
 * a seat shown available that PostgreSQL has blocked; `block_dropped` made available a seat shown
 * blocked that PostgreSQL has not blocked (a lost release, or a block whose commit never came);
 * `sold_block_dropped` deleted the `seat_blocks` row of a seat with an ACTIVE ticket (a block
 * written over a sale before blocks checked tickets, or over a sale a failover had hidden).
 */
export const SEAT_REPAIR_KINDS = [
  'sold_unbacked',
  'held_without_hold',
  'sold_restored',
  'block_restored',
  'block_dropped',
  'sold_block_dropped',
] as const;
export type SeatRepairKind = (typeof SEAT_REPAIR_KINDS)[number];

/**
 * Who the audit rows of the reconciler's own changes name (`admin_audit_log` needs an actor; no
 * operator acts): the nil uuid, no user's, and this name instead of an email.
 */
export const SEAT_RECONCILER_ACTOR = { id: '00000000-0000-0000-0000-000000000000', email: 'seat-reconciler' } as const;

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
  'seat-block': 'block_restored',
  'seat-release': 'block_dropped',
  'sold-block': 'sold_block_dropped',
} as const satisfies Record<SeatRepairRequest['kind'] | 'sold-block', SeatRepairKind>;

/**
 * How long (seconds) after a release's commit the reconciler leaves its seats' B letters to the
 * release's own Redis write: that write follows the commit at once, after at most one bounded lock
 * wait; one not made by then was lost (the process died, Redis failed) and is repaired.
 */
export const RELEASE_SETTLE_SECONDS = 30;

/** A repair made in PostgreSQL, not by reconcile-seats.lua: a sold seat's block deleted. */
interface SoldBlockRepair {
  kind: 'sold-block';
  seatId: number;
}

/**
 * After a lost Redis write (a failover that promoted a replica missing the last writes, a restart
 * that lost them, a hold record gone before its seats were freed), brings each performance's live
 * seat state back in line with what backs it: PostgreSQL's tickets and the purchases still in the
 * Redis purchase stream (not flushed yet). A pass over a performance reads, in this order, the
 * stream (its position and the seats of every purchase in it), PostgreSQL's sold seats, then the
 * seat letters chunk by chunk (SEAT_RECONCILE_CHUNK_SIZE seats a read); each chunk's candidates go
 * to reconcile-seats.lua, which checks every one again against the state of that moment and repairs
 * only those still wrong, so concurrent buyers, flushers and any number of reconcilers in other
 * processes are never overruled: each repair is made, logged and counted once. Blocked seats are
 * checked last, per chunk: a seat whose letter (A or B) disagrees with an unlocked read of
 * `seat_blocks` is read again and repaired under the performance's row lock FOR SHARE, which the
 * operators' blocks and releases hold FOR UPDATE from their Redis write to their commit, so a
 * repair never undoes one in flight. First, a `seat_blocks` row of a seat with an ACTIVE ticket is
 * deleted (under the row lock FOR UPDATE, audited as a `seat.release` by SEAT_RECONCILER_ACTOR):
 * the seat is sold, its letter S (restored from the ticket when shown otherwise).
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
    private readonly blocks: SeatBlocksRepository,
    private readonly closures: SalesClosureSettler,
  ) {
    // Every kind's series from the start at 0, so `increase()` sees the first repair of a kind
    // (a series born at 1 shows no increase).
    for (const kind of SEAT_REPAIR_KINDS) this.repairs.inc({ kind }, 0);
  }

  /**
   * One pass over every registered performance; returns the repairs made. A performance whose
   * pass fails (Redis or PostgreSQL unreachable) does not stop the others; the failures are
   * thrown together at the end. `pace`, when given, is awaited before each performance's pass (the
   * batch process lets its flush pass in progress end first: SeatReconcileLoop); when it answers
   * false the pass ends there, and the performances after it wait for the next pass.
   */
  async reconcileOnce(pace?: () => Promise<boolean>): Promise<SeatRepair[]> {
    const performanceIds = await this.store.performanceIds();
    const repairs: SeatRepair[] = [];
    const failures: string[] = [];
    for (const performanceId of performanceIds) {
      if (pace && !(await pace())) break;
      try {
        repairs.push(...(await this.reconcilePerformance(performanceId)).repairs);
      } catch (error) {
        failures.push(`performance ${performanceId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`${failures.join('; ')} (${repairs.length} seats of others repaired)`);
    return repairs;
  }

  /**
   * One pass over one performance (see the class); an unregistered one has nothing to repair.
   * First its closure to sales is settled (SalesClosureSettler): one its closer can no longer end
   * is dropped, and a performance whose delete committed without removing its live state loses it
   * (nothing left to repair).
   */
  async reconcilePerformance(performanceId: number): Promise<PerformanceReconciliation> {
    if ((await this.closures.settle(performanceId)) === 'REMOVED') return { repairs: [], deferred: 0 };
    // Stream first, PostgreSQL second: a purchase flushed (and so gone from the stream) before the
    // stream was read committed before PostgreSQL is read. Purchases appended after the stream was
    // read are the script's to check (StreamMark).
    const { mark, seats: inStream } = await this.store.streamSnapshot(performanceId);
    const sold = new Map((await this.purchases.soldSeats(performanceId)).map((row) => [String(row.seatId), row]));
    // Unlocked: it only picks the seats worth a locked look (repairBlocks).
    const blocked = new Set((await this.blocks.blockedSeatIds(performanceId)).map(String));
    // House seats lent to comps: B once the comp is canceled or refunded, before that write reaches
    // PostgreSQL (which gives their blocks back); a B letter there is right.
    const lent = new Set((await this.blocks.lentSeatIds(performanceId)).map(String));
    const result: PerformanceReconciliation = { repairs: [], deferred: 0 };
    const soldBlocked = [...blocked].filter((seat) => sold.get(seat)?.final === false);
    if (soldBlocked.length > 0) {
      // A sale Redis has undone (its purchase canceled, or the seat refunded from it, not flushed
      // yet) is no sale any more: its seat is on sale again (reconcile-seats.lua answers
      // PENDING_CANCEL), and once the flush writes it the row is a block to restore, as after any refund.
      const sales = soldBlocked.map((seatId) => ({
        seatId,
        purchaseId: (sold.get(seatId) as { purchaseId: string }).purchaseId,
      }));
      const undone = await this.store.undoneSales(performanceId, sales);
      const stillSold = soldBlocked.filter((seat) => !undone.has(seat)).map(Number);
      if (stillSold.length > 0) result.repairs.push(...(await this.dropSoldBlocks(performanceId, stillSold)));
    }
    const chunk = this.env.SEAT_RECONCILE_CHUNK_SIZE;
    let cursor = '0';
    do {
      const scanned = await this.store.scanLetters(performanceId, cursor, chunk);
      cursor = scanned.cursor;
      const { requests, blockSuspects } = await this.candidates(
        performanceId,
        scanned.pairs,
        inStream,
        sold,
        blocked,
        lent,
      );
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
      for (let start = 0; start < blockSuspects.length; start += chunk) {
        await this.repairBlocks(performanceId, mark, blockSuspects.slice(start, start + chunk), result);
      }
    } while (cursor !== '0');
    return result;
  }

  /**
   * Reads `seatIds`' blocks again under the performance's row lock FOR SHARE and, still inside it,
   * has reconcile-seats.lua make each A seat blocked there B and each B seat not blocked there A
   * (any other letter is left). A seat a release committed less than RELEASE_SETTLE_SECONDS ago is
   * left to that release's own Redis write, which follows its commit (SeatBlocks.release), and
   * counted deferred: a pass landing between the two would otherwise "repair" every ordinary
   * release. Adds the repairs made to `result`; nothing when the performance was deleted meanwhile.
   */
  private async repairBlocks(
    performanceId: number,
    mark: StreamMark,
    seatIds: number[],
    result: PerformanceReconciliation,
  ): Promise<void> {
    const releases = {
      subjectId: `performance:${performanceId}`,
      action: SEAT_RELEASE_ACTION,
      withinSeconds: RELEASE_SETTLE_SECONDS,
    };
    const done = await this.blocks.underShareLock(
      performanceId,
      seatIds,
      releases,
      async (blockedNow, recentlyReleased) => {
        const isBlocked = new Set(blockedNow);
        const settling = new Set(recentlyReleased);
        const requests = seatIds
          .filter((seatId) => isBlocked.has(seatId) || !settling.has(seatId))
          .map((seatId): SeatRepairRequest => ({
            kind: isBlocked.has(seatId) ? 'seat-block' : 'seat-release',
            seatId,
          }));
        const answers = requests.length > 0 ? await this.store.repair(performanceId, mark, requests) : [];
        return { requests, answers, settling: seatIds.length - requests.length };
      },
    );
    if (!done) return;
    result.deferred += done.settling;
    done.answers.forEach((answer, index) => {
      if (answer.outcome === 'REPAIRED') result.repairs.push(this.record(performanceId, done.requests[index], null));
    });
  }

  /**
   * Deletes the blocks of those of `seatIds` (blocked, read unlocked) that have an ACTIVE ticket
   * when read again under the row lock, audited (`seat.release`, SEAT_RECONCILER_ACTOR, details
   * `{performanceId, seatIds, cause: 'sold', blocks}`: each deleted block's seat, reason, operator
   * and time); answers the repairs (`sold_block_dropped`), logged and counted.
   */
  private async dropSoldBlocks(performanceId: number, seatIds: number[]): Promise<SeatRepair[]> {
    const dropped = await this.blocks.dropSoldBlocks(performanceId, seatIds, (blocks) => ({
      actorId: SEAT_RECONCILER_ACTOR.id,
      actorEmail: SEAT_RECONCILER_ACTOR.email,
      action: SEAT_RELEASE_ACTION,
      subjectId: `performance:${performanceId}`,
      details: { performanceId, seatIds: blocks.map((block) => block.seatId), cause: 'sold', blocks },
    }));
    return dropped.map((block) => this.record(performanceId, { kind: 'sold-block', seatId: block.seatId }, null));
  }

  /**
   * Candidates among one chunk of `[seat id, letter, …]`: seats shown sold that nothing backs, seats
   * PostgreSQL has sold that are shown free or held, and seats shown held whose holder's record is
   * not HELD (their holders read in one more step); and, as `blockSuspects`, seats not sold in
   * PostgreSQL shown available while `blocked` has them or shown blocked while it has not (but a
   * house seat `lent` to a comp: its cancel or refund made it B before PostgreSQL has the block back).
   */
  private async candidates(
    performanceId: number,
    pairs: string[],
    inStream: Set<string>,
    sold: Map<
      string,
      { purchaseId: string; reservationId: string | null; userId: string; final: boolean; boxOffice: boolean }
    >,
    blocked: Set<string>,
    lent: Set<string>,
  ): Promise<{ requests: SeatRepairRequest[]; blockSuspects: number[] }> {
    const requests: SeatRepairRequest[] = [];
    const blockSuspects: number[] = [];
    const held: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const [seat, letter] = [pairs[i], pairs[i + 1]];
      const sale = sold.get(seat);
      if (sale && (letter === 'A' || letter === 'H' || letter === 'B')) {
        requests.push({
          kind: 'persisted-sale',
          seatId: Number(seat),
          purchaseId: sale.purchaseId,
          holdId: sale.reservationId,
          // A box office sale's seat counts in no one's tickets bought ('').
          buyerId: sale.boxOffice ? '' : sale.userId,
          final: sale.final,
        });
      } else if (
        !sale &&
        (letter === 'A' || (letter === 'B' && !lent.has(seat))) &&
        blocked.has(seat) === (letter === 'A')
      ) {
        // An unflushed sale of a seat shown A is blocked too: off sale is the safe side, and its
        // flush makes it a persisted sale the next pass restores.
        blockSuspects.push(Number(seat));
      } else if (!sale && !inStream.has(seat)) {
        if (letter === 'S') requests.push({ kind: 'unbacked-sale', seatId: Number(seat) });
        else if (letter === 'H') held.push(seat);
      }
    }
    if (held.length === 0) return { requests, blockSuspects };
    const holders = await this.store.holders(performanceId, held);
    held.forEach((seat, index) => {
      const { entry, holdId, status } = holders[index];
      if (holdId !== null && status === 'HELD') return;
      requests.push({ kind: 'dead-hold', seatId: Number(seat), holderEntry: entry, holdId });
    });
    return { requests, blockSuspects };
  }

  /** Logs and counts one repair the script made. */
  private record(
    performanceId: number,
    request: SeatRepairRequest | SoldBlockRepair,
    takenFromHold: string | null,
  ): SeatRepair {
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
      block_restored: 'blocked in PostgreSQL but shown available: made blocked',
      block_dropped: 'shown blocked but not blocked in PostgreSQL: made available',
      sold_block_dropped: 'sold (an active ticket) but blocked in PostgreSQL: block deleted',
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
