import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import type { PaidPurchaseRef } from '@app/database';
import { OPERATOR_REDIS, waitForReplicas } from '@app/redis';
import { endCanceledHolds } from '../holds/hold-scripts';
import { assertPerformanceId } from '../input';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { PerformanceLifecycle, writeLifecycle } from '../seats/seat-state.store';

/**
 * Holds one call of end-canceled-holds.lua ends at most: a stadium's thousands go in pages, so no
 * call holds Redis long (5,000 holds of 4 seats: 26 calls, ~1 s in all, on a loaded 2-core test machine).
 */
export const CANCELED_HOLDS_PAGE = 200;

/**
 * The Redis side of a performance's cancellation: its live holds ended, what its write-behind stream
 * (`{perf:<id>}:purchases`, whose entries are deleted only after their write to PostgreSQL
 * committed) still holds, and its CANCELED status with the replicas' confirmation, both on
 * OPERATOR_REDIS (see there: the `WAIT` counts that connection's writes, and no hold or seat page
 * queues behind it), as are the holds' ends. No purchase is canceled here: every cancel goes through PurchaseCancellation.
 */
@Injectable()
export class PerformanceCancellationStore {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(OPERATOR_REDIS) private readonly operators: Redis,
  ) {
    defineTicketingScripts(operators);
  }

  /** Writes the performance's lifecycle (its CANCELED status) on OPERATOR_REDIS, as SeatStateStore.setLifecycle; false when not registered. */
  setLifecycle(performanceId: number, salesOpenAt: Date, lifecycle: PerformanceLifecycle): Promise<boolean> {
    return writeLifecycle(this.operators, performanceId, salesOpenAt, lifecycle);
  }

  /**
   * How many replicas confirmed every write OPERATOR_REDIS made to the performance's primary (the
   * status {@link setLifecycle} just wrote there among them), WAITing at most `timeoutMs` for
   * `replicas`.
   */
  replicated(performanceId: number, replicas: number, timeoutMs: number): Promise<number> {
    assertPerformanceId(performanceId);
    return waitForReplicas(this.operators, performanceKeys(performanceId).meta, replicas, timeoutMs);
  }

  /**
   * Ends the live holds among the first `limit` entries of the canceled performance's hold expiry
   * index and frees their seats (end-canceled-holds.lua, which drops every entry it is given, and
   * does nothing unless the live status reads CANCELED). `entries`: how many entries it took from
   * the index (fewer than `limit`: none is left; 0 also when the live status is not CANCELED);
   * `ended`: the holds it ended.
   */
  async endHolds(performanceId: number, limit: number): Promise<{ entries: number; ended: number }> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    const holdIds = await this.operators.zrange(keys.expiry, 0, limit - 1);
    if (holdIds.length === 0) return { entries: 0, ended: 0 };
    const result = await endCanceledHolds(this.operators, keys, holdIds);
    if (result.outcome === 'NOT_CANCELED') return { entries: 0, ended: 0 };
    return { entries: holdIds.length, ended: result.holds };
  }

  /** How many entries (purchases and cancellations) of the performance's purchase stream are not written to PostgreSQL yet. */
  unwrittenEntries(performanceId: number): Promise<number> {
    assertPerformanceId(performanceId);
    return this.redis.xlen(performanceKeys(performanceId).purchaseStream);
  }

  /**
   * The purchases among the first `count` entries of the performance's purchase stream (not
   * written to PostgreSQL yet) that are still PAID in Redis. Two round trips (the stream, then the
   * purchases' status), not one atomic read: a purchase written to PostgreSQL in between is
   * answered too.
   */
  async unwrittenPaid(performanceId: number, count: number): Promise<PaidPurchaseRef[]> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    const entries = await this.redis.xrange(keys.purchaseStream, '-', '+', 'COUNT', count);
    const sold: PaidPurchaseRef[] = [];
    for (const [, fields] of entries) {
      const record: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
      if (record.type === 'purchase' && record.id && record.userId) {
        sold.push({ purchaseId: record.id, userId: record.userId });
      }
    }
    if (sold.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const purchase of sold) pipeline.hget(keys.purchase(purchase.purchaseId), 'status');
    const statuses = (await pipeline.exec())!;
    return sold.filter((_, i) => {
      const [error, status] = statuses[i];
      if (error) throw error;
      return status === 'PAID';
    });
  }
}
