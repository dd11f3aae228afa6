import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';
import { SEATING_FORMAT } from '../seats/seating-layout';
import { PRESALE_MISS_LIMIT, PRESALE_MISS_WINDOW_MS } from '../presales/access-code';
import type { SalesClosedReason } from '../errors';
import type { Arrangement } from './best-available-scripts';

export const HOLD_SEATS: LuaScript = {
  name: 'boxofficeHoldSeats',
  file: join(__dirname, 'hold-seats.lua'),
};
export const HOLD_COMP_SEATS: LuaScript = {
  name: 'boxofficeHoldCompSeats',
  file: join(__dirname, 'hold-comp-seats.lua'),
};
export const RELEASE_HOLD: LuaScript = {
  name: 'boxofficeReleaseHold',
  file: join(__dirname, 'release-hold.lua'),
};
export const EXPIRE_HOLDS: LuaScript = {
  name: 'boxofficeExpireHolds',
  file: join(__dirname, 'expire-holds.lua'),
};
export const END_CANCELED_HOLDS: LuaScript = {
  name: 'boxofficeEndCanceledHolds',
  file: join(__dirname, 'end-canceled-holds.lua'),
};
export const INDEX_HOLD: LuaScript = {
  name: 'boxofficeIndexHold',
  file: join(__dirname, 'index-hold.lua'),
};

export interface HoldSeatsRequest extends HoldScriptHead {
  seatIds: number[];
}

export type HoldSeatsResult =
  | {
      outcome: 'OK';
      expiresAt: number;
      amount: number;
      currency: string;
      /** Each seat's price (minor units), in the order of the request's seat ids. */
      seatPrices: number[];
    }
  | { outcome: 'UNKNOWN_SEATS'; seatIds: number[] }
  | { outcome: 'UNAVAILABLE'; seatIds: number[] }
  /** `singleSeatId`: the seat the selection would leave empty on its own; `besideSeatId`: the selected seat beside it. */
  | { outcome: 'SINGLE_LEFT'; besideSeatId: number; singleSeatId: number }
  /** NO_LAYOUT: noOrphanSeats is on and the seating data is missing or of another format: build it, ask again. */
  | HoldOutcome;

/**
 * A hold refused before salesOpenAt while a presale is open (the hold-taking include's
 * presaleRefusal): no access code was sent (`presales`: every presale open now, by id and name),
 * or the code sent is none of theirs.
 */
export type PresaleOutcome =
  | { outcome: 'PRESALE_CODE_REQUIRED'; salesOpenAt: number; presales: { id: string; name: string }[] }
  | { outcome: 'ACCESS_CODE_INVALID' }
  /**
   * The code is that of another presale, not open now by Redis TIME (`upcoming`: not yet, else
   * over; `opensAt`, `closesAt`: epoch ms); no miss counted.
   */
  | {
      outcome: 'PRESALE_NOT_NOW';
      presale: { id: string; name: string; opensAt: number; closesAt: number; upcoming: boolean };
    }
  /** The user's wrong codes reached PRESALE_MISS_LIMIT; `retryAfterMs`: what is left of the window. */
  | { outcome: 'ACCESS_CODE_ATTEMPTS'; retryAfterMs: number }
  /**
   * The code's presale has not the seats asked for left of its allocation (`maxSeats`, of which
   * `seatsTaken` are held or sold); nothing held.
   */
  | { outcome: 'PRESALE_EXHAUSTED'; presale: { id: string; name: string }; maxSeats: number; seatsTaken: number };

/**
 * PRESALE_CODE_REQUIRED's, PRESALE_NOT_NOW's, ACCESS_CODE_INVALID's, ACCESS_CODE_ATTEMPTS's or
 * PRESALE_EXHAUSTED's reply as an outcome; null for any other outcome.
 */
