/**
 * Every Redis key of the ticketing rules, in one place. ioredis adds the deployment's
 * REDIS_KEY_PREFIX to each of them (also to script KEYS), so none is written with it here.
 *
 * All keys of one performance start with the hash tag `{perf:<id>}`: they share one Redis
 * Cluster slot, so a Lua script may touch any of them atomically. The keys outside a
 * performance's tag are used by single-key commands alone: the registry of performances the
 * sweeper and the flusher walk, the hold and purchase id → performance id pointers, the box office
 * tickets' id → sale pointers, the
 * per-user indexes (purchases not flushed yet, performances with live holds), and the
 * idempotency records.
 */

/** Set of the ids of every registered performance. */
export const PERFORMANCE_REGISTRY_KEY = 'performances';

/** String holding the performance id of a hold, so a hold can be found by its id alone. */
export function holdPointerKey(holdId: string): string {
  return `hold-performance:${holdId}`;
}

/** String holding the performance id of a purchase, so a purchase can be found by its id alone. */
export function purchasePointerKey(purchaseId: string): string {
  return `purchase-performance:${purchaseId}`;
}

/**
 * String holding the id of the box office sale whose ticket `ticketId` is, a ticket id it took
 * ahead of its flush (TicketAheadPointers): a ticket found by its id alone before PostgreSQL has it.
 */
export function ticketAheadPointerKey(ticketId: string): string {
  return `ticket-ahead:${ticketId}`;
}

/**
 * Sorted set of a user's purchases that are in Redis and not yet in PostgreSQL (or whose
 * cancellation is not), scored by creation time (epoch ms); members are `<performanceId>:<purchaseId>`.
 */
export function userPurchasesKey(userId: string): string {
  return `user-purchases:${userId}`;
}

/** A member of {@link userPurchasesKey}: `<performanceId>:<purchaseId>`. */
export function userPurchasesMember(performanceId: number, purchaseId: string): string {
  return `${performanceId}:${purchaseId}`;
}

/**
 * Sorted set of the performances on which a user may have a live hold, scored by an upper bound
 * of the latest such hold's expiry (epoch ms). Written before the hold itself, so it lists every
 * performance with a live hold of the user (and maybe a few without: readers check the holds).
 */
export function userHoldPerformancesKey(userId: string): string {
  return `user-hold-performances:${userId}`;
}

/** String: a claim (`pending:<token>`) or the stored answer (JSON) of one Idempotency-Key of one user. */
export function idempotencyKey(userId: string, keyDigest: string): string {
  return `idempotency:${userId}:${keyDigest}`;
}

