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
  unmarkTransfers,
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
   * Whether the ticket of seat `seatId` of the purchase is void in Redis, as check-in-mark.lua and
   * transfer-mark.lua read it: the purchase CANCELED, or the seat in its `refundedSeats` (an
   * operator's partial refund); either PostgreSQL may not have yet (its write behind is `batch`'s
   * flush). False also once Redis no longer holds the purchase (written to PostgreSQL and expired:
   * PostgreSQL says the rest).
   */
  async ticketCanceled(performanceId: number, purchaseId: string, seatId: number): Promise<boolean> {
    const [status, refundedSeats] = await this.redis.hmget(
      performanceKeys(performanceId).purchase(purchaseId),
      'status',
      'refundedSeats',
    );
    return voidInRedis(status, refundedSeats, seatId);
  }

  /**
   * When seat `seatId` of the purchase is sold by Redis and its sale may not be in PostgreSQL yet:
   * the purchase PAID with that seat, not refunded from it; its sale time (epoch ms, Redis's
   * clock). Null otherwise, also once Redis no longer holds the purchase.
   */
  async saleAwaitingWrite(performanceId: number, purchaseId: string, seatId: number): Promise<number | null> {
    const [status, seats, refundedSeats, createdAt] = await this.redis.hmget(
      performanceKeys(performanceId).purchase(purchaseId),
      'status',
      'seats',
      'refundedSeats',
      'createdAt',
    );
    if (status !== 'PAID' || seats === null || createdAt === null) return null;
    if (!seats.split(',').includes(String(seatId)) || voidInRedis(status, refundedSeats, seatId)) return null;
    return Number(createdAt);
  }

  /**
   * Of `tickets`, those void in Redis, each read as `ticketCanceled` reads one (a buyer's cancel or an
   * operator's refund, whole or partial, before `batch` writes it behind), as a test of a purchase id
   * and seat id. One HMGET per purchase, sent together: one pipeline on a single Redis, and on a
   * Cluster each to its slot's primary, all in flight at once (purchases of different performances
   * lie in different slots; see sendAcrossSlots). No command for an empty list.
   */
  async canceledAmong(
    tickets: readonly { performanceId: number; purchaseId: string; seatId: number }[],
  ): Promise<(purchaseId: string, seatId: number) => boolean> {
    const purchases = new Map<string, number>();
    for (const { performanceId, purchaseId } of tickets) purchases.set(purchaseId, performanceId);
    const ids = [...purchases.keys()];
    const replies = await sendAcrossSlots(
      this.redis,
      ids.map((purchaseId) => [
        'hmget',
        performanceKeys(purchases.get(purchaseId) as number).purchase(purchaseId),
        'status',
        'refundedSeats',
      ]),
    );
    const states = new Map<string, [string | null, string | null]>();
    replies.forEach(([error, state], i) => {
      if (error) throw error;
      states.set(ids[i], state as [string | null, string | null]);
    });
    return (purchaseId, seatId) => {
      const state = states.get(purchaseId);
      return state !== undefined && voidInRedis(state[0], state[1], seatId);
    };
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
   * Marks `seatId` of the purchase as given away by the accept of transfer `transferId` for
   * `lifetimeSeconds`, unless the purchase or its performance was canceled or the seat refunded
   * (transfer-mark.lua): a buyer's cancel of the purchase is refused from then on. `added`: false
   * when the seat was marked already.
   */
  markTransfer(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; transferId: string },
    lifetimeSeconds: number,
  ): Promise<CheckInMarkResult> {
    return markTransfer(this.redis, performanceKeys(performanceId), purchaseId, seat, lifetimeSeconds);
  }

  /**
   * Takes back the transfer mark of `seat.seatId` of the purchase (an accept PostgreSQL refused), only
   * while the accept of `seat.transferId` set it last (unmark-transfers.lua): a mark a newer accept
   * of the ticket set meanwhile is kept.
   */
  async unmarkTransfer(
    performanceId: number,
    purchaseId: string,
    seat: { seatId: number; transferId: string },
  ): Promise<void> {
    await unmarkTransfers(this.redis, performanceKeys(performanceId), purchaseId, [seat]);
  }
}

/** A purchase's Redis `status` and `refundedSeats` (comma-separated) void the ticket of `seatId`. */
function voidInRedis(status: string | null, refundedSeats: string | null, seatId: number): boolean {
  if (status === 'CANCELED') return true;
  return (refundedSeats ?? '').split(',').includes(String(seatId));
}
