import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';
import { CANCELED_BY, CanceledBy } from '@app/core';
import type { CheckedInSeat } from '@app/database';
import { checkInEntry } from '../tickets/ticket-scripts';
import type { SalesClosedReason } from '../errors';

export const PURCHASE: LuaScript = {
  name: 'boxofficePurchase',
  file: join(__dirname, 'purchase.lua'),
};
export const CLAIM_HOLD: LuaScript = {
  name: 'boxofficeClaimHold',
  file: join(__dirname, 'claim-hold.lua'),
};
export const RELEASE_HOLD_CLAIM: LuaScript = {
  name: 'boxofficeReleaseHoldClaim',
  file: join(__dirname, 'release-hold-claim.lua'),
};
export const RENEW_HOLD_CLAIM: LuaScript = {
  name: 'boxofficeRenewHoldClaim',
  file: join(__dirname, 'renew-hold-claim.lua'),
};
export const CANCEL_PURCHASE: LuaScript = {
  name: 'boxofficeCancelPurchase',
  file: join(__dirname, 'cancel-purchase.lua'),
};
export const REFUND_SEATS: LuaScript = {
  name: 'boxofficeRefundSeats',
  file: join(__dirname, 'refund-seats.lua'),
};
export const CLAIM_IDEMPOTENCY_KEY: LuaScript = {
  name: 'boxofficeClaimIdempotencyKey',
  file: join(__dirname, 'claim-idempotency-key.lua'),
};
export const RENEW_IDEMPOTENCY_CLAIM: LuaScript = {
  name: 'boxofficeRenewIdempotencyClaim',
  file: join(__dirname, 'renew-idempotency-claim.lua'),
};
export const RELEASE_IDEMPOTENCY_CLAIM: LuaScript = {
  name: 'boxofficeReleaseIdempotencyClaim',
  file: join(__dirname, 'release-idempotency-claim.lua'),
};

export const ENSURE_FLUSH_GROUP: LuaScript = {
  name: 'boxofficeEnsureFlushGroup',
  file: join(__dirname, 'ensure-flush-group.lua'),
};
export const DELIVER_DUE_PURCHASES: LuaScript = {
  name: 'boxofficeDeliverDuePurchases',
  file: join(__dirname, 'deliver-due-purchases.lua'),
};

export interface PurchaseRequest {
  holdId: string;
  userId: string;
  purchaseId: string;
  chargeId: string;
  holdRetentionMs: number;
  /**
   * True on the operator path only (CompService, BoxOfficeService): sells an operator's hold (a
   * comp's, a box office sale's), and only such a hold. Absent or false, an operator's hold is not
   * found (purchase.lua), so no buyer's route sells one.
   */
  operator?: boolean;
}

export type PurchaseResult =
  | {
      outcome: 'OK';
      createdAt: number;
      performanceId: number;
      seats: string;
      /** Integer, minor units of `currency`. */
      amount: number;
      currency: string;
      /** Each seat's price as the hold recorded it, comma-separated in `seats` order; '' when it has none. */
      prices: string;
      /** The presale whose access code let the hold in (decimal digits, the hold's `presale`); '' for none. */
      presale: string;
    }
  | { outcome: 'NOT_FOUND' | 'PURCHASED' | 'EXPIRED' | 'RELEASED' | 'UNAVAILABLE' | 'IN_PROGRESS' | 'CANCELED' }
  | { outcome: 'SALES_CLOSED'; reason: SalesClosedReason }
  /** `salesOpenAt`: epoch ms (moved later after the hold was made). */
  | { outcome: 'SALES_NOT_OPEN'; salesOpenAt: number };

/**
 * What claim-hold.lua did: `CLAIMED` the hold is this attempt's now (fresh), `OWN` it was this
 * attempt's already (same purchase id, lease renewed), `BUSY` another attempt's live claim has
 * it, `NONE` the hold is not one the caller can buy now (nothing changed).
 */
export type HoldClaim = 'CLAIMED' | 'OWN' | 'BUSY' | 'NONE';

/**
 * Why the performance of the caller's held hold does not sell now, as claim-hold.lua and
 * purchase.lua see it: closed (SalesClosedReason), or not open until `salesOpenAt` (epoch ms).
 */
export type SalesRefusal = { reason: SalesClosedReason } | { reason: 'NOT_OPEN'; salesOpenAt: number };

