import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { defineScripts } from '@app/redis';
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
import { assertPerformanceId, assertSeatIds, assertUserId, isUuid } from '../input';
import { holdPointerKey, performanceKeys } from '../redis-keys';
import { Hold, holdFromRecord } from './hold';
import { HOLD_SEATS, holdSeats, RELEASE_HOLD, releaseHold } from './hold-scripts';

/** How long a hold stays readable (GET /reservations/:id) after it has ended. */
export const HOLD_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Atomic, all-or-nothing seat holds that expire on Redis time. */
@Injectable()
export class HoldService {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Env) private readonly env: Env,
  ) {
    defineScripts(redis, [HOLD_SEATS, RELEASE_HOLD]);
  }

  async hold(userId: string, performanceId: number, seatIds: number[]): Promise<Hold> {
    assertUserId(userId);
    assertPerformanceId(performanceId);
    // Asking for more seats than a hold may have is a limit, not malformed input.
    if (Array.isArray(seatIds) && seatIds.length > this.env.MAX_SEATS_PER_RESERVATION) {
      throw new HoldLimitExceededError(this.env.MAX_SEATS_PER_RESERVATION, 0, seatIds.length);
    }
    assertSeatIds(seatIds, this.env.MAX_SEATS_PER_RESERVATION);

    const holdId = randomUUID();
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
    // Written after the hold: until this answer is sent nobody knows the hold id, so a crash
    // in between leaves only a hold that expires unseen.
    await this.redis.set(holdPointerKey(holdId), String(performanceId), 'PX', lifetimeMs + HOLD_RETENTION_MS);
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
    // Redis TIME, read in the same round trip, is the clock that decides EXPIRED.
    const replies = await this.redis.pipeline().hgetall(performanceKeys(performanceId).hold(holdId)).time().exec();
    const [[recordError, record], [timeError, time]] = replies as [Error | null, unknown][];
    if (recordError || timeError) throw recordError ?? timeError;
    const fields = record as Record<string, string>;
    if (fields.userId !== userId) throw new NotFoundError('reservation');
    const [seconds, micros] = (time as string[]).map(Number);
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
    const performanceId = isUuid(holdId) ? await this.redis.get(holdPointerKey(holdId)) : null;
    if (performanceId === null) throw new NotFoundError('reservation');
    return Number(performanceId);
  }
}
