import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { PERFORMANCE_REGISTRY_KEY, performanceKeys } from '../redis-keys';
import { defineTicketingScripts } from '../lua-scripts';
import { expireHolds } from './hold-scripts';

/**
 * Frees the seats of expired holds. Safe to run in any number of processes at once: the
 * script re-checks every candidate, so each hold is ended, and each seat freed, once.
 */
@Injectable()
export class HoldSweeper {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** Ends up to `batchSize` expired holds per performance; returns how many it ended. */
  async sweepOnce(batchSize = 500): Promise<number> {
    const performanceIds = (await this.redis.smembers(PERFORMANCE_REGISTRY_KEY)).map(Number);
    if (performanceIds.length === 0) return 0;
    const [seconds, micros] = (await this.redis.time()).map(Number);
    const now = seconds * 1000 + Math.floor(micros / 1000);

    // One round trip reads the due holds of every performance; most have none. The expiry
    // indexes lie in different Cluster slots (see sendAcrossSlots).
    const replies = await sendAcrossSlots(
      this.redis,
      performanceIds.map((id) => ['zrangebyscore', performanceKeys(id).expiry, '-inf', now, 'LIMIT', 0, batchSize]),
    );

    const expired = await Promise.all(
      performanceIds.map(async (id, index) => {
        const [error, holdIds] = replies[index];
        if (error) throw error;
        if ((holdIds as string[]).length === 0) return 0;
        return (await expireHolds(this.redis, performanceKeys(id), holdIds as string[])).holds;
      }),
    );
    return expired.reduce((sum, count) => sum + count, 0);
  }
}
