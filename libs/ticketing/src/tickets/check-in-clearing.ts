import { Injectable } from '@nestjs/common';
import { TicketsRepository, type TransactionRunner } from '@app/database';
import { CheckInStore } from './check-in.store';
import { CHECK_IN_MARK_LIFETIME_SECONDS } from './ticket.service';

/** The transaction a clearing runs in (the PATCH's). */
type Transaction = Parameters<Parameters<TransactionRunner['run']>[0]>[0];

/** Check-ins a moved performance clears per round: rows locked, Redis asked and rows cleared together. */
export const CHECK_IN_CLEAR_BATCH = 500;

/**
 * Clearing the check-ins of a performance whose start moved: those made before the doors of the
 * new start open were for the old time, and their tickets admit again, once, at the new one (see
 * docs/guide/catalog.md, "Performance lifecycle"). Each is undone as `DELETE /check-in/:ticketId` undoes one
 * (CheckInUndo): its row locked and cleared only while it is still that check-in, its Redis side
 * taken back by check-in-undo.lua, which refuses a purchase canceled meanwhile (also only in Redis):
 * that check-in stays, as a refund that kept its seat sold for it needs. No audit row per ticket:
 * the PATCH's `performance.update` row counts them.
 */
@Injectable()
export class CheckInClearing {
  constructor(
    private readonly tickets: TicketsRepository,
    private readonly marks: CheckInStore,
  ) {}

  /**
   * Clears, in the transaction of `manager` (which must hold the performance's row lock, so no scan
   * of it records a check-in meanwhile: see TicketsRepository.checkIn), every check-in of performance
   * `performanceId` that PostgreSQL stamped before `doorsOpenAt` (the new window's opening, a UTC
   * instant), in rounds of CHECK_IN_CLEAR_BATCH tickets. Answers how many were cleared. A commit that
   * fails afterwards leaves those check-ins in PostgreSQL with their Redis marks taken back, as a
   * failed undo does (docs/guide/tickets.md, "Undoing a check-in", Not done).
   */
  async clearBefore(manager: Transaction, performanceId: number, doorsOpenAt: Date): Promise<number> {
    let cleared = 0;
    let after: string | null = null;
    for (;;) {
      const batch = await this.tickets.lockCheckInsBefore(
        manager,
        performanceId,
        doorsOpenAt,
        after,
        CHECK_IN_CLEAR_BATCH,
      );
      if (batch.length === 0) return cleared;
      after = batch[batch.length - 1].ticketId;
      // Sent together on the one connection: every key lies in the performance's slot.
      const outcomes = await Promise.all(
        batch.map((checkIn) =>
          this.marks.undo(performanceId, checkIn.purchaseId, checkIn, checkIn, CHECK_IN_MARK_LIFETIME_SECONDS),
        ),
      );
      cleared += await this.tickets.clearCheckIns(
        manager,
        batch.filter((_, i) => outcomes[i].outcome === 'UNDONE'),
      );
      if (batch.length < CHECK_IN_CLEAR_BATCH) return cleared;
    }
  }
}
