import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { callScript } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { PresaleWindow, presaleAllocationFields, presaleMetaField } from './presale-fields';
import { PUT_PRESALE } from './presale-scripts';

/**
 * A performance's presales in its meta hash, where the hold scripts check access codes and count
 * each presale's seats taken against its allocation (a few fields each).
 */
@Injectable()
export class PresaleStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Writes `presale` (its window, code and allocation) into the performance's meta hash
   * (put-presale.lua); its count of seats taken starts at 0 and is kept by a later write (a change
   * of its allocation). Its own fields only, so presales written concurrently never overwrite each
   * other. A performance not registered in Redis gets nothing (its registration or rebuild writes
   * every presale): false then. `takenToRestore`: the count to give it instead (a presale put back
   * after a delete whose commit failed: PresaleService), written in the same script run as its code.
   */
  async put(performanceId: number, presale: PresaleWindow, takenToRestore?: number): Promise<boolean> {
    const [, value] = presaleMetaField(presale);
    const args = [presale.id, value, presale.maxSeats == null ? '' : String(presale.maxSeats)];
    if (takenToRestore !== undefined) args.push(String(Math.max(0, Math.trunc(takenToRestore))));
    return (await callScript<number>(this.redis, PUT_PRESALE.name, [performanceKeys(performanceId).meta], args)) === 1;
  }

  /** Removes the presale `presaleId` (its code, allocation and count) from the performance's meta hash. */
  async remove(performanceId: number, presaleId: string): Promise<void> {
    const { max, taken } = presaleAllocationFields(presaleId);
    await this.redis.hdel(performanceKeys(performanceId).meta, `presale:${presaleId}`, max, taken);
  }

  /**
   * Seats taken under each of `presaleIds` (held and sold, not given back), as the hold scripts
   * count them; 0 for a presale without a count (none taken, or the performance not registered).
   */
  async seatsTaken(performanceId: number, presaleIds: readonly string[]): Promise<number[]> {
    if (presaleIds.length === 0) return [];
    const counts = await this.redis.hmget(
      performanceKeys(performanceId).meta,
      ...presaleIds.map((id) => presaleAllocationFields(id).taken),
    );
    return counts.map((count) => Math.max(0, Number(count ?? 0)));
  }
}