/**
 * The pre-check of a purchase and its claim of the hold, in one step (claim-hold.lua): the hold's
 * fields as stored (null when absent), Redis time (epoch ms) and, for the caller's held hold, why
 * its performance does not sell now (null when it does); `leaseMs` how long the claim lasts.
 * `operator`: the operator path (CompService, BoxOfficeService), the only one that sees an
 * operator's hold (a comp's, a box office sale's), and that sees only those; off it such a hold
 * answers as no hold (every field null, claim NONE).
 */
export function claimHold(
  redis: Redis,
  keys: PerformanceKeys,
  holdId: string,
  request: { userId: string; purchaseId: string; leaseMs: number; operator?: boolean },
): Promise<ClaimedHold> {
  // A `then`, not an `async` layer: one promise fewer a purchase (each pays AsyncLocalStorage's hook).
  return callScript<(string | null)[]>(
    redis,
    CLAIM_HOLD.name,
    [keys.hold(holdId), keys.meta],
    [request.userId, request.purchaseId, request.leaseMs, operatorFlag(request.operator)],
  ).then(claimedHold);
}

/** What claimHold answers: claim-hold.lua's reply decoded. */
export interface ClaimedHold {
  claim: HoldClaim;
  now: number;
  /** userId, status, expiresAt, amount, currency, purchaseId as stored (null when absent; the reply ends at its first nil). */
  fields: (string | null)[];
  sales: SalesRefusal | null;
  boxOffice: string | null;
}

/** claim-hold.lua's reply (see there) decoded; read by index, without rest arrays. */
function claimedHold(reply: (string | null)[]): ClaimedHold {
  const claim = reply[0];
  const refusal = reply[8];
  const sales: SalesRefusal | null = !refusal
    ? null
    : refusal === 'NOT_OPEN'
      ? { reason: refusal, salesOpenAt: Number(reply[9]) }
      : { reason: refusal as SalesClosedReason };
  switch (claim) {
    case 'CLAIMED':
    case 'OWN':
    case 'BUSY':
    case 'NONE':
      return { claim, now: Number(reply[1]), fields: reply.slice(2, 8), sales, boxOffice: reply[10] || null };
    default:
      throw new Error(`claim-hold.lua answered ${JSON.stringify(claim)}`);
  }
}

/**
 * Gives the attempt's claim on the hold a full lease (`leaseMs` from now, Redis time) if it still
 * has it and the hold is HELD (renew-hold-claim.lua); true when it did.
 */
export async function renewHoldClaim(
  redis: Redis,
  holdKey: string,
  purchaseId: string,
  leaseMs: number,
): Promise<boolean> {
  return (await callScript<number>(redis, RENEW_HOLD_CLAIM.name, [holdKey], [purchaseId, leaseMs])) === 1;
}

/** Drops the attempt's claim on the hold if it still has it (release-hold-claim.lua); true when it did. */
export async function releaseHoldClaim(redis: Redis, holdKey: string, purchaseId: string): Promise<boolean> {
  return (await callScript<number>(redis, RELEASE_HOLD_CLAIM.name, [holdKey], [purchaseId])) === 1;
}

/**
 * Sells the hold (`purchase.lua`); with `buyerIndex` (a single Redis only: its key lies in the
 * buyer's Cluster slot) a new sale also adds `member` to the buyer's index of purchases, scored
 * by its createdAt. Throws only what Redis throws (a refusal is an outcome).
 */
export function purchaseHold(
  redis: Redis,
  keys: PerformanceKeys,
  request: PurchaseRequest,
  buyerIndex?: { key: string; member: string },
): Promise<PurchaseResult> {
  const scriptKeys = [
    keys.seats,
    keys.counts,
    keys.expiry,
    keys.hold(request.holdId),
    keys.purchase(request.purchaseId),
    keys.purchaseStream,
    keys.meta,
    keys.ticketsBought,
  ];
  const args: (string | number)[] = [
    request.holdId,
    request.userId,
    request.purchaseId,
    request.chargeId,
    request.holdRetentionMs,
    operatorFlag(request.operator),
  ];
  if (buyerIndex) {
    scriptKeys.push(buyerIndex.key);
    args.push(buyerIndex.member);
  }
  // A `then`, not an `async` layer (as claimHold).
  return callScript<string[]>(redis, PURCHASE.name, scriptKeys, args).then(purchaseResult);
}