export function presaleOutcome(outcome: string, rest: (string | number)[]): PresaleOutcome | null {
  if (outcome === 'ACCESS_CODE_INVALID') return { outcome };
  if (outcome === 'PRESALE_NOT_NOW') {
    const [id, opensAt, closesAt, state, name] = rest;
    const presale = { id: String(id), name: String(name), opensAt: Number(opensAt), closesAt: Number(closesAt) };
    return { outcome, presale: { ...presale, upcoming: state === 'UPCOMING' } };
  }
  if (outcome === 'ACCESS_CODE_ATTEMPTS') return { outcome, retryAfterMs: Number(rest[0]) };
  if (outcome === 'PRESALE_EXHAUSTED') {
    const [id, maxSeats, seatsTaken, name] = rest;
    return {
      outcome,
      presale: { id: String(id), name: String(name) },
      maxSeats: Number(maxSeats),
      seatsTaken: Number(seatsTaken),
    };
  }
  if (outcome !== 'PRESALE_CODE_REQUIRED') return null;
  const presales: { id: string; name: string }[] = [];
  for (let i = 1; i + 1 < rest.length; i += 2) presales.push({ id: String(rest[i]), name: String(rest[i + 1]) });
  return { outcome, salesOpenAt: Number(rest[0]), presales };
}

/**
 * Appends the request's access code (its digest) to a hold script's ARGV as the scripts read it
 * (the hold-taking include's accessCodeArg: last, 'code:<digest>:<miss limit>:<window ms>', the
 * limit and window PRESALE_MISS_LIMIT and PRESALE_MISS_WINDOW_MS); nothing without one.
 */
export function withAccessCode(args: (string | number)[], head: Pick<HoldScriptHead, 'accessCodeDigest'>) {
  if (head.accessCodeDigest !== undefined) {
    args.push(`code:${head.accessCodeDigest}:${PRESALE_MISS_LIMIT}:${PRESALE_MISS_WINDOW_MS}`);
  }
  return args;
}

/**
 * The request's Idempotency-Key made a hold for the same request before (hold-taking.lua's
 * answeredBefore): that hold (`holdId`) as it was first answered, whatever became of it since;
 * nothing was held now.
 */
export interface HoldReplay {
  outcome: 'REPLAY';
  holdId: string;
  expiresAt: number;
  amount: number;
  currency: string;
  /** In the first answer's order. */
  seatIds: number[];
  /** Each seat's price (minor units), in the order of `seatIds`. */
  seatPrices: number[];
  /** The best-available rung; absent for a hold of chosen seat ids. */
  arrangement?: Arrangement;
}

/** A REPLAY reply's fields (hold id, expiresAt, amount, currency, prices, seat ids, arrangement or '') as an outcome. */
export function holdReplay(rest: (string | number)[]): HoldReplay {
  const arrangement = String(rest[6] ?? '');
  return {
    outcome: 'REPLAY',
    holdId: String(rest[0]),
    expiresAt: Number(rest[1]),
    amount: Number(rest[2]),
    currency: String(rest[3]),
    seatPrices: String(rest[4]).split(',').map(Number),
    seatIds: String(rest[5]).split(',').map(Number),
    ...(arrangement === '' ? {} : { arrangement: arrangement as Arrangement }),
  };
}

/** The performance's ticket limit per buyer refused the hold: `bought` + `held` + the seats asked for exceed `limit`. */
export interface TicketLimitOutcome {
  outcome: 'TICKET_LIMIT';
  limit: number;
  bought: number;
  held: number;
}

/** TICKET_LIMIT's reply fields (limit, seats bought, seats held) as an outcome. */
function ticketLimitOutcome(rest: (string | number)[]): TicketLimitOutcome {
  return { outcome: 'TICKET_LIMIT', limit: Number(rest[0]), bought: Number(rest[1]), held: Number(rest[2]) };
}

/**
 * The outcomes both hold scripts (hold-seats.lua, hold-best-available.lua) answer alike, from the
 * hold-taking include: no performance, no seating data of SEATING_FORMAT, the sales window
 * (`salesOpenAt`: epoch ms), the user's seat limit, the ticket limit, the Idempotency-Key's
 * replay or reuse, and the presale refusals.
 */
export type HoldOutcome =
  | { outcome: 'NO_PERFORMANCE' }
  | { outcome: 'NO_LAYOUT' }
  | { outcome: 'SALES_NOT_OPEN'; salesOpenAt: number }
  | { outcome: 'SALES_CLOSED'; reason: SalesClosedReason }
  | { outcome: 'LIMIT'; alreadyHeld: number }
  | TicketLimitOutcome
  | HoldReplay
  | { outcome: 'KEY_REUSED' }
  | PresaleOutcome;

