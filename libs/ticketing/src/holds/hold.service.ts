import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import {
  HoldExpiredError,
  HoldLimitExceededError,
  HoldPurchasedError,
  HoldReleasedError,
  NotFoundError,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
} from '../errors';
import { fitsId, newIdOf, performanceOfId } from '../ids';
import { assertPerformanceId, assertSeatIds, assertUserId, isUuid } from '../input';
import { holdPointerKey, performanceKeys } from '../redis-keys';
import { defineTicketingScripts } from '../lua-scripts';
import { Hold, holdFromRecord } from './hold';
import { holdSeats, releaseHold } from './hold-scripts';

/** How long a hold stays readable (GET /reservations/:id) after it has ended. */
export const HOLD_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Atomic, all-or-nothing seat holds that expire on Redis time. */
@Injectable()
export class HoldService {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Env) private readonly env: Env,
  ) {
    defineTicketingScripts(redis);
  }

  /**
   * Holds all of `seatIds` for the caller, or none, in one Redis round trip. The hold's id
   * carries `performanceId` (`../ids.ts`). Throws InvalidInputError, NotFoundError (performance
   * or seats), SalesNotOpenError, SalesClosedError, SeatsUnavailableError, HoldLimitExceededError.
   */
  async hold(userId: string, performanceId: number, seatIds: number[]): Promise<Hold> {
    assertUserId(userId);
    assertPerformanceId(performanceId);
    // Asking for more seats than a hold may have is a limit, not malformed input.
    if (Array.isArray(seatIds) && seatIds.length > this.env.MAX_SEATS_PER_RESERVATION) {
      throw new HoldLimitExceededError(this.env.MAX_SEATS_PER_RESERVATION, 0, seatIds.length);
    }
    assertSeatIds(seatIds, this.env.MAX_SEATS_PER_RESERVATION);

    // No performance id beyond what an id carries exists (PostgreSQL integer).
    if (!fitsId(performanceId)) throw new NotFoundError('performance', { performanceId });
    // The id carries the performance: the hold is found by its id without a pointer key.
    const holdId = newIdOf(performanceId);
    const lifetimeMs = this.env.RESERVATION_TTL_SECONDS * 1000;
    const result = await holdSeats(this.redis, performanceKeys(performanceId), {
      holdId,
      userId,
      performanceId,
      seatIds,
      lifetimeMs,
      userLimit: this.env.MAX_SEATS_PER_RESERVATION,
      retentionMs: HOLD_RETENTION_MS,
    });
    switch (result.outcome) {
      case 'NO_PERFORMANCE':
        throw new NotFoundError('performance', { performanceId });
      case 'UNKNOWN_SEATS':
        throw new NotFoundError('seat', { performanceId, seatIds: result.seatIds });
      case 'SALES_NOT_OPEN':
        throw new SalesNotOpenError(new Date(result.salesOpenAt));
      case 'SALES_CLOSED':
        throw new SalesClosedError();
      case 'UNAVAILABLE':
        throw new SeatsUnavailableError(result.seatIds);
      case 'LIMIT':
        throw new HoldLimitExceededError(this.env.MAX_SEATS_PER_RESERVATION, result.alreadyHeld, seatIds.length);
    }
    return {
      id: holdId,
      performanceId,
      userId,
      seatIds,
      amount: result.amount,
      currency: result.currency,
      status: 'HELD',
      expiresAt: new Date(result.expiresAt),
    };
  }

  /** The caller's hold; anyone else's, or an unknown id, is not found. */
  async get(userId: string, holdId: string): Promise<Hold> {
    const performanceId = await this.performanceOf(holdId);
    // Redis TIME, read in the same round trip, is the clock that decides EXPIRED. Two concurrent
    // commands cost the client less CPU than a pipeline object (docs/performance.md).
    const [fields, time] = await Promise.all([
      this.redis.hgetall(performanceKeys(performanceId).hold(holdId)),
      this.redis.time(),
    ]);
    if (fields.userId !== userId) throw new NotFoundError('reservation');
    const [seconds, micros] = time.map(Number);
    return holdFromRecord(holdId, fields, seconds * 1000 + Math.floor(micros / 1000));
  }

  /** Frees the caller's live hold now; a hold that has ended already (released too) is a conflict. */
  async release(userId: string, holdId: string): Promise<void> {
    const performanceId = await this.performanceOf(holdId);
    const result = await releaseHold(this.redis, performanceKeys(performanceId), holdId, userId);
    switch (result) {
      case 'NOT_FOUND':
        throw new NotFoundError('reservation');
      case 'ALREADY_RELEASED':
        throw new HoldReleasedError();
      case 'EXPIRED':
        throw new HoldExpiredError();
      case 'PURCHASED':
        throw new HoldPurchasedError();
    }
  }

  private async performanceOf(holdId: string): Promise<number> {
    const performanceId = await performanceOfHold(this.redis, holdId);
    if (performanceId === null) throw new NotFoundError('reservation');
    return performanceId;
  }
}

/**
 * The performance of a hold, from its id; for an id without the layout of `../ids.ts` (a hold
 * made by the previous version, during a rolling upgrade) from the pointer key that version
 * wrote — one Redis round trip then. Null when neither tells (unknown, or not a UUID at all).
 */
export async function performanceOfHold(redis: Redis, holdId: string): Promise<number | null> {
  const performanceId = performanceOfId(holdId);
  if (performanceId !== null || !isUuid(holdId)) return performanceId;
  const pointer = await redis.get(holdPointerKey(holdId));
  return pointer === null ? null : Number(pointer);
}
