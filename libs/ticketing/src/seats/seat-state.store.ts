import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import type { PerformanceStatus } from '@app/database';
import { hmgetMany, RepeatedHmget, scanEveryPrimary } from '@app/redis';
import { InvalidInputError, NotFoundError } from '../errors';
import { assertCurrency, assertPerformanceId, assertPrice, assertSeatIds } from '../input';
import { PERFORMANCE_REGISTRY_KEY, PerformanceKeys, performanceKeys } from '../redis-keys';
import { defineTicketingScripts } from '../lua-scripts';
import { FreeSeats, freeSeatsAfter } from '../catalog/free-seats-scripts';
import {
  changeRebuildLease,
  closeSales,
  renewSalesClosure,
  reopenSales,
  finishRegistration,
  raiseTicketsBought,
  registerSeats,
  SalesAtClose,
  SeatRegistration,
} from './seat-scripts';
import { buildSeatingLayout, SEATING_FORMAT, SeatPlace } from './seating-layout';
import {
  LUA_UNPACK_PAIRS,
  rebuildSeating,
  SeatingWrite,
  seatingWrite,
  stepSeatingFormat,
  writeSeatingLayout,
} from './seating-scripts';
import { SeatStatus, seatStatusFromLetter } from './seat-status';
import { WAITING_ROOM_REGISTRY_KEY, waitingRoomKeys } from '../waiting-room/waiting-room-keys';
import { keepClosedTickets } from '../waiting-room/waiting-room.store';
import { PresaleWindow, presaleAllocationFields, presaleMetaField } from '../presales/presale-fields';

export interface PerformanceRegistration {
  performanceId: number;
  salesOpenAt: Date;
  /** ISO 4217 code of the event, which the seat prices are in. */
  currency: string;
  /** Each seat's price is an integer in minor units of `currency`. */
  seats: { id: number; price: number }[];
  /** Seats already sold (persisted purchases), when rebuilding a performance's state. */
  sold?: number[];
  /** Seats an operator blocked (seat_blocks), when rebuilding; a sold seat stays sold. */
  blocked?: number[];
  /** What the scripts check besides the seats; absent = on sale with no end and no cancel limit. */
  lifecycle?: PerformanceLifecycle;
  /**
   * Every seat's place in layout order, for best-available holds (registerSeating); absent = no
   * seating data (best-available answers NO_LAYOUT until it is registered).
   */
  places?: SeatPlace[];
  /**
   * Per buyer, the seats of their purchases not canceled (PostgreSQL's): the counts the ticket
   * limit per buyer reads, written before the performance is marked registered; given, the
   * counts are marked complete (`ticketsCounted`).
   */
  ticketsBought?: readonly { userId: string; seats: number }[];
  /**
   * The performance's presales (their windows and codes' digests), written into the meta hash
   * with the lifecycle, where the hold scripts check access codes (presaleMetaField).
   */
  presales?: readonly PresaleWindow[];
  /**
   * Per presale id, the seats taken under it (PostgreSQL's active tickets of its purchases): each
   * presale's count against its allocation starts there (absent: 0). A live hold is not in it: a
   * rebuild follows the loss of the holds with the rest of the state.
   */
  presaleSeatsSold?: ReadonlyMap<string, number>;
}

/** The lifecycle fields the hold, purchase and cancel scripts read from the performance's meta hash. */
export interface PerformanceLifecycle {
  status: PerformanceStatus;
  /** Holds and purchases are refused from this moment on (by Redis TIME). */
  salesCloseAt: Date;
  /** Buyers may cancel until this moment (by Redis TIME); null = never. */
  cancelUntil: Date | null;
  /** Seat-id holds may not leave a single free seat (hold-seats.lua); absent = false. */
  noOrphanSeats?: boolean;
  /**
   * Seats one buyer may have bought and hold together (the hold scripts' TICKET_LIMIT); null or
   * absent = no limit beyond MAX_SEATS_PER_RESERVATION held at once.
   */
  maxTicketsPerBuyer?: number | null;
}

export interface SeatCounts {
  total: number;
  available: number;
  held: number;
  sold: number;
  /** Taken off sale by an operator (letter B). */
  blocked: number;
}

/**
 * Seats per script call: big enough that 50,000 seats take 50 pipelined calls, small enough
 * that one call blocks Redis for about a millisecond while holds keep coming in.
 */