/** The reply `outcome` with its fields `rest` as a {@link HoldOutcome}; null for any other outcome. */
export function holdOutcome(outcome: string, rest: (string | number)[]): HoldOutcome | null {
  switch (outcome) {
    case 'NO_PERFORMANCE':
    case 'NO_LAYOUT':
    case 'KEY_REUSED':
      return { outcome };
    case 'SALES_NOT_OPEN':
      return { outcome, salesOpenAt: Number(rest[0]) };
    case 'SALES_CLOSED':
      return { outcome, reason: String(rest[0]) as SalesClosedReason };
    case 'LIMIT':
      return { outcome, alreadyHeld: Number(rest[0]) };
    case 'TICKET_LIMIT':
      return ticketLimitOutcome(rest);
    case 'REPLAY':
      return holdReplay(rest);
    default:
      return presaleOutcome(outcome, rest);
  }
}

/** Throws for a reply `outcome` that `script` is not known to answer. */
export function unknownReply(script: string, outcome: string): never {
  throw new Error(`${script} answered ${JSON.stringify(outcome)}`);
}

/**
 * KEYS of both hold scripts (hold-seats.lua, hold-best-available.lua), in their order: the
 * performance's meta, seats, prices, counts, expiry index, the user's holds, the new hold's
 * record, the seat holders, the four seating keys, the buyers' tickets bought, the user's index
 * when `head.userIndex` is given, the Idempotency-Key's record when `head.keyDigest` is given,
 * the user's count of wrong access codes when `head.accessCodeDigest` is given, then the records of the expired holds `ending` names (hold ids), for the scripts to end them.
 */
export function holdScriptKeys(
  keys: PerformanceKeys,
  head: Pick<HoldScriptHead, 'userId' | 'holdId' | 'userIndex' | 'keyDigest' | 'accessCodeDigest'>,
  ending: readonly string[],
): string[] {
  // One array, no spreads: this runs on every hold (see seatingKeys for the four seating keys' order).
  const names = [
    keys.meta,
    keys.seats,
    keys.prices,
    keys.counts,
    keys.expiry,
    keys.userHolds(head.userId),
    keys.hold(head.holdId),
    keys.seatHolds,
    keys.free,
    keys.seating,
    keys.runs,
    keys.seatInfo,
    keys.ticketsBought,
  ];
  if (head.userIndex) names.push(head.userIndex.key);
  if (head.keyDigest !== undefined) names.push(keys.holdRequest(head.userId, head.keyDigest));
  if (head.accessCodeDigest !== undefined) names.push(keys.presaleMisses(head.userId));
  for (const id of ending) names.push(keys.hold(id));
  return names;
}

/** What both hold scripts are told about the hold they make, whatever picks its seats. */
export interface HoldScriptHead {
  holdId: string;
  userId: string;
  performanceId: number;
  lifetimeMs: number;
  userLimit: number;
  retentionMs: number;
  /**
   * The user's index of performances with holds (`key`) and until when the hold's entry counts
   * (`until`, epoch ms), for the script to write with the hold (only when it is made). Only on a
   * single Redis: on a Redis Cluster the index lies in the user's slot, so HoldStore writes it
   * with `index-hold.lua` instead.
   */
  userIndex?: { key: string; until: number };
  /**
   * The digest (digestOfKey) of the request's Idempotency-Key, when it has one: the script answers
   * the hold the key made before (REPLAY, or KEY_REUSED for another request) and records the hold it
   * makes under it. Absent, the call is what it was without keys: no key, no argument more.
   */
  keyDigest?: string;
  /**
   * The digest (accessCodeDigest) of the access code the buyer sent, when they sent one: before
   * salesOpenAt, a presale open now whose code it is lets the hold in (the record keeps the
   * presale's id). Absent, no argument more; after the on-sale it is ignored.
   */
  accessCodeDigest?: string;
}

