import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys } from '../redis-keys';

export const CHECK_IN_MARK: LuaScript = {
  name: 'boxofficeCheckInMark',
  file: join(__dirname, 'check-in-mark.lua'),
};

export const CHECK_IN_UNDO: LuaScript = {
  name: 'boxofficeCheckInUndo',
  file: join(__dirname, 'check-in-undo.lua'),
};

export const TRANSFER_MARK: LuaScript = {
  name: 'boxofficeTransferMark',
  file: join(__dirname, 'transfer-mark.lua'),
};

export const UNMARK_TRANSFERS: LuaScript = {
  name: 'boxofficeUnmarkTransfers',
  file: join(__dirname, 'unmark-transfers.lua'),
};

export type CheckInMarkResult =
  { outcome: 'MARKED'; added: boolean } | { outcome: 'CANCELED' } | { outcome: 'PERFORMANCE_CANCELED' };

/**
 * The member a scan (its random `token`) of the code of `codeVersion` of seat `seatId` adds to the
 * purchase's checked-in set: `<seat id>:<code version>:<token>`. One member per scan, so a refused
 * scan (an old code, TicketTransferred; a second scan, TicketAlreadyCheckedIn) takes back only its
 * own mark, never the one of the scan PostgreSQL admitted, and an undo of a check-in takes back only
 * that scan's (its token is the ticket's `check_in_mark`), never the mark of a scan still on its
 * way; cancel-purchase.lua reads the seat id before the first colon. `token` null: the mark a scan
 * of an earlier version set, `<seat id>:<code version>`.
 */
export function checkInMarkMember(seatId: number, codeVersion: number, token: string | null): string {
  return token === null ? `${seatId}:${codeVersion}` : `${seatId}:${codeVersion}:${token}`;
}

/**
 * Marks seat `seatId` of the purchase checked in (check-in-mark.lua) by the scan `seat.token` of its
 * code of `codeVersion` for `lifetimeSeconds`, unless the purchase or its performance was canceled.
 * `added`: false when that scan's mark was there already.
 */
export function markCheckIn(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seat: { seatId: number; codeVersion: number; token: string },
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  return markSeat(
    redis,
    CHECK_IN_MARK,
    [keys.purchase(purchaseId), keys.checkedIn(purchaseId), keys.meta],
    [checkInMarkMember(seat.seatId, seat.codeVersion, seat.token), String(lifetimeSeconds)],
  );
}

/**
 * What check-in-undo.lua answered: `UNDONE`, or refused because the purchase (`CANCELED`) or its
 * performance (`PERFORMANCE_CANCELED`) was canceled meanwhile.
 */
export type UndoCheckInResult = { outcome: 'UNDONE' } | { outcome: 'CANCELED' } | { outcome: 'PERFORMANCE_CANCELED' };

/**
 * Takes back the Redis side of a check-in (check-in-undo.lua): refused when the purchase or its
 * performance was canceled (a cancel may have kept the seat as checked in); otherwise removes
 * `marks` from the purchase's checked-in set and records `undone` (`<seat id>/<check-in identity>`)
 * in its set of undone check-ins for `lifetimeSeconds`, which a cancel that read the check-in from
 * PostgreSQL before the undo leaves out.
 */
export async function undoCheckIn(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  undone: string,
  marks: readonly string[],
  lifetimeSeconds: number,
): Promise<UndoCheckInResult> {
  const [outcome] = await callScript<[string]>(
    redis,
    CHECK_IN_UNDO.name,
    [keys.purchase(purchaseId), keys.checkedIn(purchaseId), keys.meta, keys.checkInsUndone(purchaseId)],
    [undone, String(lifetimeSeconds), ...marks],
  );
  switch (outcome) {
    case 'UNDONE':
    case 'CANCELED':
    case 'PERFORMANCE_CANCELED':
      return { outcome };
    default:
      throw new Error(`check-in-undo.lua answered ${JSON.stringify(outcome)}`);
  }
}

/**
 * The entry of an undone check-in in a purchase's set of undone check-ins, and of a checked-in seat
 * PostgreSQL holds in the list a cancel passes to cancel-purchase.lua: `<seat id>/<check-in identity>`.
 */
export function checkInEntry(seatId: number, checkIn: string): string {
  return `${seatId}/${checkIn}`;
}

/**
 * Marks `seatId` of the purchase as given away by the accept of transfer `transferId`
 * (transfer-mark.lua) for `lifetimeSeconds`, unless the purchase or its performance was canceled or
 * the seat refunded; the mark records `transferId` as its owner, also over a mark already there.
 * `added`: false when the seat was marked already (a concurrent accept, or an earlier transfer of
 * the ticket).
 */
export function markTransfer(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  seat: { seatId: number; transferId: string },
  lifetimeSeconds: number,
): Promise<CheckInMarkResult> {
  return markSeat(
    redis,
    TRANSFER_MARK,
    [keys.purchase(purchaseId), keys.transferred(purchaseId), keys.meta, keys.transferOwners(purchaseId)],
    [String(seat.seatId), seat.transferId, String(lifetimeSeconds)],
  );
}

/**
 * A transfer accept mark as read from Redis: its seat and the transfer whose accept set it (null:
 * a mark of an earlier version, which recorded none).
 */
export interface TransferMark {
  seatId: number;
  transferId: string | null;
}

/**
 * Takes back `marks` of the purchase (unmark-transfers.lua), each only while its seat is still marked
 * by the same transfer (a mark without an owner: while it still has none), so a mark a newer accept
 * set since the caller's read is kept. Answers the seats whose marks it took back, in `marks`' order.
 */
export async function unmarkTransfers(
  redis: Redis,
  keys: PerformanceKeys,
  purchaseId: string,
  marks: readonly TransferMark[],
): Promise<number[]> {
  if (marks.length === 0) return [];
  const taken = await callScript<string[]>(
    redis,
    UNMARK_TRANSFERS.name,
    [keys.transferred(purchaseId), keys.transferOwners(purchaseId)],
    marks.flatMap((mark) => [String(mark.seatId), mark.transferId ?? '']),
  );
  return taken.map(Number);
}

/**
 * Runs one of the two mark scripts (the same first KEYS — purchase, mark set, meta — and outcomes:
 * see check-in-mark.lua and transfer-mark.lua) and decodes its answer.
 */
async function markSeat(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<CheckInMarkResult> {
  const [outcome, added] = await callScript<[string, number?]>(redis, script.name, [...keys], [...args]);
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
