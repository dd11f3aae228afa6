import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { Env } from '@app/config';
import {
  HOLD_RETENTION_MS,
  holdPointerKey,
  performanceKeys,
  purchasePointerKey,
  userPurchasesKey,
} from '@app/ticketing';
import { holdSeats } from '../src/holds/hold-scripts';
import { purchaseHold } from '../src/purchases/purchase-scripts';

/**
 * What the version before ids carried their performance wrote, for tests of a rolling upgrade:
 * version-4 ids, and a pointer key from each id to its performance. The scripts must be
 * registered on `redis` already (a HoldStore / PurchaseStore on it does that).
 */

/** A hold as the previous version made it; returns its id. */
export async function holdTheOldWay(
  redis: Redis,
  env: Pick<Env, 'RESERVATION_TTL_SECONDS' | 'MAX_SEATS_PER_RESERVATION'>,
  userId: string,
  performanceId: number,
  seatIds: number[],
): Promise<string> {
  const holdId = randomUUID();
  const lifetimeMs = env.RESERVATION_TTL_SECONDS * 1000;
  const result = await holdSeats(redis, performanceKeys(performanceId), {
    holdId,
    userId,
    performanceId,
    seatIds,
    lifetimeMs,
    userLimit: env.MAX_SEATS_PER_RESERVATION,
    retentionMs: HOLD_RETENTION_MS,
  });
  if (result.outcome !== 'OK') throw new Error(`the old way's hold failed: ${result.outcome}`);
  await redis.set(holdPointerKey(holdId), String(performanceId), 'PX', lifetimeMs + HOLD_RETENTION_MS);
  return holdId;
}

/** The Redis side of a purchase as the previous version made it (no payment); returns its id. */
export async function purchaseTheOldWay(
  redis: Redis,
  userId: string,
  performanceId: number,
  holdId: string,
): Promise<string> {
  const purchaseId = randomUUID();
  const result = await purchaseHold(redis, performanceKeys(performanceId), {
    holdId,
    userId,
    purchaseId,
    chargeId: `ch_${purchaseId}`,
    holdRetentionMs: HOLD_RETENTION_MS,
  });
  if (result.outcome !== 'OK') throw new Error(`the old way's purchase failed: ${result.outcome}`);
  // One pipeline then; keys of two slots, so two commands on a Redis Cluster.
  await sendAcrossSlots(redis, [
    ['set', purchasePointerKey(purchaseId), String(performanceId)],
    ['zadd', userPurchasesKey(userId), result.createdAt, `${performanceId}:${purchaseId}`],
  ]);
  return purchaseId;
}