const REGISTER_CHUNK = 1000;
/** Seats per rebuild-seating.lua call (whole rows): about a millisecond of Redis each. */
const SEATING_CHUNK = 1000;
/**
 * Chunk calls in flight at once. Every Redis command is bounded from its call
 * (REDIS_COMMAND_TIMEOUT_MS), so a chunk must not wait behind all the others: with at most this
 * many sent ahead of it, a chunk's wait stays a few chunks' work however large the performance
 * (all 50 of a 50,000-seat registration sent at once outlasted the 5 s bound on a loaded host).
 */
const CHUNKS_IN_FLIGHT = 8;

/** Runs `calls` at most CHUNKS_IN_FLIGHT at a time, in order; rejects with the first failure. */
async function inWindows(calls: (() => Promise<unknown>)[]): Promise<void> {
  for (let start = 0; start < calls.length; start += CHUNKS_IN_FLIGHT) {
    await Promise.all(calls.slice(start, start + CHUNKS_IN_FLIGHT).map((call) => call()));
  }
}

/** The live status of every seat of a performance, and its counts, in Redis. */
@Injectable()
export class SeatStateStore {
  /** The seat pages' letter reads, encoded once per page (the same seats are read again and again). */
  private readonly letterReads: RepeatedHmget;

  constructor(@Inject(Redis) private readonly redis: Redis) {
    defineTicketingScripts(redis);
    this.letterReads = new RepeatedHmget(redis);
  }

  /**
   * Makes the performance's seats known to the hold scripts. Idempotent: seats already there
   * keep their status. The metadata that marks the performance as registered is written last,
   * so an interrupted registration is simply run again. A rebuild passes its rebuild lease
   * (takeRebuildLease): each chunk of seats and the metadata are then written only while the
   * lease is still its own, and the lease ends with the metadata. Answers false when it was not (lapsed, or removed with the
   * performance): nothing marks the performance registered.
   */
  async registerPerformance(registration: PerformanceRegistration, lease: string | null = null): Promise<boolean> {
    const { performanceId, salesOpenAt, currency, seats, sold = [], blocked = [], lifecycle } = registration;
    assertPerformanceId(performanceId);
    assertCurrency(currency);
    if (!(salesOpenAt instanceof Date) || Number.isNaN(salesOpenAt.getTime())) {
      throw new InvalidInputError('salesOpenAt must be a valid date');
    }
    if (seats.length > 0)
      assertSeatIds(
        seats.map((seat) => seat.id),
        seats.length,
      );
    const seatIds = new Set(seats.map((seat) => seat.id));
    const unknownSold = sold.filter((id) => !seatIds.has(id));
    if (unknownSold.length > 0) {
      throw new InvalidInputError('sold seats must be seats of the performance', { seatIds: unknownSold });
    }

    const unknownBlocked = blocked.filter((id) => !seatIds.has(id));
    if (unknownBlocked.length > 0) {
      throw new InvalidInputError('blocked seats must be seats of the performance', { seatIds: unknownBlocked });
    }

    const soldIds = new Set(sold);
    const blockedIds = new Set(blocked);
    const rows: SeatRegistration[] = seats.map((seat) => {
      assertPrice(seat.price);
      return { id: seat.id, price: seat.price, sold: soldIds.has(seat.id), blocked: blockedIds.has(seat.id) };
    });
    const keys = performanceKeys(performanceId);
    let leaseLost = false;
    const chunks: (() => Promise<void>)[] = [];
    for (let start = 0; start < rows.length; start += REGISTER_CHUNK) {
      const chunk = rows.slice(start, start + REGISTER_CHUNK);
      chunks.push(async () => {
        if ((await registerSeats(this.redis, keys, chunk, lease)) < 0) leaseLost = true;
      });
    }
    await inWindows(chunks);
    if (leaseLost) return false;
    // A newer format found (FORMAT_MOVED) leaves that version's data as it is: the registration
    // goes on (seat-id holds go by the letters), and ensureSeating answers best-available 503.
    if (
      registration.places &&
      (await this.registerSeating(performanceId, registration.places, lease)) === 'LEASE_LOST'
    ) {
      return false;
    }
    // Before the meta hash that makes it registered: no hold reads a count before it is written.
    if (registration.ticketsBought) await raiseTicketsBought(this.redis, keys, registration.ticketsBought);
    const set = lifecycle ? lifecycleFields(lifecycle) : {};
    // Counted from PostgreSQL with nothing unwritten beside it (a first registration, or a rebuild
    // of state lost with its purchase stream): complete, kept by the scripts from here on.
    if (registration.ticketsBought) set.ticketsCounted = 1;
    for (const presale of registration.presales ?? []) {
      const [field, value] = presaleMetaField(presale);
      set[field] = value;
      const allocation = presaleAllocationFields(presale.id);
      if (presale.maxSeats != null) set[allocation.max] = presale.maxSeats;
      set[allocation.taken] = registration.presaleSeatsSold?.get(presale.id) ?? 0;
    }
    // In the registry before the meta hash that makes it registered (isRegistered): a registration
    // cut between the two would otherwise leave a registered performance the flusher, the sweeper
    // and the reconciler never visit, and ensure() would not repair it. The loops find nothing to
    // do for a performance of the registry without its meta hash (as while removePerformance runs).
    await this.redis.sadd(PERFORMANCE_REGISTRY_KEY, String(performanceId));
    return finishRegistration(this.redis, keys, {
      lease,
      salesOpenAt: salesOpenAt.getTime(),
      currency,
      set,
      cleared: lifecycle ? clearedFields(lifecycle) : [],
    });
  }

