import { Injectable } from '@nestjs/common';
import { PurchaseRepository } from '@app/database';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import type { Page } from '../catalog/catalog.types';
import { NotFoundError } from '../errors';
import { isUuid } from '../input';
import { newestFirst, Purchase, purchaseFromPersisted, saleChannelOf } from './purchase';
import { PurchaseStore } from './purchase.store';

/**
 * The buyer's view of purchases: Redis (not flushed yet, or canceled since) merged over PostgreSQL.
 * A box office sale is the venue's, not the selling account's: it is in no buyer's view (operators
 * read it with {@link find}).
 */
@Injectable()
export class PurchaseReader {
  constructor(
    private readonly store: PurchaseStore,
    private readonly purchases: PurchaseRepository,
  ) {}

  /**
   * The caller's purchase, flushed to PostgreSQL or not; anyone else's, and a box office sale the
   * caller sold at the window, is NotFoundError('purchase').
   */
  async get(userId: string, purchaseId: string): Promise<Purchase> {
    const purchase = isUuid(purchaseId) ? await this.find(purchaseId) : null;
    if (!purchase || !isBuyersPurchase(purchase, userId)) throw new NotFoundError('purchase');
    return purchase;
  }

  /**
   * The caller's purchases, newest first, those not flushed yet included, each once; box office
   * sales the caller sold at the window left out. Throws InvalidInputError (cursor).
   */
  async list(userId: string, cursor: string | undefined, limit: number): Promise<Page<Purchase>> {
    const after = decodeCursor<{ t: number; i: string }>(cursor, { t: 'millis', i: 'uuid' });
    const before = after ? { createdAt: new Date(after.t), id: after.i } : null;
    // Redis first, then PostgreSQL (as find and the sales report do): the flusher takes a purchase
    // out of the buyer's Redis index only after its commit, so a purchase missed by the first read
    // is in the second. Read at once, a PostgreSQL snapshot from before the commit and a Redis
    // read from after it would both miss it.
    const unflushed = await this.store.indexedOf(userId, before ? before.createdAt.getTime() : null);
    const rows = await this.purchases.pageOfUser(userId, before, limit + 1);
    const byId = new Map<string, Purchase>();
    for (const row of rows) byId.set(row.id, purchaseFromPersisted(row));
    // Redis holds the newer state (a cancellation not written to PostgreSQL yet).
    for (const purchase of unflushed) {
      if (!isBuyersPurchase(purchase, userId)) continue;
      if (!before || newestFirst(before, purchase) < 0) byId.set(purchase.id, purchase);
    }
    const sorted = [...byId.values()].sort(newestFirst);
    const items = sorted.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: sorted.length > limit && last ? encodeCursor({ t: last.createdAt.getTime(), i: last.id }) : null,
    };
  }

  /** Anyone's purchase (for operators), flushed to PostgreSQL or not; null when unknown. */
  async find(purchaseId: string): Promise<Purchase | null> {
    if (!isUuid(purchaseId)) return null;
    const performanceId = await this.store.performanceOfPurchase(purchaseId);
    if (performanceId !== null) {
      const purchase = await this.store.read(performanceId, purchaseId);
      if (purchase) return purchase;
    }
    const row = await this.purchases.findById(purchaseId);
    return row ? purchaseFromPersisted(row) : null;
  }
}

/**
 * Whether `purchase` is buyer `userId`'s own: bought by it online (or a comp given to it). A box
 * office sale is stored under the selling clerk's account, and a guest comp under the issuing
 * operator's, but either is the venue's: never a buyer's.
 */
export function isBuyersPurchase(
  purchase: Pick<Purchase, 'userId' | 'paymentMethod' | 'deliveryEmail'>,
  userId: string,
): boolean {
  return purchase.userId === userId && saleChannelOf(purchase) === 'ONLINE';
}
