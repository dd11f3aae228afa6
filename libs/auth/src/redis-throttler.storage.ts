import { join } from 'node:path';
import { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';
import { callScript, defineScripts, LuaScript } from '@app/redis';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const INCREMENT: LuaScript = {
  name: 'throttlerIncrement',
  file: join(__dirname, 'throttler-increment.lua'),
};

/**
 * @nestjs/throttler storage in Redis, so a limit holds across all API replicas. One Lua script
 * counts and blocks atomically.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly redis: Redis) {
    defineScripts(redis, [INCREMENT]);
  }

  /** `ttl` and `blockDuration` are in ms; the record's times are in seconds, as Retry-After wants. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    // The hash tag keeps both keys in one Redis Cluster slot, so the script stays atomic there.
    const base = `throttle:{${throttlerName}:${key}}`;
    const [hits, windowMs, blocked, blockMs] = await callScript<[number, number, number, number]>(
      this.redis,
      INCREMENT.name,
      [`${base}:hits`, `${base}:blocked`],
      [ttl, limit, blockDuration],
    );
    return {
      totalHits: hits,
      timeToExpire: Math.ceil(windowMs / 1000),
      isBlocked: blocked === 1,
      timeToBlockExpire: Math.ceil(blockMs / 1000),
    };
  }
}
