import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
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
   * Of `purchases`, the ids of those CANCELED in Redis, each read as `purchaseCanceled` reads one:
   * cancellations PostgreSQL may not have yet (a buyer's cancel or an operator's refund before
   * `batch` writes it behind). One HGET per purchase, sent together: one pipeline on a single Redis,
   * and on a Cluster each to its slot's primary, all in flight at once (purchases of different
   * performances lie in different slots; see sendAcrossSlots). No command for an empty list.
   */
  async canceledAmong(purchases: readonly { performanceId: number; purchaseId: string }[]): Promise<Set<string>> {
    const replies = await sendAcrossSlots(
      this.redis,
      purchases.map(({ performanceId, purchaseId }) => [
        'hget',
        performanceKeys(performanceId).purchase(purchaseId),
        'status',
      ]),
    );
    const canceled = new Set<string>();
    replies.forEach(([error, status], i) => {
      if (error) throw error;
      if (status === 'CANCELED') canceled.add(purchases[i].purchaseId);
    });
    return canceled;
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
