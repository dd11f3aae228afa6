import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, LuaScript } from '@app/redis';
import { PerformanceKeys, seatingKeys } from '../redis-keys';

export const REGISTER_SEATS: LuaScript = {
  name: 'boxofficeRegisterSeats',
  file: join(__dirname, 'register-seats.lua'),
};

export const FINISH_REGISTRATION: LuaScript = {
  name: 'boxofficeFinishRegistration',
  file: join(__dirname, 'finish-registration.lua'),
};

export const REBUILD_LEASE: LuaScript = {
  name: 'boxofficeRebuildLease',
  file: join(__dirname, 'rebuild-lease.lua'),
};

export const RAISE_TICKETS_BOUGHT: LuaScript = {
  name: 'boxofficeRaiseTicketsBought',
  file: join(__dirname, 'raise-tickets-bought.lua'),
};

/** Buyers per raise-tickets-bought.lua call: a few hundred microseconds of Redis each. */
const TICKETS_BOUGHT_CHUNK = 1000;

/**
 * Raises each buyer's count of seats bought (`{perf:<id>}:tickets-bought`) to at least the
 * given `seats` (read from PostgreSQL), in calls of TICKETS_BOUGHT_CHUNK buyers; a higher count
 * stays (raise-tickets-bought.lua). With `markCounted`, the last call marks the performance's
 * meta hash `ticketsCounted` (its counts complete: never raised from PostgreSQL again). Answers
 * the number of counts raised.
 */
export async function raiseTicketsBought(
  redis: Redis,
  keys: PerformanceKeys,
  counts: readonly { userId: string; seats: number }[],
  markCounted = false,
): Promise<number> {
  let raised = 0;
  let start = 0;
  do {
    const chunk = counts.slice(start, start + TICKETS_BOUGHT_CHUNK);
    start += TICKETS_BOUGHT_CHUNK;
    const last = start >= counts.length;
    const pairs = chunk.flatMap(({ userId, seats }) => [userId, seats]);
    raised += await callScript<number>(
      redis,
      RAISE_TICKETS_BOUGHT.name,
      [keys.ticketsBought, keys.meta],
      [markCounted && last ? '1' : '0', ...pairs],
    );
  } while (start < counts.length);
  return raised;
}

export const CLOSE_SALES: LuaScript = {
  name: 'boxofficeCloseSales',
  file: join(__dirname, 'close-sales.lua'),
};

export const REOPEN_SALES: LuaScript = {
  name: 'boxofficeReopenSales',
  file: join(__dirname, 'reopen-sales.lua'),
};

export const RENEW_SALES_CLOSURE: LuaScript = {
  name: 'boxofficeRenewSalesClosure',
  file: join(__dirname, 'renew-sales-closure.lua'),
};

/**
 * Closes the performance to sales as `token`'s closure (letters, digits and '-': the caller's own,
 * e.g. a random UUID), shared with any other closer's (close-sales.lua), for a lease of `leaseMs`
 * ms by Redis TIME (a positive integer): unless renewed ({@link renewSalesClosure}) it lapses
 * then, and sales go on as if it had been reopened. Answers the seats sold and
 * held when it was closed, and `unwritten`: the entries of its purchase stream then (purchases and
 * cancellations not yet in PostgreSQL); not closed when either of sold and unwritten is above 0
 * (`closed` false), nor, with `unheld`, while a seat is held; null when it is not registered.
 * Throws (a Redis error) on a malformed token.
 */
export async function closeSales(
  redis: Redis,
  keys: PerformanceKeys,
  token: string,
  leaseMs: number,
  unheld = false,
): Promise<SalesAtClose | null> {
  const [outcome, sold, held, unwritten, parked] = await callScript<[string, number?, number?, number?, number?]>(
    redis,
    CLOSE_SALES.name,
    [keys.meta, keys.counts, keys.purchaseStream, keys.purchaseDeadLetters],
    [unheld ? 'unheld' : '', token, leaseMs],
  );
  if (outcome === 'NO_PERFORMANCE') return null;
  return { closed: outcome === 'CLOSED', sold: sold!, held: held!, unwritten: unwritten!, parked: parked! };
}