  /**
   * Whether the performance's per-buyer counts of seats bought are complete (`ticketsCounted` in
   * its meta hash): registered by this version, or counted once since (countTicketsBought).
   */
  async ticketsCounted(performanceId: number): Promise<boolean> {
    assertPerformanceId(performanceId);
    return (await this.redis.hexists(performanceKeys(performanceId).meta, 'ticketsCounted')) === 1;
  }

  /**
   * Raises each buyer's count of seats bought to at least `counts` (PostgreSQL's): a count Redis
   * kept higher (purchases not written yet) stays; then marks the counts complete
   * (ticketsCounted). Answers the number of counts raised.
   */
  completeTicketsBought(performanceId: number, counts: readonly { userId: string; seats: number }[]): Promise<number> {
    assertPerformanceId(performanceId);
    return raiseTicketsBought(this.redis, performanceKeys(performanceId), counts, true);
  }

  /**
   * Takes the performance's rebuild lease for `leaseMs` (ms): one process at a time rebuilds a
   * performance Redis lost. Answers its token, or null while another process holds the lease.
   */
  async takeRebuildLease(performanceId: number, leaseMs: number): Promise<string | null> {
    assertPerformanceId(performanceId);
    const token = randomUUID();
    const taken = await this.redis.set(performanceKeys(performanceId).rebuildLease, token, 'PX', leaseMs, 'NX');
    return taken === 'OK' ? token : null;
  }

  /** Whether some process holds the performance's rebuild lease. */
  async isBeingRebuilt(performanceId: number): Promise<boolean> {
    assertPerformanceId(performanceId);
    return (await this.redis.exists(performanceKeys(performanceId).rebuildLease)) === 1;
  }

  /** Renews the rebuild lease `token` for `leaseMs` (ms) from now; false when it is no longer `token`'s. */
  renewRebuildLease(performanceId: number, token: string, leaseMs: number): Promise<boolean> {
    return changeRebuildLease(this.redis, performanceKeys(performanceId), token, { renewForMs: leaseMs });
  }

  /** Ends the rebuild lease `token` (a rebuild that failed); a lease no longer `token`'s stays. */
  async releaseRebuildLease(performanceId: number, token: string): Promise<void> {
    await changeRebuildLease(this.redis, performanceKeys(performanceId), token, 'release');
  }

