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
  /** `canceledBy` as cancel-purchase.lua wrote it (`buyer`, `operator`, `performance`); '' in entries of older versions. */
  | { type: 'cancel'; purchaseId: string; canceledBy?: string }
  | { type: 'refund'; purchaseId: string; seatIds: number[]; amount: number };

/** What a sales report reads from Redis, in one round trip. */
export interface LiveSales {
  /** Stream entries, oldest first (each is deleted only after the flush that wrote it committed). */
  pending: PendingSale[];
  /** Seat id → status letter (A, H, S, B); empty when Redis does not know the performance. */
  seats: Record<string, string>;
  /** Seat id → `<expiresAt>:<hold id>` of the hold that took the seat last. */
  seatHolds: Record<string, string>;
  /**
   * Seats marked H by a hold expired at `now` and listed in its record's `fromBlock`: house
   * seats an operator's comp took out of their block, which go back to it when the hold ends.
   */
  houseSeats: Set<string>;
  /** Redis TIME, epoch ms. */
  now: number;
}

/** Redis reads of the sales reports: the unflushed purchase stream and the live seat state. */
@Injectable()
export class SalesStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /**
   * The performance's unflushed sales and seat state, read in one MULTI (one consistent moment);
   * when some seats are held by expired holds, those holds' `fromBlock` in one more round trip
   * (after the MULTI: a hold ended meanwhile keeps its record, so the answer is still the MULTI's
   * moment's).
   */
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
    const now = redisMillis(time);
    return {
      pending: entries.map(([, fields]) => pendingSale(fields)),
      seats,
      seatHolds,
      houseSeats: await this.houseSeats(performanceId, seats, seatHolds, now),
      now,
    };
  }

  /** The performance's unflushed stream entries alone (oldest first): what the door's count reads of Redis. */
  async pending(performanceId: number): Promise<PendingSale[]> {
    const entries = await this.redis.xrange(performanceKeys(performanceId).purchaseStream, '-', '+');
    return entries.map(([, fields]) => pendingSale(fields));
  }

  /** {@link LiveSales.houseSeats}: one HGET per distinct expired holder, none when no holder expired. */
  private async houseSeats(
    performanceId: number,
    seats: Record<string, string>,
    seatHolds: Record<string, string>,
    now: number,
  ): Promise<Set<string>> {
    // Hold id -> its seats still H, the holder entry naming it and expired.
    const expired = new Map<string, string[]>();
    for (const [seatId, letter] of Object.entries(seats)) {
      const entry = seatHolds[seatId];
      // The holder entry starts with the hold's expiry (epoch ms); parseInt stops at the ':'.
      if (letter !== 'H' || entry === undefined || Number.parseInt(entry, 10) > now) continue;
      const holdId = entry.slice(entry.indexOf(':') + 1);
      const seatIds = expired.get(holdId);
      if (seatIds) seatIds.push(seatId);
      else expired.set(holdId, [seatId]);
    }
    const house = new Set<string>();
    if (expired.size === 0) return house;
    const keys = performanceKeys(performanceId);
    const holdIds = [...expired.keys()];
    const fromBlocks = await Promise.all(holdIds.map((holdId) => this.redis.hget(keys.hold(holdId), 'fromBlock')));
    holdIds.forEach((holdId, i) => {
      const fromBlock = new Set((fromBlocks[i] ?? '').split(','));
      for (const seatId of expired.get(holdId)!) if (fromBlock.has(seatId)) house.add(seatId);
    });
    return house;
  }
}

function pendingSale(fields: string[]): PendingSale {
  const record: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  if (record.type === 'cancel')
    return { type: 'cancel', purchaseId: record.purchaseId, canceledBy: record.canceledBy ?? '' };
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
