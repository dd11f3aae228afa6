import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import {
  checkInEntry,
  checkInMarkMember,
  CheckInMarkResult,
  markCheckIn,
  markTransfer,
  undoCheckIn,
  UndoCheckInResult,
} from './ticket-scripts';

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
   * Marks `seat.seatId` of the purchase checked in by the scan `seat.token` of its code of
   * `seat.codeVersion`, for `lifetimeSeconds`, unless the purchase was canceled (check-in-mark.lua).
   * `added`: false when that scan's mark was there already.
   */
  mark(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; codeVersion: number; token: string },
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
   * Whether seat `seatId` of the purchase no longer admits by Redis: the purchase CANCELED, or the
   * seat refunded from it (an operator's partial refund lists it in `refundedSeats`), as
   * check-in-mark.lua reads them; before PostgreSQL has it (written behind by `batch`). False also
   * once Redis no longer holds the purchase (PostgreSQL says the rest).
   */
  async seatVoided(performanceId: number, purchaseId: string, seatId: number): Promise<boolean> {
    const [status, refunded] = await this.redis.hmget(
      performanceKeys(performanceId).purchase(purchaseId),
      'status',
      'refundedSeats',
    );
    return status === 'CANCELED' || (refunded ?? '').split(',').includes(String(seatId));
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
   * Takes back the mark the scan `seat.token` set: the mark of any other scan of the seat (the one
   * PostgreSQL admitted, one still on its way) stays.
   */
  async unmark(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; codeVersion: number; token: string },
  ): Promise<void> {
    await this.redis.srem(
      performanceKeys(performanceId).checkedIn(purchaseId),
      checkInMarkMember(seat.seatId, seat.codeVersion, seat.token),
    );
  }

  /**
   * Takes back the Redis side of the check-in `checkIn` of `seat` (check-in-undo.lua), unless the
   * purchase or its performance was canceled (then nothing changes): removes the mark of the scan
   * PostgreSQL recorded (`checkIn.markToken`; for a check-in made before tokens, the marks an earlier
   * version set) and records the check-in as undone for `lifetimeSeconds`, so a cancel that read it
   * from PostgreSQL before the undo leaves it out.
   */
  undo(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; codeVersion: number },
    checkIn: { identity: string; markToken: string | null },
    lifetimeSeconds: number,
  ): Promise<UndoCheckInResult> {
    const marks =
      checkIn.markToken === null
        ? [checkInMarkMember(seat.seatId, seat.codeVersion, null), String(seat.seatId)]
        : [checkInMarkMember(seat.seatId, seat.codeVersion, checkIn.markToken)];
    return undoCheckIn(
      this.redis,
      performanceKeys(performanceId),
      purchaseId,
      checkInEntry(seat.seatId, checkIn.identity),
      marks,
      lifetimeSeconds,
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