  /**
   * Writes the best-available seating data of a registered (or registering) performance: the
   * static layout of `places` (every seat of it, in layout order), then the free bits and runs
   * from the seat letters, rows in chunks of about SEATING_CHUNK seats (each chunk atomic with the
   * letters it reads; holds running meanwhile keep the rows they touch up to date), then `ready`.
   * Running it again rebuilds the free data from the letters (a repair). Data of an older format
   * (or none) is marked `building <SEATING_FORMAT>` first, so no search of either version reads it
   * half written. Every write checks, in its own script run, that the build is still this caller's
   * (the seating-build include), and the first refused one stops it:
   * - `FORMAT_MOVED`, having written nothing of its own format since: a newer format is stored or
   *   began being built (a newer version's replica, during a rolling deploy): the format only
   *   moves forward (seating-format.lua);
   * - `LEASE_LOST`: `lease`, the rebuild lease's token it builds under (takeRebuildLease; null
   *   for a first registration, which takes none), is no longer its own: it lapsed, and another
   *   process may be building the data from its own read, which this one must not write over.
   * `WRITTEN` once `ready` is SEATING_FORMAT.
   */
  async registerSeating(
    performanceId: number,
    places: SeatPlace[],
    lease: string | null = null,
  ): Promise<SeatingWrite> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    const begun = await stepSeatingFormat(this.redis, keys, SEATING_FORMAT, 'begin', lease);
    if (begun !== 'WRITTEN') return begun;
    const layout = buildSeatingLayout(places);
    const entries = [...layout.fields];
    let refused: SeatingWrite = 'WRITTEN';
    // Each write of the build, unless an earlier one was refused (then nothing more is sent).
    const write = (send: () => Promise<SeatingWrite>) => async () => {
      if (refused !== 'WRITTEN') return;
      const reply = await send();
      if (reply !== 'WRITTEN') refused = reply;
    };
    const writes = [
      write(() => writeSeatingLayout(this.redis, keys, SEATING_FORMAT, lease, { seatInfo: layout.seatInfo })),
    ];
    for (let start = 0; start < entries.length; start += LUA_UNPACK_PAIRS) {
      const fields = entries.slice(start, start + LUA_UNPACK_PAIRS);
      writes.push(write(() => writeSeatingLayout(this.redis, keys, SEATING_FORMAT, lease, { fields })));
    }
    await inWindows(writes);
    const rebuilds: (() => Promise<void>)[] = [];
    let first = 0;
    let seats = 0;
    layout.rowSizes.forEach((size, row) => {
      seats += size;
      if (seats >= SEATING_CHUNK || row === layout.rowSizes.length - 1) {
        const from = first;
        rebuilds.push(
          write(async () => seatingWrite(await rebuildSeating(this.redis, keys, from, row, SEATING_FORMAT, lease))),
        );
        first = row + 1;
        seats = 0;
      }
    });
    await inWindows(rebuilds);
    if (refused !== 'WRITTEN') return refused;
    return stepSeatingFormat(this.redis, keys, SEATING_FORMAT, 'finish', lease);
  }

  /**
   * The format of the performance's best-available seating data as stored (the layout's `ready`):
   * `{ format, complete }`, complete false while registerSeating writes it (`building <format>`);
   * null when there is none. Data of this version's format (SEATING_FORMAT) complete is searched;
   * an older one is built again, a newer one left to the newer version (seating-format.lua).
   */
  async seatingFormat(performanceId: number): Promise<{ format: number; complete: boolean } | null> {
    assertPerformanceId(performanceId);
    const ready = await this.redis.hget(performanceKeys(performanceId).seating, 'ready');
    const match = ready === null ? null : /^(building )?(\d+)$/.exec(ready);
    return match ? { format: Number(match[2]), complete: match[1] === undefined } : null;
  }

  /**
   * Registered with its currency. State written before prices were kept in minor units has no
   * `currency` in its metadata and counts as not registered, so it is registered again (which
   * rewrites the prices and keeps every seat's status).
   */
  async isRegistered(performanceId: number): Promise<boolean> {
    assertPerformanceId(performanceId);
    return (await this.redis.hexists(performanceKeys(performanceId).meta, 'currency')) === 1;
  }

  /**
   * Live status of each seat, in the order asked. A seat still marked held by a hold that has
   * expired is AVAILABLE: the next hold takes it, with or without a sweeper; but one an operator's
   * hold took out of its block (a comp's house seat, in the record's `fromBlock`) is BLOCKED: it
   * goes back to its block when that hold ends, and a hold asking for it is refused. One round
   * trip, a second, small one when some of the seats are marked held (their holders' expiry, by
   * Redis TIME), and a third when some of those holders expired (their records' `fromBlock`).
   * Throws NotFoundError (`seat`) for a seat the live state does not know.
   */
  async statuses(performanceId: number, seatIds: number[]): Promise<SeatStatus[]> {
    assertPerformanceId(performanceId);
    if (seatIds.length === 0) return [];
    const keys = performanceKeys(performanceId);
    const letters = await this.letterReads.read(keys.seats, seatIds);
    return this.resolveLetters(performanceId, keys, seatIds, letters);
  }

  /**
   * {@link statuses}, or null when the performance is not registered ({@link isRegistered}: its
   * state was lost or removed). Statuses need no currency, so the registration is read only when
   * a seat is missing (or no seat is asked): one command on the usual path.
   */
  async registeredStatuses(performanceId: number, seatIds: number[]): Promise<SeatStatus[] | null> {
    assertPerformanceId(performanceId);
    if (seatIds.length === 0) return (await this.isRegistered(performanceId)) ? [] : null;
    const keys = performanceKeys(performanceId);
    const letters = await this.letterReads.read(keys.seats, seatIds);
    if (letters.includes(null) && !(await this.isRegistered(performanceId))) return null;
    return this.resolveLetters(performanceId, keys, seatIds, letters);
  }

  /**
   * Up to `want` (>= 1) AVAILABLE seats, as {@link statuses} counts them, at layout positions
   * `after` + 1 … `last`, ascending, from the best-available free bitmap (free-seats-after.lua):
   * the work is the seats found plus a byte pass over the bitmap, however many seats are taken.
   * 'NO_INDEX' when the bitmap cannot answer exactly (not built yet, lost, of an older format, or
   * more expired holds than one call takes): read the statuses instead. null when the
   * performance is not registered.
   */
  freeSeatsAfter(
    performanceId: number,
    after: number,
    want: number,
    last: number,
  ): Promise<FreeSeats | 'NO_INDEX' | null> {
    assertPerformanceId(performanceId);
    return freeSeatsAfter(this.redis, performanceKeys(performanceId), after, want, last);
  }

  /** {@link counts} and the registration check, sent together: null when not registered. */
  async registeredCounts(performanceId: number): Promise<SeatCounts | null> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    const [registered, counts] = await Promise.all([
      this.redis.hexists(keys.meta, 'currency'),
      this.redis.hmget(keys.counts, 'total', 'available', 'held', 'sold', 'blocked'),
    ]);
    if (registered !== 1) return null;
    return decodeCounts(performanceId, counts);
  }

  /**
   * Statuses from the seats' letters. Only seats marked held need more: their holder entries
   * and Redis TIME, the clock that decides expiry, read in one more round trip; and only seats of
   * expired holders their records' `fromBlock` (one HGET per distinct holder, together), which
   * makes a house seat of an expired operator's hold BLOCKED rather than AVAILABLE.
   */
  private async resolveLetters(
    performanceId: number,
    keys: PerformanceKeys,
    seatIds: number[],
    letters: (string | null)[],
  ): Promise<SeatStatus[]> {
    const unknown = seatIds.filter((_, index) => letters[index] === null);
    if (unknown.length > 0) throw new NotFoundError('seat', { performanceId, seatIds: unknown });
    const statuses = letters.map((letter) => seatStatusFromLetter(letter as string));
    const held: number[] = [];
    for (let index = 0; index < statuses.length; index += 1) if (statuses[index] === 'HELD') held.push(index);
    if (held.length === 0) return statuses;
    const [holders, [seconds, micros]] = await Promise.all([
      hmgetMany(
        this.redis,
        keys.seatHolds,
        held.map((index) => String(seatIds[index])),
      ),
      this.redis.time(),
    ]);
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // Seat index -> the id of its expired holder.
    const expired = new Map<number, string>();
    held.forEach((index, i) => {
      const holder = holders[i];
      // The holder entry starts with the hold's expiry (epoch ms); parseInt stops at the ':'.
      if (holder !== null && Number.parseInt(holder, 10) <= now) {
        expired.set(index, holder.slice(holder.indexOf(':') + 1));
      }
    });
    if (expired.size === 0) return statuses;
    const holdIds = [...new Set(expired.values())];
    const fromBlocks = await Promise.all(holdIds.map((holdId) => this.redis.hget(keys.hold(holdId), 'fromBlock')));
    const houseSeats = new Map(holdIds.map((holdId, i) => [holdId, new Set((fromBlocks[i] ?? '').split(','))]));
    for (const [index, holdId] of expired) {
      statuses[index] = houseSeats.get(holdId)!.has(String(seatIds[index])) ? 'BLOCKED' : 'AVAILABLE';
    }
    return statuses;
  }

  /**
   * Closes the performance to sales atomically with its seat state: holds and purchases are
   * refused from now on (409 SalesClosed). Returns the seats sold and held at that moment and
   * `unwritten`, the entries of its purchase stream then (purchases and cancellations `batch` has
   * not written to PostgreSQL), or null when the performance is not registered in Redis. With a
   * seat sold or an entry unwritten it is not closed (`closed` false): the delete that asks is
   * refused anyway, and buyers paying meanwhile keep their sale. With `unheld` (a time zone change)
   * a held seat keeps it open too, so a buyer's purchase of a live hold never meets the closure.
   * The closure is `token`'s (the caller's own, e.g. randomUUID()), shared with any other caller's:
   * sales open again only once every closer reopened with its token ({@link reopenSales}), or its
   * lease lapsed: `leaseMs` ms by Redis TIME (SALES_CLOSURE_LEASE_MS), unless renewed
   * ({@link renewSalesClosure}; SalesClosure does both).
   */
  closeSales(performanceId: number, token: string, leaseMs: number, unheld = false): Promise<SalesAtClose | null> {
    assertPerformanceId(performanceId);
    return closeSales(this.redis, performanceKeys(performanceId), token, leaseMs, unheld);
  }

  /**
   * Renews `token`'s {@link closeSales} for `lease` (ms from now by Redis TIME, or 'final': no
   * deadline, for a delete about to commit). False when it lapsed or never stood: nothing written,
   * and its closer must not commit as if sales had stayed closed.
   */
  renewSalesClosure(performanceId: number, token: string, lease: number | 'final'): Promise<boolean> {
    assertPerformanceId(performanceId);
    return renewSalesClosure(this.redis, performanceKeys(performanceId), token, lease);
  }

  /**
   * Writes the performance's sales window and status where the hold, purchase and cancel scripts
   * read them, in one MULTI with its salesOpenAt: once this answers, every script run on any
   * replica sees them. Answers false (nothing written) when the performance is not registered.
   */
  setLifecycle(performanceId: number, salesOpenAt: Date, lifecycle: PerformanceLifecycle): Promise<boolean> {
    return writeLifecycle(this.redis, performanceId, salesOpenAt, lifecycle);
  }

  /**
   * Undoes `token`'s {@link closeSales}: sales open unless another caller's closure stands (one
   * taken since, e.g. a delete that closed while a time zone change's closure was still on). False
   * when `token` held no closure (nothing changed).
   */
  reopenSales(performanceId: number, token: string): Promise<boolean> {
    assertPerformanceId(performanceId);
    return reopenSales(this.redis, performanceKeys(performanceId), token);
  }

  /**
   * The entries of the performance's closure to sales as Redis holds them (the sales-closure
   * include: `<token>:<deadline>` leases, lapsed ones possibly among them, and bare `<token>`s
   * without deadline); none while it is open or not registered.
   */
  async salesClosers(performanceId: number): Promise<string[]> {
    assertPerformanceId(performanceId);
    const closers = await this.redis.hget(performanceKeys(performanceId).meta, 'closed');
    return closers ? closers.split(' ') : [];
  }

  /** Throws NotFoundError (`performance`) when the performance has no counts in Redis. */
  async counts(performanceId: number): Promise<SeatCounts> {
    assertPerformanceId(performanceId);
    const counts = await this.redis.hmget(
      performanceKeys(performanceId).counts,
      'total',
      'available',
      'held',
      'sold',
      'blocked',
    );
    return decodeCounts(performanceId, counts);
  }

  /**
   * Forgets a performance's live state: every key under its `{perf:<id>}` tag (seats, counts,
   * holds, the purchase buffer, its waiting room: its tickets' owners kept as after a room's
   * removal, WaitingRoomStore.remove) and its entries in the performance and
   * waiting-room registries. The hold and purchase pointers outside the tag expire on their own;
   * a hold found through one then reads as not found.
   */
  async removePerformance(performanceId: number): Promise<void> {
    assertPerformanceId(performanceId);
    const keys = performanceKeys(performanceId);
    // Out of the registries first, so no sweeper or admission loop works on keys being deleted;
    // the room's settings before its other keys (as WaitingRoomStore.remove does), so an
    // admission step already under way answers NO_QUEUE instead of writing its state again
    // between two SCAN batches.
    await this.redis.srem(PERFORMANCE_REGISTRY_KEY, String(performanceId));
    await this.redis.srem(WAITING_ROOM_REGISTRY_KEY, String(performanceId));
    const room = waitingRoomKeys(performanceId);
    await this.redis.unlink(room.config);
    // Its queue tickets keep reading ENDED (CLOSED) to their owners, as after a room's removal.
    await keepClosedTickets(this.redis, room);
    // UNLINK frees the big seat hashes in the background instead of blocking Redis.
    await this.redis.unlink(keys.meta, keys.seats, keys.seatHolds, keys.prices, keys.counts, keys.expiry);
    // Then every other key under the performance's tag (holds, per-user holds, the buffer): a
    // hold of a removed performance must not read as HELD. SCAN sees keys with the deployment's
    // prefix, which ioredis adds again to UNLINK.
    const prefix = this.redis.options.keyPrefix ?? '';
    // The prefix is letters, digits, _ . - (see REDIS_KEY_PREFIX): no glob character either. On a
    // Cluster the keys all sit in the tag's slot, on one primary; the others answer none.
    await scanEveryPrimary(this.redis, `${prefix}${keys.everyKey}`, async (found) => {
      const doomed = found.map((key) => key.slice(prefix.length)).filter((key) => key !== room.closed);
      if (doomed.length > 0) await this.redis.unlink(...doomed);
    });
  }
}

