import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { PurchaseCancellation, PurchaseRecord, PurchaseRepository, PurchaseStatus } from '@app/database';
import { defineScripts } from '@app/redis';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys, purchasePointerKey, userPurchasesKey } from '../redis-keys';
import { seatIdsFromList } from './purchase';
import {
  DELIVER_DUE_PURCHASES,
  deliverDuePurchases,
  ENSURE_FLUSH_GROUP,
  ensureFlushGroup,
  StreamEntry,
} from './purchase-scripts';

/** The consumer group every flusher reads the purchase streams with. */
export const FLUSH_GROUP = 'flusher';
/** How long a purchase stays readable from Redis after it has been written to PostgreSQL. */
export const FLUSHED_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface FlushOptions {
  /** Most stream entries written per performance and transaction. */
  batchSize: number;
}

export const DEFAULT_FLUSH_OPTIONS: FlushOptions = { batchSize: 500 };

interface CancelEntry extends PurchaseCancellation {
  userId: string;
}

/**
 * Writes purchases (and cancellations) from the Redis purchase streams to PostgreSQL once they
 * are older than PURCHASE_FLUSH_AGE_SECONDS. Reads with a consumer group, writes a batch in one
 * transaction whose unique keys make a replay a no-op, and acknowledges only after commit; the
 * entries of a consumer that died are taken over with XAUTOCLAIM. Any number may run at once.
 */
