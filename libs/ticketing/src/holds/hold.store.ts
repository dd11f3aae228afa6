import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceOfId } from '../ids';
import { isUuid } from '../input';
import { holdPointerKey, performanceKeys } from '../redis-keys';
import { holdSeats, HoldSeatsRequest, HoldSeatsResult, releaseHold, ReleaseHoldResult } from './hold-scripts';

/** A hold's hash as Redis holds it, with Redis TIME (epoch ms) read in the same round trip. */
export interface StoredHold {
  /** Empty when there is no such hold. */
  record: Record<string, string>;
  now: number;
}

/** Holds in Redis: the hold and release scripts and the hold records. The rules are in HoldService. */
@Injectable()
export class HoldStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** Holds all of the request's seats or none (`hold-seats.lua`), in one round trip. */
  hold(request: HoldSeatsRequest): Promise<HoldSeatsResult> {
    return holdSeats(this.redis, performanceKeys(request.performanceId), request);
  }

  /**
   * The hold's record and Redis TIME, the clock that decides EXPIRED. Two concurrent commands
   * cost the client less CPU than a pipeline object (docs/performance.md).
   */
  async read(performanceId: number, holdId: string): Promise<StoredHold> {
    const [record, time] = await Promise.all([
      this.redis.hgetall(performanceKeys(performanceId).hold(holdId)),
      this.redis.time(),
    ]);
    return { record, now: redisMillis(time) };
  }

  /** Ends the caller's live hold now (`release-hold.lua`). */
  release(performanceId: number, holdId: string, userId: string): Promise<ReleaseHoldResult> {
    return releaseHold(this.redis, performanceKeys(performanceId), holdId, userId);
  }

  /** See {@link performanceOfHold}. */
  performanceOf(holdId: string): Promise<number | null> {
    return performanceOfHold(this.redis, holdId);
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

/** A Redis TIME reply (seconds, microseconds) in epoch ms. */
export function redisMillis(time: (string | number)[]): number {
  const [seconds, micros] = time.map(Number);
  return seconds * 1000 + Math.floor(micros / 1000);
}
