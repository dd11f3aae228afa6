import { Injectable, Logger } from '@nestjs/common';
import { PerformanceRepository, PricedPerformance, PurchaseRepository } from '@app/database';
import { NotFoundError } from '../errors';
import { WaitingRoomService } from '../waiting-room/waiting-room.service';
import { PerformanceLifecycle, SeatStateStore } from './seat-state.store';

/** Writes a performance's live seat state into Redis from PostgreSQL: at creation, and when Redis lost it. */
@Injectable()
export class SeatStateRebuilder {
  private readonly logger = new Logger(SeatStateRebuilder.name);

  constructor(
    private readonly performances: PerformanceRepository,
    private readonly purchases: PurchaseRepository,
    private readonly seatState: SeatStateStore,
    private readonly rooms: WaitingRoomService,
  ) {}

  /**
   * Rebuilds the live seat state from PostgreSQL when Redis lost it (emptied, new node), its
   * waiting room first: a performance whose seat state is in Redis without its room's settings
   * has no room to the admission gate (WaitingRoomStore.queueState), so the room must be back
   * before the seats. Throws NotFoundError('performance') when PostgreSQL does not know the
   * performance either.
   */
  async ensure(performanceId: number): Promise<void> {
    if (await this.seatState.isRegistered(performanceId)) return;
    const performance = await this.performances.findById(performanceId);
    if (!performance) throw new NotFoundError('performance');
    this.logger.warn(`seat state of performance ${performanceId} missing in Redis, rebuilding from PostgreSQL`);
    await this.rooms.restore(performanceId);
    await this.register(performance);
  }

  /**
   * Seats with an active ticket in PostgreSQL are registered SOLD. Purchases not flushed yet
   * live in Redis only: Redis runs with AOF `appendfsync always`, so they survive a restart.
   */
  async register(performance: PricedPerformance): Promise<void> {
    const [places, sold] = await Promise.all([
      this.performances.seatPlaces(performance.id),
      this.purchases.activeSeatIds(performance.id),
    ]);
    await this.seatState.registerPerformance({
      performanceId: performance.id,
      salesOpenAt: performance.salesOpenAt,
      currency: performance.currency,
      seats: places.map(({ id, price }) => ({ id, price })),
      sold,
      lifecycle: lifecycleOf(performance),
      places,
    });
  }

  /**
   * Makes sure the performance has its best-available seating data: registered before there
   * was any (an older version), or lost with the seat state. Throws NotFoundError('performance').
   */
  async ensureSeating(performanceId: number): Promise<void> {
    if (!(await this.seatState.isRegistered(performanceId))) return this.ensure(performanceId);
    if (await this.seatState.hasSeating(performanceId)) return;
    const places = await this.performances.seatPlaces(performanceId);
    if (places.length === 0 && !(await this.performances.findById(performanceId))) {
      throw new NotFoundError('performance');
    }
    this.logger.warn(`seating data of performance ${performanceId} missing in Redis, building it from PostgreSQL`);
    await this.seatState.registerSeating(performanceId, places);
  }
}

/** What the scripts enforce, from the performance's row: sales end at startsAt unless salesCloseAt says otherwise. */
export function lifecycleOf(performance: PricedPerformance): PerformanceLifecycle {
  return {
    status: performance.status,
    salesCloseAt: performance.salesCloseAt ?? performance.startsAt,
    cancelUntil: performance.cancelUntil,
    noOrphanSeats: performance.noOrphanSeats,
  };
}