/** purchase.lua's reply (see there) decoded. */
function purchaseResult(reply: string[]): PurchaseResult {
  const outcome = reply[0];
  switch (outcome) {
    case 'OK':
      return {
        outcome,
        createdAt: Number(reply[1]),
        performanceId: Number(reply[2]),
        seats: reply[3],
        amount: Number(reply[4]),
        currency: reply[5],
        prices: reply[6] ?? '',
        presale: reply[7] ?? '',
      };
    case 'NOT_FOUND':
    case 'PURCHASED':
    case 'EXPIRED':
    case 'RELEASED':
    case 'UNAVAILABLE':
    case 'IN_PROGRESS':
    case 'CANCELED':
      return { outcome };
    case 'SALES_CLOSED':
      return { outcome, reason: reply[1] as SalesClosedReason };
    case 'SALES_NOT_OPEN':
      return { outcome, salesOpenAt: Number(reply[1]) };
    default:
      throw new Error(`purchase.lua answered ${JSON.stringify(outcome)}`);
  }
}

/** The operator-path ARGV of claim-hold.lua and purchase.lua: '1' on it, '' off it. */
export function operatorFlag(operator: boolean | undefined): string {
  return operator === true ? '1' : '';
}

export type CancelPurchaseResult =
  /**
   * `keptSeatIds`: checked-in seats left sold (only for 'operator-keep-checked-in'). `amount` (minor
   * units of `currency`) and `currency`: the purchase's, what its refund gives back.
   */
  | CanceledOutcome
  /** Refused (a buyer's cancel only): a box office sale, refunded by an admin at the window. */
  | { outcome: 'BOX_OFFICE' }
  /** Refused (a buyer's cancel only): a comp, taken back by an operator (an admin's refund), not its recipient. */
  | { outcome: 'COMP' }
  /** NOT_REGISTERED: Redis lost the performance's live state; nothing was written. */
  | { outcome: 'NOT_FOUND' | 'ALREADY_CANCELED' | 'NOT_REGISTERED' }
  /**
   * A buyer's cancel only: its buyer canceled it before (the hash's `canceledBy` 'buyer'), so this
   * is that cancel again (a retry); nothing was written.
   */
  | { outcome: 'CANCELED_BY_BUYER' }
  /** `cancelUntil`: epoch ms, or null when the performance allows no self-service cancel. */
  | { outcome: 'CANCEL_CLOSED'; cancelUntil: number | null }
  /** Refused: these seats of the purchase were checked in at the door. */
  | { outcome: 'CHECKED_IN'; seatIds: number[] }
  /**
   * Refused (a buyer's cancel only): the tickets of these seats, still the purchase's, were accepted
   * by a transfer's recipient (or an accept is under way).
   */
  | { outcome: 'TRANSFERRED'; seatIds: number[] }
  /** An operator's cancel with an Idempotency-Key (`RefundKey`): the key was used for another request; nothing changed. */
  | { outcome: 'KEY_REUSED' }
  /** An operator's cancel with an Idempotency-Key: the key's cancel made before, as it answered then; nothing changed now. */
  | { outcome: 'REPLAY'; first: CanceledOutcome };

/** The CANCELED answer of cancel-purchase.lua and refund-seats.lua. */
export type CanceledOutcome = {
  outcome: 'CANCELED';
  canceledAt: number;
  chargeId: string;
  keptSeatIds: number[];
  amount: number;
  currency: string;
  /** A box office sale's payment method (its refund is given back at the window); '' for an online sale. */
  paymentMethod: string;
};

/**
 * An operator's refund sent with an Idempotency-Key, as cancel-purchase.lua and refund-seats.lua take
 * it (lua-includes/refund-request.lua): the key's record (`PerformanceKeys.refundRequest`), what the
 * refund asks for (`refundRequestWords`) and how long the record is kept (ms).
 */
export interface RefundKey {
  record: string;
  request: string;
  retentionMs: number;
}

/**
 * What an operator's refund asks for, the same words each time it is asked: the purchase, whether
 * checked-in seats go back on sale (`mode`) and the seats named, in ascending order (so the same
 * seats in another order are the same request), or `all` for a whole refund without `seatIds`.
 */
export function refundRequestWords(purchaseId: string, mode: CancelMode, seatIds: readonly number[] | null): string {
  const seats = seatIds === null ? 'all' : [...seatIds].sort((a, b) => a - b).join(',');
  return `${purchaseId}|${mode}|${seats}`;
}

