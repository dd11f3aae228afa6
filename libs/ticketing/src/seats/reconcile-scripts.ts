import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';

export const RECONCILE_SEATS: LuaScript = {
  name: 'boxofficeReconcileSeats',
  file: join(__dirname, 'reconcile-seats.lua'),
};

export const STREAM_MARK: LuaScript = {
  name: 'boxofficeStreamMark',
  file: join(__dirname, 'stream-mark.lua'),
};

/** Where the purchase stream stood when the reconciler read it (XINFO STREAM). */
export interface StreamMark {
  /** last-generated-id; '0-0' when the stream did not exist. */
  lastId: string;
  /** entries-added (every XADD ever); 0 when the stream did not exist. */
  added: number;
}

/** Reads where the performance's purchase stream stands now (stream-mark.lua). */
export async function streamMark(redis: Redis, keys: PerformanceKeys): Promise<StreamMark> {
  const [lastId, added] = await callScript<[string, number]>(redis, STREAM_MARK.name, [keys.purchaseStream], []);
  return { lastId, added: Number(added) };
}

/** One repair for reconcile-seats.lua to check again and apply (see the script for each kind). */
export type SeatRepairRequest =
  | { kind: 'unbacked-sale'; seatId: number }
  /**
   * `seat-block`: blocked in PostgreSQL, to be made B if still A; `seat-release`: not blocked there,
   * to be made A if still B. Only under the performance's row lock FOR SHARE, held from the read
   * of seat_blocks until the script answered (SeatBlocksRepository.underShareLock).
   */
  | { kind: 'seat-block'; seatId: number }
  | { kind: 'seat-release'; seatId: number }
  /** `holderEntry`: the seat-holds entry read ('' for none); `holdId`: its hold, null for none. */
  | { kind: 'dead-hold'; seatId: number; holderEntry: string; holdId: string | null }
  /**
   * `final`: a sale no cancellation undoes (checked in, kept sold; its purchase is canceled, so
   * the seat is not added to `buyerId`'s tickets bought).
   */
  | {
      kind: 'persisted-sale';
      seatId: number;
      purchaseId: string;
      holdId: string | null;
      /** Whose tickets bought the seat joins; '' for none (a box office sale's). */
      buyerId: string;
      final: boolean;
    };

/** What the script did with one repair: 'REPAIRED' (`takenFromHold` when another hold had the seat) or why not. */
export type SeatRepairAnswer =
  { outcome: 'REPAIRED'; takenFromHold: string | null } | { outcome: 'LEFT' | 'PENDING_CANCEL' | 'STREAM_MOVED' };

/** Runs reconcile-seats.lua on `repairs` of one performance; one answer per repair, in order. */
export async function reconcileSeats(
  redis: Redis,
  keys: PerformanceKeys,
  mark: StreamMark,
  repairs: SeatRepairRequest[],
): Promise<SeatRepairAnswer[]> {
  if (repairs.length === 0) return [];
  const scriptKeys = [
    keys.seats,
    keys.counts,
    keys.seatHolds,
    keys.expiry,
    keys.purchaseStream,
    ...seatingKeys(keys),
    keys.ticketsBought,
  ];
  const positions = new Map<string, number>();
  const position = (key: string | null): number => {
    if (key === null) return 0;
    let at = positions.get(key);
    if (at === undefined) {
      scriptKeys.push(key);
      at = scriptKeys.length;
      positions.set(key, at);
    }
    return at;
  };
  const args: (string | number)[] = [mark.lastId, mark.added];
  for (const repair of repairs) {
    if (repair.kind === 'unbacked-sale' || repair.kind === 'seat-block' || repair.kind === 'seat-release') {
      args.push(repair.kind, repair.seatId, '', '', 0, 0, '');
    } else if (repair.kind === 'dead-hold') {
      const record = repair.holdId === null ? null : keys.hold(repair.holdId);
      args.push(repair.kind, repair.seatId, repair.holderEntry, '', position(record), 0, '');
    } else {
      const purchase = repair.final ? null : keys.purchase(repair.purchaseId);
      const hold = repair.holdId === null ? null : keys.hold(repair.holdId);
      const buyer = repair.final ? '' : repair.buyerId;
      args.push(
        repair.kind,
        repair.seatId,
        repair.purchaseId,
        repair.holdId ?? '',
        position(purchase),
        position(hold),
        buyer,
      );
    }
  }
  const answers = await callScript<string[]>(redis, RECONCILE_SEATS.name, scriptKeys, args);
  return answers.map((answer): SeatRepairAnswer => {
    if (answer === 'REPAIRED') return { outcome: 'REPAIRED', takenFromHold: null };
    if (answer.startsWith('REPAIRED:')) return { outcome: 'REPAIRED', takenFromHold: answer.slice('REPAIRED:'.length) };
    if (answer === 'LEFT' || answer === 'PENDING_CANCEL' || answer === 'STREAM_MOVED') return { outcome: answer };
    throw new Error(`reconcile-seats.lua answered ${JSON.stringify(answer)}`);
  });
}
