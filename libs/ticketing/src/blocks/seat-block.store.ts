import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { OPERATOR_REDIS, waitForReplicas } from '@app/redis';
import { assertPerformanceId } from '../input';
import { defineTicketingScripts } from '../lua-scripts';
import { performanceKeys } from '../redis-keys';
import { BlockOutcome, blockSeats, ReleaseOutcome, releaseSeatBlocks } from './seat-block-scripts';

/**
 * The Redis side of operators' blocked seats: the seat letters (B) and the replicas' confirmation,
 * all on OPERATOR_REDIS (see there): the `WAIT` counts the writes of its own connection, and no
 * hold or seat page of the process queues behind it.
 */
@Injectable()
export class SeatBlockStore {
  constructor(@Inject(OPERATOR_REDIS) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** Blocks `seatIds` (distinct) all or none, or with `onlyFree` those not held nor sold; see block-seats.lua. */
  block(
    performanceId: number,
    seatIds: readonly number[],
    options: { onlyFree?: boolean } = {},
  ): Promise<BlockOutcome> {
    assertPerformanceId(performanceId);
    return blockSeats(this.redis, performanceKeys(performanceId), seatIds, options);
  }

  /** Makes those of `seatIds` (distinct) that are blocked available; see release-seat-blocks.lua. */
  release(performanceId: number, seatIds: readonly number[]): Promise<ReleaseOutcome> {
    assertPerformanceId(performanceId);
    return releaseSeatBlocks(this.redis, performanceKeys(performanceId), seatIds);
  }

  /**
   * How many replicas confirmed every write this connection made to the performance's primary
   * (the block or release just written among them), WAITing at most `timeoutMs` for `replicas`.
   */
  replicated(performanceId: number, replicas: number, timeoutMs: number): Promise<number> {
    assertPerformanceId(performanceId);
    return waitForReplicas(this.redis, performanceKeys(performanceId).meta, replicas, timeoutMs);
  }
}
