import { Injectable, Logger } from '@nestjs/common';
import { PerformanceRepository } from '@app/database';
import { SeatStateStore } from './seat-state.store';

/** What {@link SalesClosureSettler.settle} did. */
export type ClosureSettlement =
  /** No closure, or only leases (lapsed ones dropped): those end on their own. */
  | 'LEASED'
  /** Entries without deadline kept: a transaction that may delete the performance is under way. */
  | 'BUSY'
  /** Entries without deadline dropped: their closers' transactions ended, the performance stands. */
  | 'REOPENED'
  /** The performance is gone from PostgreSQL (its delete committed): its live state removed. */
  | 'REMOVED';

/**
 * Settles the closures to sales that do not lapse by themselves (the sales-closure include): a
 * delete's, made final right before its commit, whose process died before it removed the keys or
 * reopened; and those an older version wrote, which had no deadline. Asked per performance by the
 * seat reconciler (`batch`). Whether such a closer may still commit is PostgreSQL's to say: once
 * no transaction holds the performance's or its event's row FOR UPDATE (every closer does while
 * it can commit), a performance gone was deleted (its keys are removed, as its delete would have),
 * and one still there was not (its closure dropped, while the rows are held FOR SHARE, so no new
 * delete is under way meanwhile). Lapsed leases are dropped on the way.
 */
@Injectable()
export class SalesClosureSettler {
  private readonly logger = new Logger(SalesClosureSettler.name);

  constructor(
    private readonly seatState: SeatStateStore,
    private readonly performances: PerformanceRepository,
  ) {}

  async settle(performanceId: number): Promise<ClosureSettlement> {
    const closers = await this.seatState.salesClosers(performanceId);
    if (closers.length === 0) return 'LEASED';
    const final = closers.filter((entry) => !entry.includes(':'));
    if (final.length < closers.length) await this.seatState.reopenSales(performanceId, '');
    if (final.length === 0) return 'LEASED';
    const settled = await this.performances.whenNoCloser(performanceId, async (exists): Promise<ClosureSettlement> => {
      if (!exists) {
        await this.seatState.removePerformance(performanceId);
        return 'REMOVED';
      }
      for (const token of final) await this.seatState.reopenSales(performanceId, token);
      return 'REOPENED';
    });
    if (settled === 'REMOVED' || settled === 'REOPENED') {
      this.logger.warn(
        settled === 'REMOVED'
          ? `performance ${performanceId}: deleted, its live state left behind by its delete; removed`
          : `performance ${performanceId}: sales closed by a closer that ended without reopening (${final.join(', ')}); reopened`,
      );
    }
    return settled ?? 'BUSY';
  }
}
