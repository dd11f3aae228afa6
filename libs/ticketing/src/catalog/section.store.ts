import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { SeatIdRange, sectionAvailability } from './section-scripts';

/** How long a computed per-section availability is served from Redis before it is counted again (ms). */
export const SECTION_AVAILABILITY_TTL_MS = 1000;

/** Section prices and availability in the live seat state (Redis). */
@Injectable()
export class SectionStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Available seats per section, in the order of `sections` (disjoint id ranges, ascending), or
   * null when the performance is not registered. One round trip; the answer is at most
   * SECTION_AVAILABILITY_TTL_MS old (one pass over the performance's seats per interval, shared
   * by every replica).
   */
  available(performanceId: number, sections: readonly SeatIdRange[]): Promise<number[] | null> {
    return sectionAvailability(this.redis, performanceKeys(performanceId), SECTION_AVAILABILITY_TTL_MS, sections);
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