export interface PerformanceKeys {
  /**
   * Hash: salesOpenAt (epoch ms), currency (ISO 4217), and what the scripts enforce: closed (the
   * closers' tokens while a delete or a time zone change runs; see close-sales.lua), status
   * (PAUSED, CLOSED or CANCELED; absent = ON_SALE), salesCloseAt (epoch ms),
   * cancelUntil (epoch ms, or 'none'), noOrphanSeats (1 when on), maxTicketsPerBuyer (seats; absent
   * = no limit), ticketsCounted (1 when `ticketsBought` is complete). currency is written last by registration: it means "registered".
   */
  meta: string;
  /** Hash: seat id → status letter (A available, H held, S sold). */
  seats: string;
  /**
   * Hash: seat id → `<expiresAt (epoch ms)>:<hold id>` of the hold that took the seat last;
   * meaningful only while the seat is H, so a seat of an expired hold reads, and holds, as free;
   * but a house seat of it (in its record's `fromBlock`) reads as blocked and is refused.
   */
  seatHolds: string;
  /** Hash: seat id → price, an integer in minor units of the performance's currency. */
  prices: string;
  /** Hash: total, available, held, sold — kept exact by the scripts. */
  counts: string;
  /** Sorted set: id of every HELD hold, scored by its expiry (epoch ms). */
  expiry: string;
  /**
   * Hash: user id → seats of the user's paid purchases of the performance not canceled, kept by
   * purchase.lua and cancel-purchase.lua, written from PostgreSQL when the state is registered or
   * rebuilt (the meta hash's `ticketsCounted`); the hold scripts read it for the performance's
   * ticket limit per buyer (maxTicketsPerBuyer).
   */
  ticketsBought: string;
  /** Hash: the stepwise count of available seats per section (answer, answeredAt, cursor, partial). */
  sectionAvailability: string;
  /**
   * String: the token of the process rebuilding the performance's live state from PostgreSQL
   * (SeatStateRebuilder), with a lease (PX) it renews while it works; one rebuild at a time.
   */
  rebuildLease: string;
  /** SCAN pattern of every key of the performance (the tag holds no glob character). */
  everyKey: string;
  /**
   * Hash: userId, performanceId, seats (comma-separated), amount (minor units), currency, status,
   * createdAt, expiresAt; an operator's comp that took blocked seats also fromBlock (those seats,
   * comma-separated: back to blocked when the hold ends unbought).
   */
  hold(holdId: string): string;
  /** Hash: hold id → seat count, for every hold of one user that may still be live. */
  userHolds(userId: string): string;
  /**
   * Hash: what a buyer's hold request with an Idempotency-Key asked for (`request`), the hold it
   * made (`hold`) and that hold's first answer (`expiresAt`, `amount`, `currency`, `prices`,
   * `seats`, `arrangement`), so that a retry answers it again (lua-includes/hold-taking.lua); kept
   * as long as the hold's record. `keyDigest`: digestOfKey of the key. The name must end
   * `:hold-request:<user id>:<key digest>`: the hold scripts tell the record from hold records by it.
   */
  holdRequest(userId: string, keyDigest: string): string;
  /**
   * Hash: what an operator's refund with an Idempotency-Key asked for (`request`), its refund id
   * (`refundId`) and the refund script's answer (`answer`), so that a retry answers it again
   * (lua-includes/refund-request.lua); kept IDEMPOTENCY_ANSWER_TTL_SECONDS. Written by the refund's
   * own script run. `keyDigest`: digestOfKey of the key.
   */
  refundRequest(operatorId: string, keyDigest: string): string;
  /**
   * String: how many wrong presale access codes the user sent for this performance in the current
   * window (PRESALE_MISS_LIMIT per PRESALE_MISS_WINDOW_MS, presales/access-code.ts); expires with the
   * window. The name must end `:presale-misses:<user id>`: the hold scripts tell it by its name.
   */
  presaleMisses(userId: string): string;
  /**
   * Hash: id, reservationId, userId, performanceId, seats, amount (minor units), currency, chargeId, status,
   * createdAt, canceledAt.
   */
  purchase(purchaseId: string): string;
  /**
   * Set: seat ids of the purchase checked in at the door, marked before PostgreSQL records the
   * check-in, so that the cancel script sees a check-in the moment it began (tickets/check-in-mark.lua).
   */
  checkedIn(purchaseId: string): string;
  /**
   * Set: the purchase's check-ins undone at the door (`DELETE /check-in/:ticketId`), each
   * `<seat id>/<check-in identity>` (the ticket's `check_in_mark`, or `at:<epoch µs>`), for 24 h: a
   * cancel that read the check-in from PostgreSQL before its undo leaves it out
   * (tickets/check-in-undo.lua, purchases/cancel-purchase.lua).
   */
  checkInsUndone(purchaseId: string): string;
  /**
   * Set: seat ids of the purchase whose ticket a transfer's recipient is accepting or accepted,
   * marked before PostgreSQL records the accept, so that a buyer's cancel script sees it the moment
   * it began (tickets/transfer-mark.lua, purchases/cancel-purchase.lua).
   */
  transferred(purchaseId: string): string;
  /**
   * Hash: seat id -> id of the transfer whose accept set the seat's mark in `transferred`
   * (tickets/transfer-mark.lua), so a take-back removes only the mark it read as dead, never one a
   * newer accept set since (tickets/unmark-transfers.lua). A mark an earlier version set has no entry.
   */
  transferOwners(purchaseId: string): string;
  /** Stream: purchases and cancellations waiting to be written to PostgreSQL by `batch`. */
  purchaseStream: string;
  /**
   * Stream: purchase entries PostgreSQL refused for good (an integrity error, e.g. the buyer's
   * account is gone), parked by the flusher for an operator: the entry's fields plus `error`
   * (SQLSTATE and message) and `parkedAt` (epoch ms). Nothing reads it automatically.
   */
  purchaseDeadLetters: string;
  /**
   * Best-available seating data (docs/seating.md, lua-includes/seating.lua): `free` a bitmap
   * (bit = layout position − 1, 1 while the seat's letter is A); `seating` the static layout hash
   * (seat id → bit and row, rows, sections, best-first section lists); `runs` a 34-byte slot per
   * row and section (longest free run, best free quality, best clean windows of 2…8 seats with
   * their places, best free accessible quality: docs/seating.md, "The data"); `seatInfo` 8 bytes
   * per layout position (seat id, quality, flags).
   */
  free: string;
  seating: string;
  runs: string;
  seatInfo: string;
}