/**
 * ARGV[1..8] of hold-best-available.lua, in its order: hold id, user id, performance id, hold
 * lifetime (ms), the user's seat limit, how long the record stays readable after expiry (ms), the
 * seating data's format the script accepts (SEATING_FORMAT; any other is NO_LAYOUT), and
 * `userIndex.until` (epoch ms) or '' without it. hold-seats.lua takes {@link holdSeatsArgs}.
 */
export function holdScriptArgs(head: HoldScriptHead): (string | number)[] {
  return [
    head.holdId,
    head.userId,
    head.performanceId,
    head.lifetimeMs,
    head.userLimit,
    head.retentionMs,
    SEATING_FORMAT,
    head.userIndex ? head.userIndex.until : '',
  ];
}

/** No expired holds to end (a first run): shared, never written. */
const NO_HOLDS: readonly string[] = [];

/**
 * ARGV[1..5] of hold-seats.lua: {@link holdScriptArgs} without the hold, user and performance ids,
 * which the script reads from its keys (the hold's record, the user's holds, the meta's tag), so
 * that a call sends each id once.
 */
function holdSeatsArgs(head: HoldScriptHead): (string | number)[] {
  return [
    head.lifetimeMs,
    head.userLimit,
    head.retentionMs,
    SEATING_FORMAT,
    head.userIndex ? head.userIndex.until : '',
  ];
}

/**
 * Expired holds the script may have to end before it can hold: one call names them, the next
 * passes their records. More rounds happen only if a seat is taken and its hold expires again
 * between two calls, which takes a whole hold lifetime.
 */
const HOLD_SEATS_ROUNDS = 4;

/**
 * Holds all of `request`'s seats or none (`hold-seats.lua`), ending the expired holds the script
 * names first (at most HOLD_SEATS_ROUNDS runs; the first usually answers). Throws when expired
 * holds keep appearing for that many runs.
 */
export function holdSeats(redis: Redis, keys: PerformanceKeys, request: HoldSeatsRequest): Promise<HoldSeatsResult> {
  return holdSeatsRound(redis, keys, request, NO_HOLDS, 1);
}

/**
 * One run of the hold script ending `ending` (hold ids); another (at most HOLD_SEATS_ROUNDS in
 * all) when it names more expired holds to end, with those added. A `.then` chain, not an `async`
 * loop: the usual first run that holds makes one promise rather than an `async` function's two,
 * and no set or copy of the (empty) list.
 */
function holdSeatsRound(
  redis: Redis,
  keys: PerformanceKeys,
  request: HoldSeatsRequest,
  ending: readonly string[],
  round: number,
): Promise<HoldSeatsResult> {
  const args = holdSeatsArgs(request);
  for (const holdId of ending) args.push(holdId);
  for (const seatId of request.seatIds) args.push(seatId);
  return callScript<[string, ...(string | number)[]]>(
    redis,
    HOLD_SEATS.name,
    holdScriptKeys(keys, request, ending),
    withAccessCode(args, request),
  ).then(([outcome, ...rest]) => {
    if (outcome !== 'END_HOLDS') return holdSeatsResult(outcome, rest);
    if (round === HOLD_SEATS_ROUNDS) {
      throw new Error(`hold-seats.lua still found expired holds to end after ${HOLD_SEATS_ROUNDS} rounds`);
    }
    const more = [...new Set([...ending, ...rest.map(String)])];
    return holdSeatsRound(redis, keys, request, more, round + 1);
  });
}

function holdSeatsResult(outcome: string, rest: (string | number)[]): HoldSeatsResult {
  const numbers = rest.map(Number);
  switch (outcome) {
    case 'OK':
      return {
        outcome,
        expiresAt: numbers[0],
        amount: numbers[1],
        currency: String(rest[2]),
        seatPrices: String(rest[3]).split(',').map(Number),
      };
    case 'UNKNOWN_SEATS':
    case 'UNAVAILABLE':
      return { outcome, seatIds: numbers };
    case 'SINGLE_LEFT':
      return { outcome, besideSeatId: numbers[0], singleSeatId: numbers[1] };
    default:
      return holdOutcome(outcome, rest) ?? unknownReply('hold-seats.lua', outcome);
  }
}

