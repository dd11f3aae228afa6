import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { defineTicketingScripts } from '../lua-scripts';
import { idempotencyKey } from '../redis-keys';
import { digestOfKey } from './idempotency';
import type { Purchase } from './purchase';
import {
  claimIdempotencyKey,
  ClaimIdempotencyKeyResult,
  releaseIdempotencyClaim,
  renewIdempotencyClaim,
} from './purchase-scripts';

/** Idempotency-Key records in Redis: a request's claim while it works, then its answer. */
@Injectable()
export class IdempotencyStore {
  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
  }

  /** The Redis key of the user's record for `key` (the key as a digest). */
  recordOf(userId: string, key: string): string {
    return idempotencyKey(userId, digestOfKey(key));
  }

  /** Sets `claim` on the record for `leaseMs` unless the record exists; else answers the record. */
  claim(record: string, claim: string, leaseMs: number): Promise<ClaimIdempotencyKeyResult> {
    return claimIdempotencyKey(this.redis, record, claim, leaseMs);
  }

  /** Gives `claim` a full lease (ms) again if it is still on the record; true when it was. */
  renew(record: string, claim: string, leaseMs: number): Promise<boolean> {
    return renewIdempotencyClaim(this.redis, record, claim, leaseMs);
  }

  /** Drops `claim` from the record if it is still there; true when it was. */
  release(record: string, claim: string): Promise<boolean> {
    return releaseIdempotencyClaim(this.redis, record, claim);
  }

  /**
   * Replaces the claim with the answer, `purchase` as JSON with the request's `paymentTokenDigest`
   * (digestOfPaymentToken), kept `ttlSeconds`.
   */
  async answer(
    record: string,
    purchase: Purchase,
    paymentTokenDigest: string | null,
    ttlSeconds: number,
  ): Promise<void> {
    await this.redis.set(record, JSON.stringify({ ...purchase, paymentTokenDigest }), 'EX', ttlSeconds);
  }
}
