import { Injectable } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import { NotFoundError } from '../errors';
import { Hold } from '../holds/hold';
import { HoldService } from '../holds/hold.service';

/**
 * Holds seats for a buyer. The hot path is one Lua script in Redis; PostgreSQL is asked only
 * when Redis does not know the performance (its state was lost), to rebuild it and try again.
 */
@Injectable()
export class ReservationService {
  constructor(
    private readonly holds: HoldService,
    private readonly catalog: CatalogService,
  ) {}

  async reserve(userId: string, performanceId: number, seatIds: number[]): Promise<Hold> {
    try {
      return await this.holds.hold(userId, performanceId, seatIds);
    } catch (error) {
      if (!(error instanceof NotFoundError) || error.details?.seatIds !== undefined) throw error;
      await this.catalog.ensureSeatState(performanceId);
      return this.holds.hold(userId, performanceId, seatIds);
    }
  }

  get(userId: string, holdId: string): Promise<Hold> {
    return this.holds.get(userId, holdId);
  }

  release(userId: string, holdId: string): Promise<void> {
    return this.holds.release(userId, holdId);
  }
}
