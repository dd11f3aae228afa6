import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { callScript } from '@app/redis';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { PresaleWindow, presaleMetaField } from './presale-fields';
import { PUT_PRESALE } from './presale-scripts';

/** A performance's presales in its meta hash, where the hold scripts check access codes (one field each). */
@Injectable()
export class PresaleStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /**
   * Writes `presale` into the performance's meta hash (put-presale.lua). One field, so presales
   * written concurrently never overwrite each other. A performance not registered in Redis gets
   * nothing (its registration or rebuild writes every presale): false then.
   */
  async put(performanceId: number, presale: PresaleWindow): Promise<boolean> {
    const [field, value] = presaleMetaField(presale);
    return (
      (await callScript<number>(
        this.redis,
        PUT_PRESALE.name,
        [performanceKeys(performanceId).meta],
        [field, value],
      )) === 1
    );
  }

  /** Removes the presale `presaleId` from the performance's meta hash (nothing when it is not there). */
  async remove(performanceId: number, presaleId: string): Promise<void> {
    await this.redis.hdel(performanceKeys(performanceId).meta, `presale:${presaleId}`);
  }
}
