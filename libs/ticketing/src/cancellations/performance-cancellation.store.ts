import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import type { PaidPurchaseRef } from '@app/database';
import { assertPerformanceId } from '../input';
import { performanceKeys } from '../redis-keys';

/** What a canceled performance's purchase stream holds that PostgreSQL does not have yet. */
export interface UnwrittenPurchases {
  /** Purchases among the first entries read that are still PAID in Redis (not canceled since). */
  paid: PaidPurchaseRef[];
  /** Every entry of the stream (purchases and cancellations) not written to PostgreSQL yet. */
  entries: number;
}

/**
 * The Redis reads of a performance's bulk refund: the purchases still only in its write-behind
 * stream (`{perf:<id>}:purchases`, whose entries are deleted only after their write to PostgreSQL
 * committed). Reads only: every cancel goes through PurchaseCancellation.
 */
@Injectable()
export class PerformanceCancellationStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /**
   * The PAID purchases among the first `count` entries of the performance's purchase stream, and
   * how many entries it holds. Two round trips (the stream, then the purchases' status), not one
   * atomic read: a purchase canceled in between is answered PAID, and its cancel then answers
   * "already canceled"; a purchase flushed in between is answered too, and found in PostgreSQL next.
   */
  async unwritten(performanceId: number, count: number): Promise<UnwrittenPurchases> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    const replies = (await this.redis
      .multi()
      .xrange(keys.purchaseStream, '-', '+', 'COUNT', count)
      .xlen(keys.purchaseStream)
      .exec())!;
    for (const [error] of replies) if (error) throw error;
    const [entries, length] = replies.map(([, value]) => value) as [[string, string[]][], number];
    const sold: PaidPurchaseRef[] = [];
    for (const [, fields] of entries) {
      const record: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
      if (record.type === 'purchase' && record.id && record.userId) {
        sold.push({ purchaseId: record.id, userId: record.userId });
      }
    }
    if (sold.length === 0) return { paid: [], entries: length };
    const pipeline = this.redis.pipeline();
    for (const purchase of sold) pipeline.hget(keys.purchase(purchase.purchaseId), 'status');
    const statuses = (await pipeline.exec())!;
    const paid = sold.filter((_, i) => {
      const [error, status] = statuses[i];
      if (error) throw error;
      return status === 'PAID';
    });
    return { paid, entries: length };
  }
}
