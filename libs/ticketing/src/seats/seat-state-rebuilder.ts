import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { StoreUnavailableError } from '@app/core';
import {
  PerformanceRepository,
  PresalesRepository,
  PricedPerformance,
  PurchaseRepository,
  ReadTransaction,
  SeatBlocksRepository,
} from '@app/database';
import { NotFoundError, SeatingUpgradingError } from '../errors';
import { WaitingRoomService } from '../waiting-room/waiting-room.service';
import { SEATING_FORMAT } from './seating-layout';
import { PerformanceLifecycle, SeatStateStore } from './seat-state.store';

/**
 * Lease (ms) of a rebuild: renewed every third of it while the rebuild works, so a process that
 * died mid-rebuild holds the others back this long at most.
 */
export const REBUILD_LEASE_MS = 10_000;
/** How often (ms) a caller waiting for another process's rebuild looks whether it finished. */
const REBUILD_WAIT_POLL_MS = 25;
/** Rebuilds of one call whose lease lapsed before they finished, before it gives up (a 503). */
const MAX_LEASES_LOST = 3;
/**
 * How long (ms) a caller waits for other processes' rebuilds of a performance, renewed leases
 * included (a very slow PostgreSQL), before it gives up (a 503, Retry-After): three leases.
 */
export const REBUILD_WAIT_MAX_MS = 3 * REBUILD_LEASE_MS;

/** Writes a performance's live seat state into Redis from PostgreSQL: at creation, and when Redis lost it. */
@Injectable()
export class SeatStateRebuilder {
  private readonly logger = new Logger(SeatStateRebuilder.name);
  /** This process's rebuild of each performance under way: its callers share it. */
  private readonly rebuilds = new Map<number, Promise<void>>();
  /** This process's build of each performance's seating data under way (ensureSeating): its callers share it. */
  private readonly seatingBuilds = new Map<number, Promise<void>>();

  constructor(
    private readonly performances: PerformanceRepository,
    private readonly purchases: PurchaseRepository,
    private readonly seatState: SeatStateStore,
    private readonly rooms: WaitingRoomService,
    private readonly blocks: SeatBlocksRepository,
    private readonly presales: PresalesRepository,
  ) {}

  /**
   * Rebuilds the live seat state from PostgreSQL when Redis lost it (emptied, new node), its
   * waiting room first: a performance whose seat state is in Redis without its room's settings
   * has no room to the admission gate (WaitingRoomStore.queueState), so the room must be back
   * before the seats. One rebuild of a performance at a time across processes (its rebuild lease
   * in Redis); the others wait for it to finish. So a change an operator makes once this answered
   * (status, times, prices: each calls it first) is never written over by a rebuild that read
   * PostgreSQL before it. Throws NotFoundError('performance') when PostgreSQL does not know the
   * performance either (a rebuild under way when it was deleted leaves nothing behind), and
   * StoreUnavailableError (503) when no rebuild finished: this caller's lost its lease
   * MAX_LEASES_LOST times, or other processes' went on past REBUILD_WAIT_MAX_MS.
   */
  async ensure(performanceId: number): Promise<void> {
    if (await this.seatState.isRegistered(performanceId)) return;
    return this.shared(this.rebuilds, performanceId, () =>
      this.underLease(
        performanceId,
        () => this.seatState.isRegistered(performanceId),
        (lease) => this.rebuildHolding(performanceId, lease),
      ),
    );
  }

  /** `work` of `performanceId`, or the one of this process under way in `running`: its callers share it. */
  private shared(running: Map<number, Promise<void>>, performanceId: number, work: () => Promise<void>): Promise<void> {
    let promise = running.get(performanceId);
    if (!promise) {
      promise = work().finally(() => running.delete(performanceId));
      running.set(performanceId, promise);
    }
    return promise;
  }

