import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { isCluster, sendAcrossSlots } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceOfId } from '../ids';
import { isUuid } from '../input';
import { holdPointerKey, performanceKeys, userHoldPerformancesKey } from '../redis-keys';
import { holdBestAvailable, HoldBestAvailableRequest, HoldBestAvailableResult } from './best-available-scripts';
import {
  holdCompSeats,
  HoldCompSeatsRequest,
  HoldCompSeatsResult,
  HoldScriptHead,
  holdSeats,
  HoldSeatsRequest,
  HoldSeatsResult,
  indexHold,
  releaseHold,
  ReleaseHoldResult,
} from './hold-scripts';

/** Clock skew between an API process and Redis the user-holds index tolerates (ms). */
const INDEX_SLACK_MS = 60_000;

/**
 * The user's index entry for a hold: the index key and a score past the hold's expiry by
 * {@link INDEX_SLACK_MS} of clock skew between us and Redis (epoch ms). Every hold has the same
 * lifetime, so a later entry's score is the larger (within the slack).
 */
function indexEntry(request: { userId: string; lifetimeMs: number }): { key: string; until: number } {
  return { key: userHoldPerformancesKey(request.userId), until: Date.now() + request.lifetimeMs + INDEX_SLACK_MS };
}

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

  /**
   * Holds all of the request's seats or none (`hold-seats.lua`), in one round trip, with the
   * user's index of performances with holds (see {@link indexEntry}). On a single Redis the
   * script writes the entry with the hold; on a Redis Cluster the index lies in the user's slot,
   * so `index-hold.lua` writes it first on the same connection (it reaches Redis before the hold,
   * and a crash between the two leaves only an entry without a hold, which readers skip).
   */
  hold(request: HoldSeatsRequest): Promise<HoldSeatsResult> {
    return this.withUserIndex(request, (scripted) =>
      holdSeats(this.redis, performanceKeys(request.performanceId), scripted),
    );
  }

  /**
   * Picks and holds the best available seats (`hold-best-available.lua`), the user's index
   * written exactly as {@link hold} writes it.
   */
  holdBestAvailable(request: HoldBestAvailableRequest): Promise<HoldBestAvailableResult> {
    return this.withUserIndex(request, (scripted) =>
      holdBestAvailable(this.redis, performanceKeys(request.performanceId), scripted),
    );
  }

  /**
   * Holds a comp's seats for its recipient, all or none (`hold-comp-seats.lua`: no sales window or
   * per-user limits, every seat priced 0, the operator's note on the hold). Not written to the
   * recipient's holds nor their index: the hold is the comp path's, never listed to the recipient.
   */
  holdComp(request: HoldCompSeatsRequest): Promise<HoldCompSeatsResult> {
    return holdCompSeats(this.redis, performanceKeys(request.performanceId), request);
  }

  /**
   * Runs a hold script (`run`) with the user's index entry of `request` ({@link indexEntry}):
   * passed to the script on a single Redis, written by `index-hold.lua` first on a Cluster.
   */
  private withUserIndex<R extends Pick<HoldScriptHead, 'userId' | 'performanceId' | 'lifetimeMs' | 'userIndex'>, T>(
    request: R,
    run: (scripted: R) => Promise<T>,
  ): Promise<T> {
    const index = indexEntry(request);
    if (!isCluster(this.redis)) return run({ ...request, userIndex: index });
    const indexed = indexHold(this.redis, index.key, index.until, request.performanceId);
    return Promise.all([indexed, run(request)]).then(([, result]) => result);
  }

  /**
   * Every hold of the user that may be live, with Redis TIME (epoch ms): the performances come
   * from the user's index, the hold ids from each performance's user-holds hash, then the
   * records; three round trips whatever the number of holds. Entries past their score are
   * dropped from the index on the way. The caller decides which holds are still live.
   */
  async userHolds(userId: string): Promise<{ holds: { id: string; record: Record<string, string> }[]; now: number }> {
    const indexKey = userHoldPerformancesKey(userId);
    const [[, performanceIds], [, time]] = (await this.redis
      .multi()
      .zremrangebyscore(indexKey, '-inf', Date.now() - INDEX_SLACK_MS)
      .zrange(indexKey, 0, -1)
      .time()
      .exec()
      .then((replies) => replies!.slice(1))) as [[unknown, string[]], [unknown, string[]]];
    const now = redisMillis(time);
    if (performanceIds.length === 0) return { holds: [], now };

    // The performances lie in different Cluster slots (see sendAcrossSlots).
    const idReplies = await sendAcrossSlots(
      this.redis,
      performanceIds.map((performanceId) => ['hkeys', performanceKeys(Number(performanceId)).userHolds(userId)]),
    );
    const idLists = idReplies.map(([error, ids]) => (error ? [] : (ids as string[])));
    const wanted = idLists.flatMap((ids, i) => ids.map((id) => ({ id, performanceId: Number(performanceIds[i]) })));
    if (wanted.length === 0) return { holds: [], now };

    const records = await sendAcrossSlots(
      this.redis,
      wanted.map(({ id, performanceId }) => ['hgetall', performanceKeys(performanceId).hold(id)]),
    );
    const holds = wanted
      .map(({ id }, i) => ({ id, record: (records[i][1] ?? {}) as Record<string, string> }))
      .filter(({ record }) => record.userId === userId);
    return { holds, now };
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

  /**
   * Ends the caller's live hold now (`release-hold.lua`); `operator`: on the operator path, the only
   * one that releases an operator's hold (a comp's, a box office sale's), and releases nothing else.
   */
  release(performanceId: number, holdId: string, userId: string, operator = false): Promise<ReleaseHoldResult> {
    return releaseHold(this.redis, performanceKeys(performanceId), holdId, userId, operator);
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
