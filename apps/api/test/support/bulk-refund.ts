import { INestApplicationContext } from '@nestjs/common';
import { waitUntil } from '@app/testing';
import { BulkRefund } from '@app/ticketing';
import { flushPurchases } from '../purchase-helpers';

/**
 * Steps `app`'s bulk refund (the `batch` loop that refunds the purchases of canceled performances)
 * as batch would, flushing purchases after each step, until a step reports it completed (waits as
 * `waitUntil` does, then throws "bulk refund completed").
 */
export async function completeBulkRefund(app: Pick<INestApplicationContext, 'get'>): Promise<void> {
  const bulk = app.get(BulkRefund);
  await waitUntil(async () => {
    const step = await bulk.refundOnce();
    await flushPurchases(app);
    return step?.completed === true;
  }, 'bulk refund completed');
}
