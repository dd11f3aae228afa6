import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys } from '../redis-keys';

export const CHECK_IN_MARK: LuaScript = {
  name: 'boxofficeCheckInMark',
  file: join(__dirname, 'check-in-mark.lua'),
};

export const TRANSFER_MARK: LuaScript = {
  name: 'boxofficeTransferMark',
  file: join(__dirname, 'transfer-mark.lua'),
};

export type CheckInMarkResult =
  { outcome: 'MARKED'; added: boolean } | { outcome: 'CANCELED' } | { outcome: 'PERFORMANCE_CANCELED' };

/**
 * Marks `seatId` of the purchase checked in (check-in-mark.lua) for `lifetimeSeconds`, unless the
 * purchase or its performance was canceled. `added`: false when the seat was marked already (a concurrent scan).
 */
export async function markCheckIn(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seatId: number,
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  const [outcome, added] = await callScript<[string, number?]>(
    redis,
    CHECK_IN_MARK.name,
    [keys.purchase(purchaseId), keys.checkedIn(purchaseId), keys.meta],
    [String(seatId), String(lifetimeSeconds)],
  );
  switch (outcome) {
    case 'MARKED':
      return { outcome, added: added === 1 };
    case 'CANCELED':
    case 'PERFORMANCE_CANCELED':
      return { outcome };
    default:
      throw new Error(`check-in-mark.lua answered ${JSON.stringify(outcome)}`);
  }
}

/**
 * Marks `seatId` of the purchase as given away by a transfer (transfer-mark.lua) for
 * `lifetimeSeconds`, unless the purchase or its performance was canceled. `added`: false when the
 * seat was marked already (a concurrent accept, or an earlier transfer of the ticket).
 */
export async function markTransfer(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seatId: number,
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  const [outcome, added] = await callScript<[string, number?]>(
    redis,
    TRANSFER_MARK.name,
    [keys.purchase(purchaseId), keys.transferred(purchaseId), keys.meta],
    [String(seatId), String(lifetimeSeconds)],
  );
  switch (outcome) {
    case 'MARKED':
      return { outcome, added: added === 1 };
    case 'CANCELED':
    case 'PERFORMANCE_CANCELED':
      return { outcome };
    default:
      throw new Error(`transfer-mark.lua answered ${JSON.stringify(outcome)}`);
  }
}