/**
 * An operator's hold request (hold-comp-seats.lua): the seats for their owner (`userId`), as a comp
 * (the recipient, with the operator's note) or as a box office sale (the selling staff or admin
 * account, with the payment method taken at the window and the ticket ids taken ahead, in the
 * order of `seatIds`). No user index: an operator's hold is not listed among its owner's holds.
 */
export interface HoldCompSeatsRequest extends Omit<HoldScriptHead, 'userLimit' | 'userIndex' | 'keyDigest'> {
  seatIds: number[];
  /** What the hold is for; carried into the purchase. */
  sale: OperatorSale;
  /**
   * Blocked seats may be taken (as available ones are, in the same run): a comp's includeBlocked,
   * only under the performance's row lock, whose transaction deletes their blocks. Absent: a blocked
   * seat is unavailable.
   */
  takeBlocked?: boolean;
}

/**
 * A comp (its note, non-empty; a guest comp also where its e-mails go) or a box office sale (payment
 * method, one ticket id a seat, where its e-mails go when given).
 */
export type OperatorSale =
  | { kind: 'COMP'; note: string; deliveryEmail?: string; deliveryName?: string }
  | { kind: 'BOX_OFFICE'; paymentMethod: string; ticketIds: string[]; deliveryEmail?: string; deliveryName?: string };

/**
 * What hold-comp-seats.lua answers: the hold (`fromBlocked`: the seats it took from blocked ones,
 * in request order), or why none was made.
 */
export type HoldCompSeatsResult =
  | (Extract<HoldSeatsResult, { outcome: 'OK' }> & { fromBlocked: number[] })
  | Extract<HoldSeatsResult, { outcome: 'NO_PERFORMANCE' | 'UNKNOWN_SEATS' | 'UNAVAILABLE' | 'SALES_NOT_OPEN' }>
  | { outcome: 'SALES_CLOSED'; reason: Extract<SalesClosedReason, 'CANCELED' | 'CLOSED' | 'PAUSED'> };

/**
 * Holds all of an operator's seats or none (`hold-comp-seats.lua`: no per-user limits; a comp
 * priced 0 with its note and no sales window, a box office sale at today's prices with its payment
 * method, from the on-sale on while not paused), ending the expired holds the script names first,
 * as {@link holdSeats} does (at most HOLD_SEATS_ROUNDS runs). Throws when expired holds keep appearing.
 */
export function holdCompSeats(
  redis: Redis,
  keys: PerformanceKeys,
  request: HoldCompSeatsRequest,
): Promise<HoldCompSeatsResult> {
  return holdCompSeatsRound(redis, keys, request, new Set<string>(), 1);
}

async function holdCompSeatsRound(
  redis: Redis,
  keys: PerformanceKeys,
  request: HoldCompSeatsRequest,
  holdsToEnd: Set<string>,
  round: number,
): Promise<HoldCompSeatsResult> {
  const ending = [...holdsToEnd];
  const { sale } = request;
  const [outcome, ...rest] = await callScript<[string, ...(string | number)[]]>(
    redis,
    HOLD_COMP_SEATS.name,
    holdScriptKeys(keys, request, ending),
    [
      request.lifetimeMs,
      request.retentionMs,
      sale.kind,
      sale.kind === 'COMP' ? sale.note : sale.paymentMethod,
      sale.kind === 'COMP' ? '' : sale.ticketIds.join(','),
      sale.deliveryEmail ?? '',
      sale.deliveryName ?? '',
      request.takeBlocked === true ? '1' : '',
      ...ending,
      ...request.seatIds,
    ],
  );
  if (outcome === 'END_HOLDS') {
    if (round === HOLD_SEATS_ROUNDS) {
      throw new Error(`hold-comp-seats.lua still found expired holds to end after ${HOLD_SEATS_ROUNDS} rounds`);
    }
    for (const holdId of rest) holdsToEnd.add(String(holdId));
    return holdCompSeatsRound(redis, keys, request, holdsToEnd, round + 1);
  }
  if (!['OK', 'NO_PERFORMANCE', 'UNKNOWN_SEATS', 'UNAVAILABLE', 'SALES_CLOSED', 'SALES_NOT_OPEN'].includes(outcome)) {
    throw new Error(`hold-comp-seats.lua answered ${JSON.stringify(outcome)}`);
  }
  const result = holdSeatsResult(outcome, rest);
  if (result.outcome !== 'OK') return result as HoldCompSeatsResult;
  const fromBlocked = String(rest[4] ?? '');
  return { ...result, fromBlocked: fromBlocked === '' ? [] : fromBlocked.split(',').map(Number) };
}