@Injectable()
export class PurchaseFlusher {
  private readonly logger = new Logger(PurchaseFlusher.name);
  /** This process's consumer name in the group. */
  readonly consumer = `${hostname()}-${process.pid}`;
  private readonly streamsWithGroup = new Set<string>();

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Env) private readonly env: Env,
    private readonly purchases: PurchaseRepository,
  ) {
    defineScripts(redis, [ENSURE_FLUSH_GROUP, DELIVER_DUE_PURCHASES]);
  }

  /** Writes one batch per performance that has due entries; returns how many entries it wrote. */
  async flushOnce(options: FlushOptions = DEFAULT_FLUSH_OPTIONS): Promise<number> {
    const performanceIds = (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
    if (performanceIds.length === 0) return 0;
    const [seconds, micros] = (await this.redis.time()).map(Number);
    // Stream ids start with the Redis time (ms) of their XADD: entries up to here are due.
    const dueUntil = seconds * 1000 + Math.floor(micros / 1000) - this.env.PURCHASE_FLUSH_AGE_SECONDS * 1000;
    let written = 0;
    // One performance whose batch cannot be written must not hold back the others' purchases.
    const failures: string[] = [];
    for (const performanceId of performanceIds) {
      try {
        written += await this.flushPerformance(performanceId, dueUntil, options);
      } catch (error) {
        failures.push(`performance ${performanceId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`${failures.join('; ')} (${written} entries of others written)`);
    return written;
  }

  private async flushPerformance(performanceId: number, dueUntil: number, options: FlushOptions): Promise<number> {
    const stream = performanceKeys(performanceId).purchaseStream;
    await this.ensureGroup(stream);
    const due = (entries: StreamEntry[]) => entries.filter(([id]) => Number(id.split('-')[0]) <= dueUntil);
    // Own unacknowledged entries first (a failed write, or entries delivered before they were due),
    // then those of dead consumers, then new ones.
    let entries = due(await this.readGroup(stream, '0', options.batchSize));
    if (entries.length === 0) entries = due(await this.claimAbandoned(stream, options));
    if (entries.length === 0) {
      entries = await deliverDuePurchases(this.redis, stream, {
        group: FLUSH_GROUP,
        consumer: this.consumer,
        dueUntil,
        count: options.batchSize,
      });
    }
    if (entries.length === 0) return 0;
    await this.write(performanceId, stream, entries);
    return entries.length;
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.streamsWithGroup.has(stream)) return;
    await ensureFlushGroup(this.redis, stream, FLUSH_GROUP);
    this.streamsWithGroup.add(stream);
  }

  private async readGroup(stream: string, from: string, count: number): Promise<StreamEntry[]> {
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      FLUSH_GROUP,
      this.consumer,
      'COUNT',
      count,
      'STREAMS',
      stream,
      from,
    )) as [string, StreamEntry[]][] | null;
    return (reply?.[0]?.[1] ?? []).filter(([, fields]) => fields !== null);
  }

  private async claimAbandoned(stream: string, options: FlushOptions): Promise<StreamEntry[]> {
    const [, entries] = (await this.redis.xautoclaim(
      stream,
      FLUSH_GROUP,
      this.consumer,
      this.env.PURCHASE_CLAIM_IDLE_SECONDS * 1000,
      '0-0',
      'COUNT',
      options.batchSize,
    )) as [string, StreamEntry[], string[]];
    const claimed = entries.filter(([, fields]) => fields !== null);
    if (claimed.length > 0) this.logger.log(`took over ${claimed.length} purchase entries of a stopped flusher`);
    return claimed;
  }

  private async write(performanceId: number, stream: string, entries: StreamEntry[]): Promise<void> {
    const keys = performanceKeys(performanceId);
    const purchases: PurchaseRecord[] = [];
    const cancellations: CancelEntry[] = [];
    for (const [, fields] of entries) {
      const entry = pairsToObject(fields as string[]);
      if (entry.type === 'purchase') purchases.push(purchaseFromEntry(entry));
      else if (entry.type === 'cancel') cancellations.push(cancellationFromEntry(entry));
    }

    // A purchase canceled before it is written goes in as CANCELED: the cancellation may be
    // flushed by another consumer before this entry is.
    if (purchases.length > 0) {
      const reads = this.redis.pipeline();
      for (const purchase of purchases) reads.hmget(keys.purchase(purchase.id), 'status', 'canceledAt');
      const states = (await reads.exec()) ?? [];
      purchases.forEach((purchase, index) => {
        const [error, state] = states[index];
        if (error) throw error;
        const [status, canceledAt] = state as (string | null)[];
        if (status === PurchaseStatus.Canceled && canceledAt) {
          purchase.status = PurchaseStatus.Canceled;
          purchase.canceledAt = new Date(Number(canceledAt));
        }
      });
    }

    await this.purchases.writeBatch({ purchases, cancellations });
    // Stream ids begin with the ms of their XADD: the oldest one tells how long buyers' purchases
    // waited in Redis (the dashboard's flush lag).
    const oldestAt = Math.min(...entries.map(([id]) => Number(id.split('-')[0])));
    this.logger.log({
      message: `flushed ${purchases.length} purchases and ${cancellations.length} cancellations of performance ${performanceId}`,
      boxoffice: { flush: { purchases: purchases.length, lag_ms: Math.max(0, Date.now() - oldestAt) } },
    });

    // Only after commit. A crash before this line replays the batch: a no-op in PostgreSQL.
    const ids = entries.map(([id]) => id);
    const after = this.redis
      .pipeline()
      .xack(stream, FLUSH_GROUP, ...ids)
      .xdel(stream, ...ids);
    for (const { id, userId } of [
      ...purchases,
      ...cancellations.map((c) => ({ id: c.purchaseId, userId: c.userId })),
    ]) {
      after
        .zrem(userPurchasesKey(userId), `${performanceId}:${id}`)
        .pexpire(keys.purchase(id), FLUSHED_RETENTION_MS)
        .pexpire(purchasePointerKey(id), FLUSHED_RETENTION_MS);
    }
    await after.exec();
    this.logger.verbose(
      `flushed ${purchases.length} purchases and ${cancellations.length} cancellations of performance ${performanceId}`,
    );
  }
}

function purchaseFromEntry(entry: Record<string, string>): PurchaseRecord {
  return {
    id: entry.id,
    reservationId: entry.reservationId,
    userId: entry.userId,
    performanceId: Number(entry.performanceId),
    seatIds: seatIdsFromList(entry.seats),
    amount: Number(entry.amount),
    currency: entry.currency,
    chargeId: entry.chargeId,
    status: PurchaseStatus.Paid,
    createdAt: new Date(Number(entry.createdAt)),
    canceledAt: null,
  };
}

function cancellationFromEntry(entry: Record<string, string>): CancelEntry {
  return { purchaseId: entry.purchaseId, userId: entry.userId, canceledAt: new Date(Number(entry.canceledAt)) };
}

/** `[k1, v1, k2, v2]` → `{ k1: v1, k2: v2 }`. */
function pairsToObject(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) result[String(pairs[i])] = String(pairs[i + 1]);
  return result;
}
