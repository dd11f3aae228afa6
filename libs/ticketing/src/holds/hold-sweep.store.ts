import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys } from '../redis-keys';
import { defineTicketingScripts } from '../lua-scripts';
import { expireHolds } from './hold-scripts';
import { redisMillis } from './hold.store';

/** The Redis side of the sweep of expired holds. Which holds to end, and when, is HoldSweeper's. */
@Injectable()
export class HoldSweepStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** The ids of every performance registered in Redis (the performance registry). */
  async performanceIds(): Promise<number[]> {
    return (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
  }

  /** Redis TIME, the clock hold expiries are kept in (epoch ms). */
  async now(): Promise<number> {
    return redisMillis(await this.redis.time());
  }

  /**
   * Per performance, in the order given, the ids of up to `limit` holds whose expiry (epoch ms)
   * is at or before `until`, earliest first. One round trip: the expiry indexes lie in different
   * Cluster slots (see sendAcrossSlots). Rejects with the first performance's read that failed.
   */
  async dueHolds(performanceIds: number[], until: number, limit: number): Promise<string[][]> {
    const replies = await sendAcrossSlots(
      this.redis,
      performanceIds.map((id) => ['zrangebyscore', performanceKeys(id).expiry, '-inf', until, 'LIMIT', 0, limit]),
    );
    return replies.map(([error, holdIds]) => {
      if (error) throw error;
      return holdIds as string[];
    });
  }

  /**
   * Ends those of `holdIds` that are still held and expired by Redis TIME, and frees their seats
   * (expire-holds.lua, which checks each again); returns how many holds it ended.
   */
  async expire(performanceId: number, holdIds: string[]): Promise<number> {
    return (await expireHolds(this.redis, performanceKeys(performanceId), holdIds)).holds;
  }
}
