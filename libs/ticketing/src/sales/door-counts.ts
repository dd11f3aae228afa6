import { Injectable } from '@nestjs/common';
import { Clock } from '@app/core';
import { DoorCountRow, SalesRepository } from '@app/database';
import { NotFoundError } from '../errors';
import { seatsFromLists } from '../purchases/purchase';
import { SalesStore } from './sales.store';

/** A performance's door count at `asOf`; see {@link DoorCounts.ofPerformance}. */
export interface DoorCount {
  performanceId: number;
  /** Tickets valid for it now: the sales report's `sold - kept`. */
  expected: number;
  /** Of `expected`, checked in now: the sales report's `checkedIn`, the sum of `byDoor`. */
  admitted: number;
  /** `expected - admitted`. */
  remaining: number;
  /** Per scanning account (a gate), by email; only accounts with a check-in counted. */
  byDoor: DoorCountRow[];
  /** The api's clock when read. */
  asOf: Date;
}

/**
 * The door's live count (gate staff and admins): admitted of expected, in total and per door,
 * counted by the sales report's rule in one PostgreSQL snapshot, so the doors add up to the total
 * and both agree with the report's `checkedIn` and `sold - kept`.
 */
@Injectable()
export class DoorCounts {
  constructor(
    private readonly store: SalesStore,
    private readonly repository: SalesRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Reads the performance's unflushed purchase stream (Redis first, as the report: an entry
   * flushed meanwhile is then in PostgreSQL), then PostgreSQL. Its cancellations and partial
   * refunds take tickets out of both counts; its purchases not written yet are expected (no
   * ticket of theirs is checked in before the flush). Throws NotFoundError for an unknown performance.
   */
  async ofPerformance(performanceId: number): Promise<DoorCount> {
    const pending = await this.store.pending(performanceId);
    const canceled = new Set<string>();
    const refunded: { purchaseId: string; seatId: number }[] = [];
    const unwritten = new Map<string, number[]>();
    for (const entry of pending) {
      if (entry.type === 'cancel') canceled.add(entry.purchaseId);
      else if (entry.type === 'refund')
        for (const seatId of entry.seatIds) refunded.push({ purchaseId: entry.purchaseId, seatId });
      else {
        if (entry.record.status === 'CANCELED') canceled.add(entry.record.id);
        unwritten.set(entry.record.id, seatsFromLists(entry.record.seats, entry.record.prices).seatIds);
      }
    }
    const rows = await this.repository.doorCounts(performanceId, {
      canceledPurchaseIds: [...canceled],
      refundedSeats: refunded,
      purchaseIds: [...unwritten.keys()],
    });
    if (!rows) throw new NotFoundError('performance', { performanceId });
    let expected = rows.expected;
    const written = new Set(rows.writtenPurchaseIds);
    for (const [purchaseId, seatIds] of unwritten) {
      if (written.has(purchaseId) || canceled.has(purchaseId)) continue;
      const gone = new Set(refunded.filter((seat) => seat.purchaseId === purchaseId).map((seat) => seat.seatId));
      expected += seatIds.filter((seatId) => !gone.has(seatId)).length;
    }
    const admitted = rows.doors.reduce((sum, door) => sum + door.admitted, 0);
    return {
      performanceId,
      expected,
      admitted,
      remaining: expected - admitted,
      byDoor: rows.doors,
      asOf: this.clock.now(),
    };
  }
}
