import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { performanceKeys } from '../redis-keys';
import { PresaleWindow, presaleMetaField } from './presale-fields';

/** A performance's presales in its meta hash, where the hold scripts check access codes (one field each). */
@Injectable()
export class PresaleStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /**
   * Writes `presale` into the performance's meta hash. One field, so presales written
   * concurrently never overwrite each other. On a performance not registered in Redis it adds a
   * field to a meta hash that stays unregistered (no currency); its rebuild writes every presale.
   */
  async put(performanceId: number, presale: PresaleWindow): Promise<void> {
    const [field, value] = presaleMetaField(presale);
    await this.redis.hset(performanceKeys(performanceId).meta, field, value);
  }

  /** Removes the presale `presaleId` from the performance's meta hash (nothing when it is not there). */
  async remove(performanceId: number, presaleId: string): Promise<void> {
    await this.redis.hdel(performanceKeys(performanceId).meta, `presale:${presaleId}`);
  }
}
