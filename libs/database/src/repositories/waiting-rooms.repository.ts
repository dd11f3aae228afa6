import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { NotFoundError } from '@app/core';
import { FOREIGN_KEY_VIOLATION, translatingConstraintViolations } from '../constraint-violations';
import { WaitingRoomEntity } from '../entities/waiting-room.entity';

/** The settings of a room, without its bookkeeping columns. */
export type WaitingRoomFields = Omit<WaitingRoomEntity, 'updatedAt'>;

/** Waiting-room settings, one row per performance. */
@Injectable()
export class WaitingRoomsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Creates or updates the performance's room; an existing room keeps its seed (the commitment
   * already shown stays true). Returns the stored row. NotFoundError when the performance does
   * not exist.
   */
  async upsert(fields: WaitingRoomFields): Promise<WaitingRoomEntity> {
    const rows: Record<string, unknown>[] = await translatingConstraintViolations(
      () =>
        this.dataSource.query(
          `INSERT INTO waiting_rooms
             (performance_id, opens_at, admit_per_second, max_active, admission_ttl_seconds, session_ttl_seconds, seed)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (performance_id) DO UPDATE SET
             opens_at = EXCLUDED.opens_at, admit_per_second = EXCLUDED.admit_per_second,
             max_active = EXCLUDED.max_active, admission_ttl_seconds = EXCLUDED.admission_ttl_seconds,
             session_ttl_seconds = EXCLUDED.session_ttl_seconds, updated_at = clock_timestamp()
           RETURNING *`,
          [
            fields.performanceId,
            fields.opensAt,
            fields.admitPerSecond,
            fields.maxActive,
            fields.admissionTtlSeconds,
            fields.sessionTtlSeconds,
            fields.seed,
          ],
        ),
      { [FOREIGN_KEY_VIOLATION]: () => new NotFoundError('performance', { performanceId: fields.performanceId }) },
    );
    return this.dataSource.getRepository(WaitingRoomEntity).create({
      performanceId: Number(rows[0].performance_id),
      opensAt: new Date(rows[0].opens_at as string),
      admitPerSecond: Number(rows[0].admit_per_second),
      maxActive: Number(rows[0].max_active),
      admissionTtlSeconds: Number(rows[0].admission_ttl_seconds),
      sessionTtlSeconds: Number(rows[0].session_ttl_seconds),
      seed: String(rows[0].seed),
      updatedAt: new Date(rows[0].updated_at as string),
    });
  }

  /** The performance's room, or null. */
  find(performanceId: number): Promise<WaitingRoomEntity | null> {
    return this.dataSource.getRepository(WaitingRoomEntity).findOneBy({ performanceId });
  }

  /** Every room (to mirror them into Redis again). */
  findAll(): Promise<WaitingRoomEntity[]> {
    return this.dataSource.getRepository(WaitingRoomEntity).find();
  }

  /** Deletes the performance's room; false when it had none. */
  async delete(performanceId: number): Promise<boolean> {
    const result = await this.dataSource.getRepository(WaitingRoomEntity).delete({ performanceId });
    return (result.affected ?? 0) > 0;
  }
}