/**
 * Who cancels, as cancel-purchase.lua takes it: a buyer (within cancelUntil), an operator (any
 * time), or an operator who keeps checked-in seats sold and so may cancel a purchase with some.
 */
export type CancelMode = 'buyer' | 'operator' | 'operator-keep-checked-in';

/**
 * The KEYS of cancel-purchase.lua and refund-seats.lua (the same, in the same order: see
 * cancel-purchase.lua's header), for purchase `purchaseId`: all in the performance's hash slot; the
 * 14th, an operator's Idempotency-Key record, only with `key`.
 */
function purchaseChangeKeys(keys: PerformanceKeys, purchaseId: string, key: RefundKey | undefined): string[] {
  return [
    keys.seats,
    keys.counts,
    keys.purchase(purchaseId),
    keys.purchaseStream,
    keys.meta,
    keys.checkedIn(purchaseId),
    ...seatingKeys(keys),
    keys.ticketsBought,
    keys.transferred(purchaseId),
    keys.checkInsUndone(purchaseId),
    ...(key ? [key.record] : []),
  ];
}

/** The ARGV of cancel-purchase.lua and refund-seats.lua that carry an operator's Idempotency-Key (`key`), before the operator's id. */
function refundKeyArgs(key: RefundKey | undefined): string[] {
  return key ? [key.request, String(key.retentionMs)] : ['', ''];
}

/**
 * `userId`: the purchase's buyer. `checkedIn`: seats of the purchase PostgreSQL says were checked
 * in, each with its check-in's identity (the script leaves out those undone since, and adds those
 * the door marked in Redis). `transferredSeatIds`: seats PostgreSQL says were transferred (a buyer's
 * cancel; the script adds those marked in Redis, and counts only those the purchase still has).
 * `persisted`: the record from PostgreSQL, put back into Redis when it is gone from there.
 */
export async function cancelPurchase(
  redis: Redis,
  keys: PerformanceKeys,
  request: {
    purchaseId: string;
    userId: string;
    mode: CancelMode;
    canceledBy: CanceledBy;
    checkedIn: readonly CheckedInSeat[];
    transferredSeatIds: readonly number[];
    persisted: Record<string, string> | null;
    key?: RefundKey;
    /** An operator's cancel: the operator's account id, carried on the cancel entry (`operatorId`). */
    operatorId?: string;
  },
): Promise<CancelPurchaseResult> {
  const scriptKeys = purchaseChangeKeys(keys, request.purchaseId, request.key);
  const reply = await callScript<string[]>(redis, CANCEL_PURCHASE.name, scriptKeys, [
    ...purchaseChangeHead(request),
    request.canceledBy,
    request.transferredSeatIds.join(','),
    ...refundKeyArgs(request.key),
    request.operatorId ?? '',
    ...Object.entries(request.persisted ?? {}).flat(),
  ]);
  const [outcome, second] = reply;
  switch (outcome) {
    case 'CANCELED':
      return canceledOutcome(reply);
    case 'REPLAY':
      return { outcome, first: canceledOutcome(reply.slice(3)) };
    case 'KEY_REUSED':
      return { outcome };
    case 'CANCEL_CLOSED':
      return { outcome, cancelUntil: second === 'none' ? null : Number(second) };
    case 'CHECKED_IN':
      return { outcome, seatIds: seatList(second) };
    case 'TRANSFERRED':
      return { outcome, seatIds: seatList(second).sort((a, b) => a - b) };
    case 'NOT_FOUND':
    case 'ALREADY_CANCELED':
    case 'CANCELED_BY_BUYER':
    case 'NOT_REGISTERED':
    case 'BOX_OFFICE':
    case 'COMP':
      return { outcome };
    default:
      throw new Error(`cancel-purchase.lua answered ${JSON.stringify(outcome)}`);
  }
}

