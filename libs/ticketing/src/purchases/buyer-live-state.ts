import { Injectable } from '@nestjs/common';
import { HoldExpiredError, HoldPurchasedError, HoldReleasedError, NotFoundError } from '../errors';
import { HoldService } from '../holds/hold.service';
import { isBuyersPurchase } from './purchase-reader';
import { PurchaseStore } from './purchase.store';

/**
 * A buyer's state in Redis as the deletion of its account needs it (the api binds libs/auth's
 * AccountLiveState port to this): its paid purchases not written to PostgreSQL yet, and its live
 * holds, released.
 */
@Injectable()
export class BuyerLiveState {
  constructor(
    private readonly purchases: PurchaseStore,
    private readonly holds: HoldService,
  ) {}

  /**
   * Ids of buyer `userId`'s PAID purchases in its Redis index (not flushed yet, or flushed moments
   * ago: the flusher unindexes after its commit), newest first; box office sales it sold and canceled
   * purchases left out. One read of the index and one of each purchase.
   */
  async unflushedPurchases(userId: string): Promise<string[]> {
    const indexed = await this.purchases.indexedOf(userId, null);
    return indexed
      .filter((purchase) => purchase.status === 'PAID' && isBuyersPurchase(purchase, userId))
      .map((purchase) => purchase.id);
  }

  /**
   * Releases every live hold of buyer `userId` (HoldService.listLive, then each released: its seats
   * are free again); a hold that ended meanwhile (bought, expired, released) is skipped. Answers how
   * many it released.
   */
  async releaseHolds(userId: string): Promise<number> {
    let released = 0;
    for (const hold of await this.holds.listLive(userId)) {
      try {
        await this.holds.release(userId, hold.id);
        released += 1;
      } catch (error) {
        // Ended meanwhile: nothing left to release.
        if (!isEndedHold(error)) throw error;
      }
    }
    return released;
  }
}

/** A release's refusal because the hold has ended already (or is gone). */
function isEndedHold(error: unknown): boolean {
  return (
    error instanceof NotFoundError ||
    error instanceof HoldReleasedError ||
    error instanceof HoldExpiredError ||
    error instanceof HoldPurchasedError
  );
}
