import { Injectable } from '@nestjs/common';
import { AcceptMarkScope, TicketTransfersRepository } from '@app/database';
import { PurchaseStore } from './purchase.store';

/**
 * Takes back transfer accept marks no accept can reach. An accept marks its seat in Redis
 * (transfer-mark.lua, `transferred:<purchase>`, with its transfer as the mark's owner in
 * `transferred-by:<purchase>`) before PostgreSQL records it, and the mark refuses the buyer's cancel
 * of the purchase (409 PurchaseTransferred) for its whole lifetime (TRANSFER_MARK_LIFETIME_SECONDS).
 * An accept whose process stopped between the two leaves its mark behind; once its offer is settled
 * (canceled, declined) or past its expiry, no accept can follow it. Used after a sender's cancel or a
 * recipient's decline (TicketTransferService) and when marks refuse a buyer's cancel
 * (PurchaseCancellation).
 */
@Injectable()
export class DeadAcceptMarks {
  constructor(
    private readonly transfers: TicketTransfersRepository,
    private readonly store: PurchaseStore,
  ) {}

  /**
   * Takes back the marks of the seats of `scope` (the ticket of one transfer, or seats of one
   * purchase) whose ticket no accept can reach (TicketTransfersRepository.seatsNoAcceptCanReach: no
   * holder by an accepted transfer and no offer PENDING once overdue offers are written EXPIRED,
   * under the offers' row locks, so an accept in flight either committed first and keeps its seat's
   * mark, or is refused).
   *
   * In four steps: PostgreSQL names the candidate seats (and the purchase's performance, for the
   * keys); their marks are read from Redis with their owners; PostgreSQL is asked again about the
   * marked seats; the marks it still finds unreachable are taken back only while each is the mark
   * read (same owner; unmark-transfers.lua). A mark read before the second check belongs to an accept
   * that check proves dead; an accept that marks the seat after it (a new offer made and accepted
   * meanwhile) names its own transfer, and its mark is kept. A mark of an earlier version (no owner)
   * is taken back while it still has none; an accept by an api of that version records none either,
   * so for such an accept the race stays open until every api runs this version.
   *
   * Answers the seats whose marks it took back, ascending (none: no mark changed). Throws
   * DatabaseUnavailableError (a row lock not had within ROW_LOCK_TIMEOUT_MS: no mark taken back) or
   * the Redis error of a read or of the take-back.
   */
  async takeBack(scope: AcceptMarkScope): Promise<number[]> {
    const candidates = await this.transfers.seatsNoAcceptCanReach(scope);
    if (!candidates) return [];
    const { performanceId, purchaseId } = candidates;
    const marks = await this.store.transferMarks(performanceId, purchaseId, candidates.seatIds);
    if (marks.length === 0) return [];
    const dead = await this.transfers.seatsNoAcceptCanReach({ purchaseId, seatIds: marks.map((mark) => mark.seatId) });
    if (!dead) return [];
    const deadSeats = new Set(dead.seatIds);
    return this.store.unmarkTransfers(
      performanceId,
      purchaseId,
      marks.filter((mark) => deadSeats.has(mark.seatId)),
    );
  }
}
