import { Injectable } from '@nestjs/common';
import { PaymentAttemptsRepository, PaymentAttemptStatus, PurchaseRepository, PurchaseStatus } from '@app/database';
import { CancellationClosedError, NotFoundError, PurchaseCanceledError } from '../errors';
import { isUuid } from '../input';
import { PaymentGateway } from './payment-gateway';
import { Purchase, purchaseFromPersisted } from './purchase';
import type { CancelPurchaseResult } from './purchase-scripts';
import { PurchaseStore } from './purchase.store';

/** Canceling paid purchases: refund, seats for sale again, the cancellation written behind. */
@Injectable()
export class PurchaseCancellation {
  constructor(
    private readonly store: PurchaseStore,
    private readonly purchases: PurchaseRepository,
    private readonly attempts: PaymentAttemptsRepository,
    private readonly gateway: PaymentGateway,
  ) {}

  /**
   * Cancels the caller's paid purchase: refunds it and frees its seats for sale again. The
   * cancellation goes through the purchase stream, so it reaches PostgreSQL whether or not the
   * purchase had been written there yet. Throws NotFoundError('purchase') (unknown, or anyone
   * else's), PurchaseCanceledError, CancellationClosedError (past the performance's cancelUntil, by
   * Redis TIME in the script, or none allowed).
   */
  async cancel(userId: string, purchaseId: string): Promise<Purchase> {
    if (!isUuid(purchaseId)) throw new NotFoundError('purchase');
    const { performanceId, result } = await this.cancelAnywhere(userId, purchaseId);
    if (result.outcome === 'CANCEL_CLOSED') {
      throw new CancellationClosedError(result.cancelUntil === null ? null : new Date(result.cancelUntil));
    }
    if (result.outcome !== 'CANCELED') {
      throw result.outcome === 'NOT_FOUND' ? new NotFoundError('purchase') : new PurchaseCanceledError();
    }

    const purchase = await this.store.read(performanceId, purchaseId);
    if (!purchase) throw new NotFoundError('purchase');
    await this.store.index(userId, performanceId, purchaseId, purchase.createdAt.getTime());
    // The purchase happened and this refund settles its charge: the attempt, which a sale leaves
    // open, must never be refunded again (not even once the performance is deleted with its Redis state).
    await this.attempts.resolve(purchaseId, PaymentAttemptStatus.Completed);
    if (result.chargeId) await this.gateway.refund(result.chargeId);
    return purchase;
  }

  /** Cancels in Redis; a purchase gone from there (flushed long ago) is put back from PostgreSQL first. */
  private async cancelAnywhere(
    userId: string,
    purchaseId: string,
  ): Promise<{ performanceId: number; result: CancelPurchaseResult }> {
    const performanceId = await this.store.performanceOfPurchase(purchaseId);
    if (performanceId !== null) {
      const result = await this.store.cancel(performanceId, purchaseId, userId, null);
      if (result.outcome !== 'NOT_FOUND') return { performanceId, result };
    }
    const row = await this.purchases.findById(purchaseId);
    if (!row || row.userId !== userId) throw new NotFoundError('purchase');
    if (row.status === PurchaseStatus.Canceled) throw new PurchaseCanceledError();
    return {
      performanceId: row.performanceId,
      result: await this.store.cancel(row.performanceId, purchaseId, userId, purchaseFromPersisted(row)),
    };
  }
}