  /**
   * Runs `work` under the performance's rebuild lease, one process at a time across processes,
   * until `done` says there is nothing left to do: while another process holds the lease, waits
   * for `done` or the end of that lease (then takes it). `work` answers false when its lease
   * ended before it finished. Throws as `ensure` says, and what `done` and `work` throw.
   */
  private async underLease(
    performanceId: number,
    done: () => Promise<boolean>,
    work: (lease: string) => Promise<boolean>,
  ): Promise<void> {
    let leasesLost = 0;
    const waitUntil = Date.now() + REBUILD_WAIT_MAX_MS;
    for (;;) {
      const lease = await this.seatState.takeRebuildLease(performanceId, REBUILD_LEASE_MS);
      if (lease === null) {
        // Another process rebuilds it: wait until it is done, or that lease ends unfinished.
        while (await this.seatState.isBeingRebuilt(performanceId)) {
          if (await done()) return;
          if (Date.now() >= waitUntil) {
            throw unfinished(performanceId, `other processes' rebuilds went on past ${REBUILD_WAIT_MAX_MS} ms`);
          }
          await sleep(REBUILD_WAIT_POLL_MS);
        }
        if (await done()) return;
        continue;
      }
      if (await work(lease)) return;
      // The lease ended before the rebuild did: removed with a deleted performance, or lapsed.
      if (!(await this.performances.findById(performanceId))) {
        await this.seatState.removePerformance(performanceId);
        throw new NotFoundError('performance');
      }
      if (++leasesLost >= MAX_LEASES_LOST) throw unfinished(performanceId, `it lost its lease ${leasesLost} times`);
    }
  }

  /** The rebuild itself, holding the lease `lease`; false when the lease ended before its last write. */
  private rebuildHolding(performanceId: number, lease: string): Promise<boolean> {
    return this.holding(performanceId, lease, async () => {
      // Finished by another process between this caller's look and its lease.
      if (await this.seatState.isRegistered(performanceId)) return true;
      // The room first (see ensure); it reads no more than the room's own row.
      await this.rooms.restore(performanceId);
      // Read and written under the row's share lock, on the lock's own connection: an operator's
      // change (lifecycle, prices, delete) committing meanwhile would otherwise be written over
      // with what was read before it.
      const registered = await this.performances.whileRowShared(performanceId, async (manager) => {
        const performance = (await this.performances.findById(performanceId, manager))!;
        this.logger.warn(`seat state of performance ${performanceId} missing in Redis, rebuilding from PostgreSQL`);
        return this.register(performance, lease, manager);
      });
      if (registered === null) throw new NotFoundError('performance');
      return registered;
    });
  }

