import { Injectable } from '@nestjs/common';
import { HoldSweepStore } from './hold-sweep.store';

/**
 * Frees the seats of expired holds. Safe to run in any number of processes at once: the
 * script re-checks every candidate, so each hold is ended, and each seat freed, once.
 */
@Injectable()
export class HoldSweeper {
  constructor(private readonly store: HoldSweepStore) {}

  /**
   * Ends up to `batchSize` holds per performance that are due by Redis TIME (the clock their
   * expiry is kept in); returns how many it ended.
   */
  async sweepOnce(batchSize = 500): Promise<number> {
    const performanceIds = await this.store.performanceIds();
    if (performanceIds.length === 0) return 0;
    const now = await this.store.now();
    // One read of the due holds of every performance; most have none, and cost no script call.
    const due = await this.store.dueHolds(performanceIds, now, batchSize);
    const expired = await Promise.all(
      performanceIds.map((id, index) => (due[index].length === 0 ? 0 : this.store.expire(id, due[index]))),
    );
    return expired.reduce((sum, count) => sum + count, 0);
  }
}
