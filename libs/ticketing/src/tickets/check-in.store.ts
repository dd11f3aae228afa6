import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { checkInMarkMember, CheckInMarkResult, markCheckIn, markTransfer } from './ticket-scripts';

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
   * Marks `seat.seatId` of the purchase checked in by a scan of its code of `seat.codeVersion`, for
   * `lifetimeSeconds`, unless the purchase was canceled (check-in-mark.lua). `added`: false when
   * that code's mark was there already.
   */
  mark(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; codeVersion: number },
    lifetimeSeconds: number,
  ): Promise<CheckInMarkResult> {
    return markCheckIn(this.redis, performanceKeys(performanceId), purchaseId, seat, lifetimeSeconds);
  }

  /**
   * Whether the purchase is CANCELED in Redis, as check-in-mark.lua reads it: a cancellation
   * PostgreSQL may not have yet (its write behind is `batch`'s flush). False also once Redis no
   * longer holds the purchase (written to PostgreSQL and expired: PostgreSQL says the rest).
   */
  async purchaseCanceled(performanceId: number, purchaseId: string): Promise<boolean> {
    return (await this.redis.hget(performanceKeys(performanceId).purchase(purchaseId), 'status')) === 'CANCELED';
  }

  /**
   * Takes back the mark a scan of the code of `seat.codeVersion` set: a mark of another code version
   * of the seat (a concurrent scan of the current code) stays.
   */
  async unmark(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; codeVersion: number },
  ): Promise<void> {
    await this.redis.srem(
      performanceKeys(performanceId).checkedIn(purchaseId),
      checkInMarkMember(seat.seatId, seat.codeVersion),
    );
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
