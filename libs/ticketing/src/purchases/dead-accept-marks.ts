import { Injectable } from '@nestjs/common';
import { AcceptMarkScope, TicketTransfersRepository } from '@app/database';
import { PurchaseStore } from './purchase.store';

/**
 * Takes back transfer accept marks no accept can reach. An accept marks its seat in Redis
 * (transfer-mark.lua, `transferred:<purchase>`) before PostgreSQL records it, and the mark refuses
 * the buyer's cancel of the purchase (409 PurchaseTransferred) for its whole lifetime
 * (TRANSFER_MARK_LIFETIME_SECONDS). An accept whose process stopped between the two leaves its mark
 * behind; once its offer is settled (canceled, declined) or past its expiry, no accept can follow it.
 * Used after a sender's cancel or a recipient's decline (TicketTransferService) and when marks
 * refuse a buyer's cancel (PurchaseCancellation).
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
   * mark, or is refused). Answers the seats whose marks it took back, ascending (none: no mark
   * changed). Throws DatabaseUnavailableError (a row lock not had within ROW_LOCK_TIMEOUT_MS: no mark
   * taken back) or the take-back's Redis error.
   */
  async takeBack(scope: AcceptMarkScope): Promise<number[]> {
    const dead = await this.transfers.seatsNoAcceptCanReach(scope);
    if (!dead) return [];
    await this.store.unmarkTransfers(dead.performanceId, dead.purchaseId, dead.seatIds);
    return dead.seatIds;
  }
}