/** Performances whose key names {@link performanceKeys} keeps; past this it starts over (no LRU to pay for). */
const MAX_KEPT_PERFORMANCE_KEYS = 10_000;
const keptPerformanceKeys = new Map<number, Readonly<PerformanceKeys>>();

/**
 * The performance's keys, made once per performance and kept (frozen): every hold and purchase
 * asks for them, and building the ~20 names each time was ~1 KB of garbage a call. The
 * per-hold/purchase/user names (`hold(id)`, …) are still built on each call.
 */
export function performanceKeys(performanceId: number): Readonly<PerformanceKeys> {
  let keys = keptPerformanceKeys.get(performanceId);
  if (keys === undefined) {
    if (keptPerformanceKeys.size >= MAX_KEPT_PERFORMANCE_KEYS) keptPerformanceKeys.clear();
    keys = Object.freeze(newPerformanceKeys(performanceId));
    keptPerformanceKeys.set(performanceId, keys);
  }
  return keys;
}

function newPerformanceKeys(performanceId: number): PerformanceKeys {
  const tag = `{perf:${performanceId}}`;
  return {
    meta: `${tag}:meta`,
    seats: `${tag}:seats`,
    seatHolds: `${tag}:seat-holds`,
    prices: `${tag}:prices`,
    counts: `${tag}:counts`,
    expiry: `${tag}:expiry`,
    ticketsBought: `${tag}:tickets-bought`,
    sectionAvailability: `${tag}:cache:section-available`,
    rebuildLease: `${tag}:rebuild-lease`,
    everyKey: `${tag}:*`,
    hold: (holdId) => `${tag}:hold:${holdId}`,
    userHolds: (userId) => `${tag}:user:${userId}:holds`,
    holdRequest: (userId, keyDigest) => `${tag}:hold-request:${userId}:${keyDigest}`,
    refundRequest: (operatorId, keyDigest) => `${tag}:refund-request:${operatorId}:${keyDigest}`,
    presaleMisses: (userId) => `${tag}:presale-misses:${userId}`,
    purchase: (purchaseId) => `${tag}:purchase:${purchaseId}`,
    checkedIn: (purchaseId) => `${tag}:checked-in:${purchaseId}`,
    checkInsUndone: (purchaseId) => `${tag}:check-ins-undone:${purchaseId}`,
    transferred: (purchaseId) => `${tag}:transferred:${purchaseId}`,
    transferOwners: (purchaseId) => `${tag}:transferred-by:${purchaseId}`,
    purchaseStream: `${tag}:purchases`,
    purchaseDeadLetters: `${tag}:purchases-parked`,
    free: `${tag}:free`,
    seating: `${tag}:seating`,
    runs: `${tag}:runs`,
    seatInfo: `${tag}:seat-info`,
  };
}

/**
 * The four keys of the seating data, in the order every script that frees or takes a seat takes
 * them (lua-includes/seating.lua): free, seating, runs, seatInfo.
 */
export function seatingKeys(keys: PerformanceKeys): [string, string, string, string] {
  return [keys.free, keys.seating, keys.runs, keys.seatInfo];
}

/**
 * String: the charge id of a sandbox charge made (SandboxPaymentGateway: approved, or `tok_timeout`'s,
 * set by its first ask, whose answer was lost), which `findCharge` reads; kept 24 h. `idempotencyKey`
 * is the charge's (a purchase id).
 */
export function sandboxChargeKey(idempotencyKey: string): string {
  return `sandbox-charge:${idempotencyKey}`;
}