  /** `work`, holding the rebuild lease `lease`: renewed every third of it meanwhile, ended after. */
  private async holding(performanceId: number, lease: string, work: () => Promise<boolean>): Promise<boolean> {
    const renewal = setInterval(() => {
      this.seatState.renewRebuildLease(performanceId, lease, REBUILD_LEASE_MS).catch(() => {});
    }, REBUILD_LEASE_MS / 3);
    renewal.unref();
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      // Ended already by a finished registration; ended here otherwise, so nobody waits on it.
      await this.seatState.releaseRebuildLease(performanceId, lease).catch(() => {});
    }
  }

  /**
   * Makes the performance's per-buyer counts of seats bought complete before a ticket limit per
   * buyer is set. A performance registered by this version has them (counted from PostgreSQL at
   * registration, kept by the scripts since): nothing to do. One registered by a version that kept
   * no counts has only the purchases made since the upgrade: its counts are raised to
   * PostgreSQL's active tickets once (a higher count Redis kept stays), and marked complete. In
   * that one count a purchase not yet written to PostgreSQL may be left out, and a cancellation
   * not yet written counted (docs/seat-state.md). The performance must be registered.
   */
  async countTicketsBought(performanceId: number): Promise<void> {
    if (await this.seatState.ticketsCounted(performanceId)) return;
    await this.seatState.completeTicketsBought(performanceId, await this.purchases.ticketsBoughtByBuyer(performanceId));
  }

  /**
   * Seats with an active ticket in PostgreSQL are registered SOLD, seats an operator blocked
   * BLOCKED, the performance's presales written into its meta hash (the hold scripts' access codes,
   * allocations, and seats taken: each presale's sold seats, from `purchases.presale_id`), and each buyer's count of seats bought is written (the ticket limit per buyer). Purchases not flushed yet
   * live in Redis only: Redis runs with AOF `appendfsync always`, so they survive a restart.
   * `lease`: the rebuild lease held (null at creation); false when it ended before the last write
   * (see SeatStateStore.registerPerformance). `manager`: read inside that transaction.
   */
  async register(
    performance: PricedPerformance,
    lease: string | null = null,
    manager?: ReadTransaction,
  ): Promise<boolean> {
    // One after the other: a transaction's manager runs one query at a time.
    const places = await this.performances.seatPlaces(performance.id, manager);
    const sold = await this.purchases.activeSeatIds(performance.id, manager);
    const ticketsBought = await this.purchases.ticketsBoughtByBuyer(performance.id, manager);
    const blocked = await this.blocks.blockedSeatIds(performance.id, manager);
    // Read under the same share lock: a presale created or deleted meanwhile waits for the rebuild.
    const presales = await this.presales.list(performance.id, manager);
    // Each presale's seats taken start from its sales: its live holds were lost with the state.
    const presaleSeatsSold = presales.length > 0 ? await this.presales.seatsSold(performance.id, manager) : undefined;
    return this.seatState.registerPerformance(
      {
        performanceId: performance.id,
        salesOpenAt: performance.salesOpenAt,
        currency: performance.currency,
        seats: places.map(({ id, price }) => ({ id, price })),
        sold,
        blocked,
        lifecycle: lifecycleOf(performance),
        places,
        ticketsBought,
        presales,
        presaleSeatsSold,
      },
      lease,
    );
  }

  /**
   * Makes sure the performance has its best-available seating data of this version's format
   * (SEATING_FORMAT): registered before there was any (an older version), built by an older
   * version (an older format), or lost with the seat state. Built once at a time across processes,
   * under the rebuild lease `ensure` takes, and once per process (concurrent callers share it);
   * the others wait for it. Throws NotFoundError('performance'); SeatingUpgradingError (503) when
   * the stored data is of a newer format, complete or being built: a newer version's replica
   * serves it, this one must not build it back (a rolling deploy, seating-format.lua);
   * StoreUnavailableError (503) when other processes' builds went on past REBUILD_WAIT_MAX_MS.
   */
  async ensureSeating(performanceId: number): Promise<void> {
    // A rebuild writes the seating data too, unless it meets a newer format's (it leaves that to
    // the newer version and registers the rest): looked at below like a registered performance's.
    if (!(await this.seatState.isRegistered(performanceId))) await this.ensure(performanceId);
    if (await this.seatingCurrent(performanceId)) return;
    return this.shared(this.seatingBuilds, performanceId, () =>
      this.underLease(
        performanceId,
        () => this.seatingCurrent(performanceId),
        (lease) => this.holding(performanceId, lease, () => this.buildSeating(performanceId, lease)),
      ),
    );
  }

  /** Whether the seating data is of SEATING_FORMAT and complete; throws SeatingUpgradingError when of a newer one. */
  private async seatingCurrent(performanceId: number): Promise<boolean> {
    const stored = await this.seatState.seatingFormat(performanceId);
    if (stored && stored.format > SEATING_FORMAT) throw new SeatingUpgradingError(stored.format);
    return stored?.format === SEATING_FORMAT && stored.complete;
  }

  /**
   * Builds the seating data from PostgreSQL, holding the rebuild lease `lease`; true once built,
   * false when the lease ended before (another process builds it: underLease waits for that one).
   */
  private async buildSeating(performanceId: number, lease: string): Promise<boolean> {
    // Built by another process between this caller's look and its lease.
    if (await this.seatingCurrent(performanceId)) return true;
    const places = await this.performances.seatPlaces(performanceId);
    if (places.length === 0 && !(await this.performances.findById(performanceId))) {
      throw new NotFoundError('performance');
    }
    this.logger.warn(
      `seating data of performance ${performanceId} missing in Redis or of an older format, building it`,
    );
    const built = await this.seatState.registerSeating(performanceId, places, lease);
    if (built !== 'FORMAT_MOVED') return built === 'WRITTEN';
    // A newer version began building its format meanwhile (no lease of this version stops it).
    const stored = await this.seatState.seatingFormat(performanceId);
    throw new SeatingUpgradingError(stored?.format ?? SEATING_FORMAT + 1);
  }
}

/** A rebuild that did not finish: a 503 for the caller, the reason for the logs. */
function unfinished(performanceId: number, why: string): StoreUnavailableError {
  return new StoreUnavailableError(
    'redis',
    new Error(`the rebuild of performance ${performanceId} did not finish: ${why}`),
  );
}

/** What the scripts enforce, from the performance's row: sales end at startsAt unless salesCloseAt says otherwise. */
export function lifecycleOf(performance: PricedPerformance): PerformanceLifecycle {
  return {
    status: performance.status,
    salesCloseAt: performance.salesCloseAt ?? performance.startsAt,
    cancelUntil: performance.cancelUntil,
    noOrphanSeats: performance.noOrphanSeats,
    maxTicketsPerBuyer: performance.maxTicketsPerBuyer,
  };
}