/** ON_SALE is the absence of `status`; `cancelUntil` 'none' forbids self-service cancel. */
/**
 * SeatStateStore.setLifecycle over `redis`: for a caller that must write it on a client of its
 * own (a `WAIT` after it counts only its connection's writes). False when not registered.
 */
export async function writeLifecycle(
  redis: Redis,
  performanceId: number,
  salesOpenAt: Date,
  lifecycle: PerformanceLifecycle,
): Promise<boolean> {
  assertPerformanceId(performanceId);
  const keys = performanceKeys(performanceId);
  // Registered: its currency is in the meta hash (SeatStateStore.isRegistered).
  if ((await redis.hexists(keys.meta, 'currency')) === 0) return false;
  await redis
    .multi()
    .hset(keys.meta, { ...lifecycleFields(lifecycle), salesOpenAt: salesOpenAt.getTime() })
    .hdel(keys.meta, ...clearedFields(lifecycle))
    .exec();
  return true;
}

function lifecycleFields(lifecycle: PerformanceLifecycle): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    salesCloseAt: lifecycle.salesCloseAt.getTime(),
    cancelUntil: lifecycle.cancelUntil === null ? 'none' : lifecycle.cancelUntil.getTime(),
  };
  if (lifecycle.status !== 'ON_SALE') fields.status = lifecycle.status;
  if (lifecycle.noOrphanSeats) fields.noOrphanSeats = 1;
  if (lifecycle.maxTicketsPerBuyer != null) fields.maxTicketsPerBuyer = lifecycle.maxTicketsPerBuyer;
  return fields;
}

/**
 * The status field goes when the performance is back on sale, noOrphanSeats when the rule is
 * off, maxTicketsPerBuyer when there is no limit (a dummy field keeps HDEL valid).
 */
function clearedFields(lifecycle: PerformanceLifecycle): string[] {
  const cleared = lifecycle.status === 'ON_SALE' ? ['status'] : ['-'];
  if (!lifecycle.noOrphanSeats) cleared.push('noOrphanSeats');
  if (lifecycle.maxTicketsPerBuyer == null) cleared.push('maxTicketsPerBuyer');
  return cleared;
}

function decodeCounts(performanceId: number, [total, available, held, sold, blocked]: (string | null)[]): SeatCounts {
  if (total === null) throw new NotFoundError('performance', { performanceId });
  return {
    total: Number(total),
    available: Number(available ?? 0),
    held: Number(held ?? 0),
    sold: Number(sold ?? 0),
    blocked: Number(blocked ?? 0),
  };
}