export type RefundSeatsResult =
  /**
   * A partial refund: the purchase stays PAID with its other seats. `amount`: the refunded seats'
   * prices summed (minor units of `currency`), what goes back to the buyer; `keptSeatIds`: the
   * checked-in seats of it left sold ('operator-keep-checked-in' only); `paymentMethod`: a box office
   * sale's (its money goes back at the window, never through the gateway), '' for an online sale.
   */
  | {
      outcome: 'REFUNDED';
      refundedAt: number;
      chargeId: string;
      keptSeatIds: number[];
      amount: number;
      currency: string;
      paymentMethod: string;
    }
  /** The seats named were all it had: canceled as `cancelPurchase` answers it (its whole refund). */
  | Extract<CancelPurchaseResult, { outcome: 'CANCELED' }>
  | { outcome: 'NOT_FOUND' | 'ALREADY_CANCELED' | 'NOT_REGISTERED' | 'NO_PRICES' }
  /**
   * Refused: PostgreSQL does not have the purchase yet. `ageMs`: how long ago it was sold, by Redis
   * TIME (null when its record has no sale time: an older version's).
   */
  | { outcome: 'NOT_WRITTEN'; ageMs: number | null }
  /** `seatId`: the first seat named that was refunded before, or that is not the purchase's. */
  | { outcome: 'ALREADY_REFUNDED' | 'NOT_IN_PURCHASE'; seatId: number }
  | { outcome: 'CHECKED_IN'; seatIds: number[] }
  /** With an Idempotency-Key (`RefundKey`): the key was used for another request; nothing changed. */
  | { outcome: 'KEY_REUSED' }
  /**
   * With an Idempotency-Key: the key's refund made before, as it answered then (`first`), its
   * `refundId` (the partial refund's, as the first request chose it) and the seats it named, in the
   * first request's order; nothing changed now.
   */
  | { outcome: 'REPLAY'; refundId: string; seatIds: number[]; first: RefundedOutcome | CanceledOutcome };

/** The REFUNDED answer of refund-seats.lua. */
type RefundedOutcome = Extract<RefundSeatsResult, { outcome: 'REFUNDED' }>;

/**
 * refund-seats.lua: an operator's refund of `seatIds` of a purchase (see the script). `flushed`:
 * PostgreSQL has the purchase. Other fields as `cancelPurchase`'s.
 */
export async function refundSeats(
  redis: Redis,
  keys: PerformanceKeys,
  request: {
    purchaseId: string;
    userId: string;
    mode: Exclude<CancelMode, 'buyer'>;
    checkedIn: readonly CheckedInSeat[];
    refundId: string;
    seatIds: readonly number[];
    flushed: boolean;
    persisted: Record<string, string> | null;
    key?: RefundKey;
    /** Who makes the refund (gives the money back): carried on its stream entry (`operatorId`). */
    operatorId: string;
  },
): Promise<RefundSeatsResult> {
  const scriptKeys = purchaseChangeKeys(keys, request.purchaseId, request.key);
  const reply = await callScript<string[]>(redis, REFUND_SEATS.name, scriptKeys, [
    ...purchaseChangeHead(request),
    request.refundId,
    request.seatIds.join(','),
    request.flushed ? '1' : '0',
    ...refundKeyArgs(request.key),
    request.operatorId,
    ...Object.entries(request.persisted ?? {}).flat(),
  ]);
  const [outcome, second] = reply;
  switch (outcome) {
    case 'REFUNDED':
    case 'CANCELED':
      return refundedOrCanceled(reply);
    case 'REPLAY':
      return {
        outcome,
        refundId: String(second),
        seatIds: seatList(reply[2]),
        first: refundedOrCanceled(reply.slice(3)),
      };
    case 'KEY_REUSED':
      return { outcome };
    case 'ALREADY_REFUNDED':
    case 'NOT_IN_PURCHASE':
      return { outcome, seatId: Number(second) };
    case 'CHECKED_IN':
      return { outcome, seatIds: seatList(second) };
    case 'NOT_WRITTEN': {
      const [, createdAt, now] = reply;
      return { outcome, ageMs: createdAt ? Math.max(0, Number(now) - Number(createdAt)) : null };
    }
    case 'NOT_FOUND':
    case 'ALREADY_CANCELED':
    case 'NOT_REGISTERED':
    case 'NO_PRICES':
      return { outcome };
    default:
      throw new Error(`refund-seats.lua answered ${JSON.stringify(outcome)}`);
  }
}

/**
 * ARGV[1..4] of cancel-purchase.lua and refund-seats.lua alike: the purchase id, its buyer, the
 * mode, and the checked-in seats as `checkInEntry`s joined by commas.
 */
