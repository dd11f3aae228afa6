import type { NewPurchase, PurchaseRecord } from '@app/database';
import { purchaseCompletedEntry } from '@app/messaging/contracts';

/**
 * The purchases of a flush, each with its purchase-completed message (the typed contract of
 * `@app/messaging/contracts`), as PurchaseRepository.writeBatch stores them.
 */
export function withCompletedMessages(purchases: PurchaseRecord[]): NewPurchase[] {
  return purchases.map((purchase) => ({ ...purchase, completed: purchaseCompletedEntry(purchase) }));
}
