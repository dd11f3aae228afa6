import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { CheckInMarkResult, markCheckIn, markTransfer } from './ticket-scripts';

/**
 * The Redis marks of check-ins, which a cancel of the purchase reads (check-in-mark.lua). When to
 * mark and when to take a mark back is TicketService's.
 */
@Injectable()
export class CheckInStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Marks `seatId` of the purchase checked in for `lifetimeSeconds`, unless the purchase was
   * canceled (check-in-mark.lua). `added`: false when the seat was marked already.
   */
  mark(performanceId: number, purchaseId: string, seatId: number, lifetimeSeconds: number): Promise<CheckInMarkResult> {
    return markCheckIn(this.redis, performanceKeys(performanceId), purchaseId, seatId, lifetimeSeconds);
  }

  /**
   * Whether the purchase is CANCELED in Redis, as check-in-mark.lua reads it: a cancellation
   * PostgreSQL may not have yet (its write behind is `batch`'s flush). False also once Redis no
   * longer holds the purchase (written to PostgreSQL and expired: PostgreSQL says the rest).
   */
  async purchaseCanceled(performanceId: number, purchaseId: string): Promise<boolean> {
    return (await this.redis.hget(performanceKeys(performanceId).purchase(purchaseId), 'status')) === 'CANCELED';
  }

  /** Takes the mark of `seatId` of the purchase back. */
  async unmark(performanceId: number, purchaseId: string, seatId: number): Promise<void> {
    await this.redis.srem(performanceKeys(performanceId).checkedIn(purchaseId), String(seatId));
  }

  /**
   * Marks `seatId` of the purchase as given away by a transfer for `lifetimeSeconds`, unless the
   * purchase or its performance was canceled (transfer-mark.lua): a buyer's cancel of the purchase
   * is refused from then on. `added`: false when the seat was marked already.
   */
  markTransfer(
    performanceId: number,
    purchaseId: string,
    seatId: number,
    lifetimeSeconds: number,
  ): Promise<CheckInMarkResult> {
    return markTransfer(this.redis, performanceKeys(performanceId), purchaseId, seatId, lifetimeSeconds);
  }

  /** Takes the transfer mark of `seatId` of the purchase back (an accept PostgreSQL refused). */
  async unmarkTransfer(performanceId: number, purchaseId: string, seatId: number): Promise<void> {
    await this.redis.srem(performanceKeys(performanceId).transferred(purchaseId), String(seatId));
  }
}