/**
 * Notes `performanceId` in the user's index of performances with holds (`indexKey`) until
 * `until` (epoch ms), keeping a later score already there, and makes the index expire then
 * (`index-hold.lua`). Answers 1.
 */
export function indexHold(redis: Redis, indexKey: string, until: number, performanceId: number): Promise<number> {
  return callScript<number>(redis, INDEX_HOLD.name, [indexKey], [until, performanceId]);
}

export type ReleaseHoldResult = 'RELEASED' | 'NOT_FOUND' | 'ALREADY_RELEASED' | 'EXPIRED' | 'PURCHASED';

/**
 * Ends the caller's live hold now (release-hold.lua). `operator`: the operator path (CompService or
 * BoxOfficeService ending its hold whose purchase failed), the only one that releases an operator's
 * hold (a comp's, a box office sale's), and only those; off it such a hold is NOT_FOUND.
 */
export function releaseHold(
  redis: Redis,
  keys: PerformanceKeys,
  holdId: string,
  userId: string,
  operator = false,
): Promise<ReleaseHoldResult> {
  return callScript<ReleaseHoldResult>(
    redis,
    RELEASE_HOLD.name,
    [keys.seats, keys.counts, keys.expiry, keys.hold(holdId), ...seatingKeys(keys), keys.seatHolds, keys.meta],
    [holdId, userId, operator ? '1' : ''],
  );
}

/**
 * KEYS[1..8] of the scripts that end holds in bulk (expire-holds.lua, end-canceled-holds.lua): the
 * performance's seats, counts, hold expiry index, the four seating keys and the seat holders.
 */
function holdEndingKeys(keys: PerformanceKeys): string[] {
  return [keys.seats, keys.counts, keys.expiry, ...seatingKeys(keys), keys.seatHolds];
}

export interface ExpireHoldsResult {
  holds: number;
  seats: number;
}

/**
 * Ends those of `holdIds` (candidates of one performance, read from its expiry index) that are
 * still HELD and past expiry, freeing their seats and giving a presale hold's back to its
 * allocation (in the meta hash); each hold's record is passed in KEYS.
 */
export async function expireHolds(redis: Redis, keys: PerformanceKeys, holdIds: string[]): Promise<ExpireHoldsResult> {
  const [holds, seats] = await callScript<[number, number]>(
    redis,
    EXPIRE_HOLDS.name,
    [...holdEndingKeys(keys), keys.meta, ...holdIds.map((holdId) => keys.hold(holdId))],
    holdIds,
  );
  return { holds, seats };
}

/** What end-canceled-holds.lua did: holds ended and seats freed, or nothing when the live status is not CANCELED. */
export type EndCanceledHoldsResult = { outcome: 'OK'; holds: number; seats: number } | { outcome: 'NOT_CANCELED' };

/**
 * Ends those of `holdIds` (read from the expiry index of a performance whose live status is
 * CANCELED) that are still HELD, freeing their seats, and drops every one of them from the index
 * (end-canceled-holds.lua); each hold's record is passed in KEYS. NOT_CANCELED: the live status is
 * not CANCELED (or the performance is not registered), nothing changed.
 */
export async function endCanceledHolds(
  redis: Redis,
  keys: PerformanceKeys,
  holdIds: string[],
): Promise<EndCanceledHoldsResult> {
  const [outcome, holds, seats] = await callScript<[string, number?, number?]>(
    redis,
    END_CANCELED_HOLDS.name,
    [...holdEndingKeys(keys), keys.meta, ...holdIds.map((holdId) => keys.hold(holdId))],
    holdIds,
  );
  if (outcome === 'NOT_CANCELED') return { outcome };
  if (outcome !== 'OK') throw new Error(`end-canceled-holds.lua answered ${JSON.stringify(outcome)}`);
  return { outcome, holds: Number(holds), seats: Number(seats) };
}
