import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { Hold } from './hold';
import { HoldService } from './hold.service';

/**
 * Holds for buyers (the `/reservations` routes): {@link HoldService}, plus recovery of a
 * performance whose seat state Redis lost. The hot path is one Lua script in Redis; PostgreSQL is
 * asked only when Redis does not know the performance, to rebuild it and try again.
 */
@Injectable()
export class HoldDesk {
  constructor(
    private readonly holds: HoldService,
    private readonly seatState: SeatStateRebuilder,
  ) {}

  /**
   * See {@link HoldService.hold}; a performance missing from Redis is rebuilt once and held again,
   * as is one whose seating data the noOrphanSeats rule needs and lacks (built from PostgreSQL),
   * also when that shows only once the performance is rebuilt (a rebuild that met a newer format's
   * seating data leaves it be: ensureSeating then answers 503, SeatingUpgradingError).
   * A `.catch` rather than `async`/`await`: one promise a hold fewer (each pays AsyncLocalStorage's hook).
   */
  hold(
    userId: string,
    performanceId: number,
    seatIds: number[],
    idempotencyKey?: string,
    accessCode?: string,
  ): Promise<Hold> {
    const attempt = () => this.holds.hold(userId, performanceId, seatIds, idempotencyKey, accessCode);
    const seatingThenAgain = () => this.seatState.ensureSeating(performanceId).then(attempt);
    return attempt().catch((error: unknown) => {
      const missing = missingOf(error);
      if (missing === 'seating') return seatingThenAgain();
      if (missing !== 'performance') throw error;
      return this.seatState
        .ensure(performanceId)
        .then(attempt)
        .catch((again: unknown) => {
          if (missingOf(again) !== 'seating') throw again;
          return seatingThenAgain();
        });
    });
  }

  /**
   * See {@link HoldService.holdBestAvailable}; a performance missing from Redis, or registered
   * without seating data, gets it built from PostgreSQL once and is asked again.
   */
  holdBestAvailable(
    userId: string,
    request: Parameters<HoldService['holdBestAvailable']>[1],
    idempotencyKey?: string,
  ): Promise<Hold> {
    return this.holds.holdBestAvailable(userId, request, idempotencyKey).catch((error: unknown) => {
      const missing = error instanceof NotFoundError && /^(performance|seating) not found$/.test(error.message);
      if (!missing) throw error;
      return this.seatState
        .ensureSeating(request.performanceId)
        .then(() => this.holds.holdBestAvailable(userId, request, idempotencyKey));
    });
  }

  /** See {@link HoldService.get}. */
  get(userId: string, holdId: string): Promise<Hold> {
    return this.holds.get(userId, holdId);
  }

  /** See {@link HoldService.listLive}. */
  listLive(userId: string): Promise<Hold[]> {
    return this.holds.listLive(userId);
  }

  /** See {@link HoldService.release}. */
  release(userId: string, holdId: string): Promise<void> {
    return this.holds.release(userId, holdId);
  }
}

/**
 * What a hold found missing from Redis, for HoldDesk to build: the performance's seat state, or
 * its seating data (NO_LAYOUT); null for any other error (a NotFoundError naming seats is the
 * buyer's: seats the performance does not have).
 */
function missingOf(error: unknown): 'performance' | 'seating' | null {
  if (!(error instanceof NotFoundError) || error.details?.seatIds !== undefined) return null;
  return error.message === 'seating not found' ? 'seating' : 'performance';
}