function purchaseChangeHead(request: {
  purchaseId: string;
  userId: string;
  mode: CancelMode;
  checkedIn: readonly CheckedInSeat[];
}): string[] {
  return [
    request.purchaseId,
    request.userId,
    request.mode,
    request.checkedIn.map((seat) => checkInEntry(seat.seatId, seat.checkIn)).join(','),
  ];
}

/**
 * The money a CANCELED or REFUNDED reply gives back, from its fields 3..7 (after the outcome and
 * its time): the charge id, the checked-in seats kept sold, the amount (minor units of
 * `currency`), and the payment method ('' for an online sale).
 */
function moneyBack([, , chargeId, kept, amount, currency, paymentMethod]: string[]): {
  chargeId: string;
  keptSeatIds: number[];
  amount: number;
  currency: string;
  paymentMethod: string;
} {
  return {
    chargeId,
    keptSeatIds: seatList(kept),
    amount: Number(amount),
    currency,
    paymentMethod: paymentMethod ?? '',
  };
}

/** A CANCELED reply (its outcome first) read. */
function canceledOutcome(reply: string[]): CanceledOutcome {
  return { outcome: 'CANCELED', canceledAt: Number(reply[1]), ...moneyBack(reply) };
}

/** A REFUNDED or CANCELED reply of refund-seats.lua (its outcome first) read. */
function refundedOrCanceled(reply: string[]): RefundedOutcome | CanceledOutcome {
  if (reply[0] === 'CANCELED') return canceledOutcome(reply);
  if (reply[0] !== 'REFUNDED') throw new Error(`refund-seats.lua answered ${JSON.stringify(reply[0])}`);
  return { outcome: 'REFUNDED', refundedAt: Number(reply[1]), ...moneyBack(reply) };
}

function seatList(csv: string | undefined): number[] {
  return csv ? csv.split(',').map(Number) : [];
}

export type ClaimIdempotencyKeyResult = { outcome: 'CLAIMED' } | { outcome: 'TAKEN'; record: string };

/** Sets `claim` on the idempotency record for `leaseMs` unless the record exists; else answers the record. */
export async function claimIdempotencyKey(
  redis: Redis,
  key: string,
  claim: string,
  leaseMs: number,
): Promise<ClaimIdempotencyKeyResult> {
  const [outcome, record] = await callScript<string[]>(redis, CLAIM_IDEMPOTENCY_KEY.name, [key], [claim, leaseMs]);
  switch (outcome) {
    case 'CLAIMED':
      return { outcome };
    case 'TAKEN':
      return { outcome, record };
    default:
      throw new Error(`claim-idempotency-key.lua answered ${JSON.stringify(outcome)}`);
  }
}

/** Gives `claim` a full lease (ms) again if it is still on the record; true when it was. */
export async function renewIdempotencyClaim(
  redis: Redis,
  key: string,
  claim: string,
  leaseMs: number,
): Promise<boolean> {
  return (await callScript<number>(redis, RENEW_IDEMPOTENCY_CLAIM.name, [key], [claim, leaseMs])) === 1;
}

/** Drops `claim` from the idempotency record if it is still there; true when it was. */
export async function releaseIdempotencyClaim(redis: Redis, key: string, claim: string): Promise<boolean> {
  return (await callScript<number>(redis, RELEASE_IDEMPOTENCY_CLAIM.name, [key], [claim])) === 1;
}

/**
 * Creates the consumer group of the performance's purchase stream unless it exists; false (nothing
 * created, not even the stream) when the performance's meta hash is gone (the performance removed).
 */
export async function ensureFlushGroup(redis: Redis, keys: PerformanceKeys, group: string): Promise<boolean> {
  return (await callScript<number>(redis, ENSURE_FLUSH_GROUP.name, [keys.purchaseStream, keys.meta], [group])) >= 0;
}

/** An entry of a purchase stream: its id and its fields as a flat list (null once deleted). */
export type StreamEntry = [id: string, fields: string[] | null];

/**
 * Delivers up to `count` undelivered entries no newer than `dueUntil` (epoch ms) to `consumer`,
 * in stream order, as XREADGROUP gives them (the script sends them as one JSON string).
 */
export async function deliverDuePurchases(
  redis: Redis,
  stream: string,
  request: { group: string; consumer: string; dueUntil: number; count: number },
): Promise<StreamEntry[]> {
  const json = await callScript<string>(
    redis,
    DELIVER_DUE_PURCHASES.name,
    [stream],
    [request.group, request.consumer, request.dueUntil, request.count],
  );
  return JSON.parse(json) as StreamEntry[];
}

