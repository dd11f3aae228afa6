import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { redisMillis } from '../holds/hold.store';
import { performanceKeys } from '../redis-keys';

/**
 * One entry of a performance's purchase stream: a sale, a cancellation or a partial refund (some
 * seats of a purchase, `seatIds`, and their prices summed, `amount`) not written to PostgreSQL yet.
 */
export type PendingSale =
  | { type: 'purchase'; record: Record<string, string> }
  | { type: 'cancel'; purchaseId: string }
  | { type: 'refund'; purchaseId: string; seatIds: number[]; amount: number };

/** What a sales report reads from Redis, in one round trip. */
export interface LiveSales {
  /** Stream entries, oldest first (each is deleted only after the flush that wrote it committed). */
  pending: PendingSale[];
  /** Seat id → status letter (A, H, S, B); empty when Redis does not know the performance. */
  seats: Record<string, string>;
  /** Seat id → `<expiresAt>:<hold id>` of the hold that took the seat last. */
  seatHolds: Record<string, string>;
  /** Redis TIME, epoch ms. */
  now: number;
}

/** Redis reads of the sales reports: the unflushed purchase stream and the live seat state. */
@Injectable()
export class SalesStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /** The performance's unflushed sales and seat state, read in one MULTI (one consistent moment). */
  async live(performanceId: number): Promise<LiveSales> {
    const keys = performanceKeys(performanceId);
    const replies = (await this.redis
      .multi()
      .xrange(keys.purchaseStream, '-', '+')
      .hgetall(keys.seats)
      .hgetall(keys.seatHolds)
      .time()
      .exec())!;
    for (const [error] of replies) if (error) throw error;
    const [entries, seats, seatHolds, time] = replies.map(([, value]) => value) as [
      [string, string[]][],
      Record<string, string>,
      Record<string, string>,
      string[],
    ];
    return { pending: entries.map(([, fields]) => pendingSale(fields)), seats, seatHolds, now: redisMillis(time) };
  }
}

function pendingSale(fields: string[]): PendingSale {
  const record: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  if (record.type === 'cancel') return { type: 'cancel', purchaseId: record.purchaseId };
  if (record.type === 'refund') {
    return {
      type: 'refund',
      purchaseId: record.purchaseId,
      seatIds: record.seats.split(',').map(Number),
      amount: Number(record.amount),
    };
  }
  return { type: 'purchase', record };
}
