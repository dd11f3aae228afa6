import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import {
  PerformanceRepository,
  recordAuditIn,
  TicketRecord,
  TicketsRepository,
  TransactionRunner,
} from '@app/database';
import { NotFoundError, PerformanceCanceledError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';
import { CheckInStore } from './check-in.store';
import { CHECK_IN_MARK_LIFETIME_SECONDS } from './ticket.service';
import { CheckInUndoForbiddenError, TicketCanceledError, TicketNotCheckedInError } from './ticket.errors';

/** The audit action of an undone check-in. */
export const CHECK_IN_UNDO_ACTION = 'check-in.undo';

/** Who undoes a check-in: an admin (`admin: true`) undoes any; a staff account only its own, briefly. */
export interface CheckInUndoActor extends Operator {
  admin: boolean;
}

/** A check-in taken back: the ticket as it is now (not checked in) and the check-in it was. */
export interface UndoneCheckIn {
  ticket: TicketRecord;
  undone: {
    /** When the ticket was checked in (PostgreSQL's clock). */
    checkedInAt: Date;
    /** The account that scanned it; `id` and `email` null once that account was deleted. */
    checkedInBy: { id: string | null; email: string | null };
  };
}

/**
 * Undoing a check-in at the door: a wrong ticket scanned, or a holder turned back after the scan.
 * Afterwards the ticket admits again, once, and its purchase can be canceled again as if it had
 * never been scanned (the Redis mark of the scan is gone, PostgreSQL's check-in cleared).
 */
@Injectable()
export class CheckInUndo {
  constructor(
    private readonly tickets: TicketsRepository,
    private readonly marks: CheckInStore,
    private readonly transactions: TransactionRunner,
    private readonly performances: PerformanceRepository,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Undoes the check-in of ticket `ticketId` (a bigint, decimal) for `actor`, and records it in the
   * audit log (`check-in.undo`, subject the purchase) in the same transaction. Throws
   * NotFoundError('ticket') (no such ticket); TicketCanceledError (409: its purchase was canceled or
   * refunded, also while the cancellation is only in Redis: a refund may have kept its seat sold as
   * checked in); PerformanceCanceledError (409); TicketNotCheckedInError (409: not checked in, or its
   * check-in undone by a concurrent undo); CheckInUndoForbiddenError (403) for a staff account and a
   * check-in another account made, or its own older than CHECK_IN_UNDO_MINUTES by PostgreSQL's clock.
   *
   * Against a concurrent cancel or refund of the purchase, check-in-undo.lua and cancel-purchase.lua
   * decide in Redis: the one that runs first wins (a cancel first: the undo is refused, the check-in
   * stays; the undo first: the cancel counts the seat as not checked in, also when it read the
   * check-in from PostgreSQL before). Against a concurrent scan of the ticket, PostgreSQL's row lock
   * decides: the check-in is cleared by a conditional UPDATE of the row, held while Redis is asked
   * and until the commit, so a scan waiting for the row admits once the undo committed and is
   * refused (already checked in) if it rolled back; each scan's Redis mark is its own, so the undo
   * takes back only the mark of the check-in it clears. A commit that fails after Redis was changed
   * leaves the check-in in PostgreSQL with its mark gone (see docs/guide/tickets.md, "Undoing a check-in").
   */
  async undo(actor: CheckInUndoActor, ticketId: string): Promise<UndoneCheckIn> {
    const undoMinutes = this.env.CHECK_IN_UNDO_MINUTES;
    const state = await this.tickets.checkInOf(ticketId, undoMinutes);
    if (!state) throw new NotFoundError('ticket');
    const { ticket, checkIn } = state;
    if (state.purchaseCanceled || ticket.status !== 'ACTIVE') throw new TicketCanceledError();
    if (state.performanceCanceled) {
      throw new PerformanceCanceledError(ticket.performanceId, 'its check-ins stand');
    }
    if (!checkIn) throw new TicketNotCheckedInError();
    if (!actor.admin && (checkIn.byId !== actor.id || !checkIn.withinStaffWindow)) {
      const performance = await this.performances.findById(ticket.performanceId);
      throw new CheckInUndoForbiddenError(
        checkIn.byId !== actor.id ? 'NOT_YOUR_CHECK_IN' : 'UNDO_WINDOW_PASSED',
        checkIn.at,
        performance?.timeZone ?? 'UTC',
        undoMinutes,
        checkIn.byId && checkIn.byEmail !== null && checkIn.byName !== null
          ? { id: checkIn.byId, email: checkIn.byEmail, name: checkIn.byName }
          : null,
      );
    }
    await this.transactions.run(async (manager) => {
      // Locks the row to the commit: a scan of the ticket waits for it (see above).
      if (!(await this.tickets.clearCheckIn(manager, ticketId, checkIn.identity))) {
        throw new TicketNotCheckedInError(true);
      }
      await recordAuditIn(manager, {
        actorId: actor.id,
        actorEmail: actor.email,
        action: CHECK_IN_UNDO_ACTION,
        subjectId: ticket.purchaseId,
        details: {
          ticketId: ticket.ticketId,
          purchaseId: ticket.purchaseId,
          performanceId: ticket.performanceId,
          seatId: ticket.seatId,
          section: ticket.section,
          row: ticket.row,
          rowLabel: ticket.rowLabel,
          number: ticket.number,
          checkedInAt: checkIn.at.toISOString(),
          checkedInById: checkIn.byId,
          checkedInByEmail: checkIn.byEmail,
        },
      });
      // Last, with the row locked: a refusal rolls the clear back, and nothing in Redis changed.
      const redis = await this.marks.undo(
        ticket.performanceId,
        ticket.purchaseId,
        ticket,
        checkIn,
        CHECK_IN_MARK_LIFETIME_SECONDS,
      );
      if (redis.outcome === 'CANCELED') throw new TicketCanceledError();
      if (redis.outcome === 'PERFORMANCE_CANCELED') {
        throw new PerformanceCanceledError(ticket.performanceId, 'its check-ins stand');
      }
    });
    return {
      ticket: { ...ticket, checkedInAt: null },
      undone: { checkedInAt: checkIn.at, checkedInBy: { id: checkIn.byId, email: checkIn.byEmail } },
    };
  }
}
