import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { AvailabilityCounting, SeatIdRange, sectionAvailability } from './section-scripts';

/**
 * The stepwise count of available seats per section: a count answers for 2 s, then each read
 * scans 500 more seats (measured 2–8 ms of Redis per step on the shared 2-core host, where a
 * whole pass over 50,000 seats takes 160–440 ms) and answers the last complete count until a
 * new pass ends; so no read stalls Redis for long, and while buyers keep reading the count is
 * about 2 s plus one pass old. A count older than 30 s (nobody read it) is redone whole at once.
 */
export const SECTION_COUNTING: AvailabilityCounting = { keepMs: 2000, step: 500, wholeAfterMs: 30_000 };

/** Section prices and availability in the live seat state (Redis). */
@Injectable()
export class SectionStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Available seats per section, in the order of `sections` (disjoint id ranges with their sizes,
   * ascending), or null when the performance is not registered. One round trip, short whatever
   * the performance's size (SECTION_COUNTING); while readers keep coming the count is about 2 s
   * plus one pass old, shared by every replica. Each count is clamped to 0 … the
   * section's size (a pass sees the letters change under it).
   */
  async available(
    performanceId: number,
    sections: readonly (SeatIdRange & { seatsTotal: number })[],
  ): Promise<number[] | null> {
    const counts = await sectionAvailability(this.redis, performanceKeys(performanceId), SECTION_COUNTING, sections);
    return counts && sections.map((section, i) => Math.min(section.seatsTotal, Math.max(0, counts[i] ?? 0)));
  }

  /**
   * Sets the price (minor units) new holds of these seats pay, in one HSET: atomic, so every hold
   * script run reads either all the old prices or all the new ones (a hold's amount is summed
   * from this hash inside its script and kept on the hold; a purchase charges the hold's amount).
   * One command of 2·n arguments: a 50,000-seat section blocks Redis for some milliseconds, once.
   */
  async setPrices(performanceId: number, seatIds: readonly number[], price: number): Promise<void> {
    if (seatIds.length === 0) return;
    const fields: (string | number)[] = [];
    for (const id of seatIds) fields.push(id, price);
    await this.redis.hset(performanceKeys(performanceId).prices, ...fields);
  }
}