export const CANCELED_PURCHASES: LuaScript = {
  name: 'boxofficeCanceledPurchases',
  file: join(__dirname, 'canceled-purchases.lua'),
};
export const ACK_FLUSHED: LuaScript = {
  name: 'boxofficeAckFlushed',
  file: join(__dirname, 'ack-flushed.lua'),
};
export const PARK_PURCHASE: LuaScript = {
  name: 'boxofficeParkPurchase',
  file: join(__dirname, 'park-purchase.lua'),
};
export const FORGET_FLUSHED: LuaScript = {
  name: 'boxofficeForgetFlushed',
  file: join(__dirname, 'forget-flushed.lua'),
};

/**
 * When a purchase was canceled (epoch ms) and by whom (null: its cancel recorded none, an older
 * version's), the checked-in seats its cancel kept sold (empty: none, or an older version's), what
 * it gave back (minor units; null: an older version's cancel) and, for an operator's cancel, the
 * operator's account id (null: a buyer's or a show's cancel, or an older version's).
 */
export interface CancelMark {
  canceledAt: number;
  canceledBy: CanceledBy | null;
  keptSeatIds: number[];
  amount: number | null;
  canceledById: string | null;
}

/** Which of `purchaseKeys` (hashes of one performance) were canceled: position in the list → its CancelMark. */
export async function canceledPurchases(redis: Redis, purchaseKeys: string[]): Promise<Map<number, CancelMark>> {
  const canceled = new Map<number, CancelMark>();
  if (purchaseKeys.length === 0) return canceled;
  const reply = await callScript<(number | string)[]>(redis, CANCELED_PURCHASES.name, purchaseKeys, []);
  for (let i = 0; i + 5 < reply.length; i += 6) {
    canceled.set(Number(reply[i]) - 1, {
      canceledAt: Number(reply[i + 1]),
      canceledBy: canceledByOf(reply[i + 2]),
      keptSeatIds: seatList(String(reply[i + 3])),
      amount: reply[i + 4] === '' ? null : Number(reply[i + 4]),
      canceledById: reply[i + 5] === '' ? null : String(reply[i + 5]),
    });
  }
  return canceled;
}

/** A recorded `canceledBy` read back; null for none (or anything unknown). */
export function canceledByOf(value: unknown): CanceledBy | null {
  return CANCELED_BY.includes(value as CanceledBy) ? (value as CanceledBy) : null;
}

/**
 * Acknowledges and deletes flushed entries of `stream` and lets the purchase hashes they wrote
 * expire after `retentionMs`; returns how many entries were acknowledged.
 */
export function ackFlushed(
  redis: Redis,
  stream: string,
  purchaseKeys: string[],
  request: { group: string; retentionMs: number; entryIds: string[] },
): Promise<number> {
  return callScript<number>(
    redis,
    ACK_FLUSHED.name,
    [stream, ...purchaseKeys],
    [request.group, request.retentionMs, ...request.entryIds],
  );
}

/**
 * Parks a purchase entry of `keys.stream` (park-purchase.lua): copied with `reason` and `parkedAt`
 * (epoch ms) to `keys.deadLetters`, acknowledged and deleted, its purchase hash marked, and its
 * `seats` taken out of the buyer's count of seats bought when it was still paid. Answers false when
 * the entry was gone already (nothing changed).
 */
export async function parkPurchase(
  redis: Redis,
  keys: { stream: string; deadLetters: string; purchase: string; ticketsBought: string },
  entry: { group: string; entryId: string; fields: string[]; reason: string; parkedAt: number },
  purchase: { userId: string; seats: number },
): Promise<boolean> {
  const parked = await callScript<number>(
    redis,
    PARK_PURCHASE.name,
    [keys.stream, keys.deadLetters, keys.purchase, keys.ticketsBought],
    [entry.group, entry.entryId, entry.reason, entry.parkedAt, purchase.userId, purchase.seats, ...entry.fields],
  );
  return parked === 1;
}

/**
 * On a single Redis (not a Cluster): removes `members[i]` from the sorted set `listKeys[i]`, for
 * every i, in one script; returns how many were removed.
 */
export function forgetFlushed(redis: Redis, listKeys: string[], members: string[]): Promise<number> {
  return callScript<number>(redis, FORGET_FLUSHED.name, listKeys, members);
}