/**
 * Renews `token`'s closure of the performance (renew-sales-closure.lua) for `lease`: ms from now
 * by Redis TIME, or 'final' (no deadline: a delete about to commit). False when it had lapsed or
 * never stood (nothing written): sales may have been made since, so its closer must give up.
 */
export async function renewSalesClosure(
  redis: Redis,
  keys: PerformanceKeys,
  token: string,
  lease: number | 'final',
): Promise<boolean> {
  return (await callScript<number>(redis, RENEW_SALES_CLOSURE.name, [keys.meta], [token, lease])) === 1;
}

/**
 * Ends `token`'s closure of the performance (reopen-sales.lua): sales open once no other closer's
 * closure stands; lapsed leases are dropped. False when `token` held no standing closure of it.
 * An empty `token` only drops lapsed leases.
 */
export async function reopenSales(redis: Redis, keys: PerformanceKeys, token: string): Promise<boolean> {
  return (await callScript<number>(redis, REOPEN_SALES.name, [keys.meta], [token])) === 1;
}

/**
 * What close-sales.lua saw: `closed` false when a sold seat, an unwritten purchase stream entry
 * or a parked purchase kept the performance open (its delete is refused; nothing to reopen).
 */
export interface SalesAtClose {
  /** The caller's token is now part of the performance's closure: it reopens with that token. */
  closed: boolean;
  sold: number;
  held: number;
  /** Entries of the purchase stream: purchases and cancellations not written to PostgreSQL yet. */
  unwritten: number;
  /** Purchase entries the flusher parked (PostgreSQL refused them for good; buyers paid for them). */
  parked: number;
}

export interface SeatRegistration {
  id: number;
  /** An integer in minor units of the performance's currency. */
  price: number;
  sold: boolean;
  /** Blocked by an operator (seat_blocks); `sold` wins. */
  blocked?: boolean;
}

/**
 * Returns how many of the seats were new, or -1 when `lease` (a rebuild's token; null for a first
 * registration) is no longer the performance's rebuild lease: nothing written.
 */
export function registerSeats(
  redis: Redis,
  keys: PerformanceKeys,
  seats: SeatRegistration[],
  lease: string | null = null,
): Promise<number> {
  const args = [lease ?? '', ...seats.flatMap((seat) => [seat.id, seat.price, seat.sold ? 1 : seat.blocked ? 2 : 0])];
  return callScript<number>(
    redis,
    REGISTER_SEATS.name,
    [keys.seats, keys.prices, keys.counts, ...seatingKeys(keys), keys.rebuildLease],
    args,
  );
}

/**
 * Writes the meta hash that makes a performance registered (finish-registration.lua): `set` and
 * `cleared` are its lifecycle fields, `lease` the rebuild lease's token (null for a first
 * registration). False when the lease is no longer the caller's: nothing was written.
 */
export async function finishRegistration(
  redis: Redis,
  keys: PerformanceKeys,
  registration: {
    lease: string | null;
    salesOpenAt: number;
    currency: string;
    set: Record<string, string | number>;
    cleared: string[];
  },
): Promise<boolean> {
  const pairs = Object.entries(registration.set).flat();
  const written = await callScript<number>(
    redis,
    FINISH_REGISTRATION.name,
    [keys.meta, keys.counts, keys.rebuildLease],
    [
      registration.lease ?? '',
      registration.salesOpenAt,
      registration.currency,
      pairs.length / 2,
      ...pairs,
      ...registration.cleared,
    ],
  );
  return written === 1;
}

/** Renews the rebuild lease for `leaseMs` (ms) or ends it, while it is `token`'s; false otherwise. */
export async function changeRebuildLease(
  redis: Redis,
  keys: PerformanceKeys,
  token: string,
  change: { renewForMs: number } | 'release',
): Promise<boolean> {
  const args = change === 'release' ? [token, 'release', 0] : [token, 'renew', change.renewForMs];
  return (await callScript<number>(redis, REBUILD_LEASE.name, [keys.rebuildLease], args)) === 1;
}
