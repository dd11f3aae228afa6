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
 * The member a scan of the code of `codeVersion` of seat `seatId` adds to the purchase's checked-in
 * set: `<seat id>:<code version>`. One member per code version, so a refused scan of an old code
 * (TicketTransferred) takes back only its own mark, never the one a concurrent scan of the current
 * code set for the same seat; cancel-purchase.lua reads the seat id before the colon.
 */
export function checkInMarkMember(seatId: number, codeVersion: number): string {
  return `${seatId}:${codeVersion}`;
}

/**
 * Marks seat `seatId` of the purchase checked in (check-in-mark.lua) by a scan of its code of
 * `codeVersion` for `lifetimeSeconds`, unless the purchase or its performance was canceled. `added`:
 * false when that code's mark was there already (a concurrent scan of the same code).
 */
export function markCheckIn(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seat: { seatId: number; codeVersion: number },
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  return markSeat(
    redis,
    CHECK_IN_MARK,
    [keys.purchase(purchaseId), keys.checkedIn(purchaseId), keys.meta],
    checkInMarkMember(seat.seatId, seat.codeVersion),
    lifetimeSeconds,
  );
}

/**
 * Marks `seatId` of the purchase as given away by a transfer (transfer-mark.lua) for
 * `lifetimeSeconds`, unless the purchase or its performance was canceled. `added`: false when the
 * seat was marked already (a concurrent accept, or an earlier transfer of the ticket).
 */
export function markTransfer(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seatId: number,
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  return markSeat(
    redis,
    TRANSFER_MARK,
    [keys.purchase(purchaseId), keys.transferred(purchaseId), keys.meta],
    String(seatId),
    lifetimeSeconds,
  );
}

/**
 * Runs one of the two mark scripts (the same KEYS — purchase, mark set, meta — ARGV and outcomes:
 * see check-in-mark.lua) and decodes its answer.
 */
async function markSeat(
  redis: Redis,
  script: LuaScript,
  keys: [purchase: string, marks: string, meta: string],
  member: string,
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  const [outcome, added] = await callScript<[string, number?]>(redis, script.name, keys, [
    member,
    String(lifetimeSeconds),
  ]);
  switch (outcome) {
    case 'MARKED':
      return { outcome, added: added === 1 };
    case 'CANCELED':
    case 'PERFORMANCE_CANCELED':
      return { outcome };
    default:
      throw new Error(`${script.file.split('/').pop()} answered ${JSON.stringify(outcome)}`);
  }
}
