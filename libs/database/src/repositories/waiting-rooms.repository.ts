import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { WaitingRoomEntity } from '../entities/waiting-room.entity';
import { type NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import { lockPerformanceRow } from './performance.repository';

/** The performance a room belongs to, as read under its row lock: whether it was canceled (terminal). */
export interface RoomPerformance {
  canceled: boolean;
}

/** Locks the performance's row (`mode`) and reads what a room's change needs of it; null when there is no such performance. */
async function lockPerformance(
  manager: EntityManager,
  performanceId: number,
  mode: 'UPDATE' | 'SHARE',
): Promise<RoomPerformance | null> {
  const locked = await lockPerformanceRow(manager, performanceId, mode);
  return locked && { canceled: locked.status === 'CANCELED' };
}

/** The settings of a room, without its bookkeeping columns. */
export type WaitingRoomFields = Omit<WaitingRoomEntity, 'updatedAt'>;

/** Waiting-room settings, one row per performance. */
@Injectable()
export class WaitingRoomsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `change` with the performance's room as stored (null: none) under the performance's row
   * lock FOR UPDATE, in one transaction that commits after it: `change` writes the room through
   * `writes` and mirrors it into Redis before the commit, so two changes of one room (an
   * operator's PUT and another's DELETE) reach PostgreSQL and Redis in the same order, and a
   * copy-back ({@link whileShared}) never sees one half done. Answers `change`'s answer, null
   * (nothing run) when there is no such performance. Throws DatabaseUnavailableError when the
   * lock is not had within ROW_LOCK_TIMEOUT_MS or the pool runs out; whatever `change` throws
   * rolls the transaction back. `change` is also told whether the performance was canceled.
   */
  whileLocked<T>(
    performanceId: number,
    change: (room: WaitingRoomEntity | null, writes: WaitingRoomWrites, performance: RoomPerformance) => Promise<T>,
  ): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const performance = await lockPerformance(manager, performanceId, 'UPDATE');
        if (!performance) return null;
        const room = await manager.getRepository(WaitingRoomEntity).findOneBy({ performanceId });
        return change(room, new WaitingRoomWrites(manager, performanceId), performance);
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Runs `mirror` with the performance's room as stored (null: none) under the performance's row
   * lock FOR SHARE: no change ({@link whileLocked}) is between its PostgreSQL write and its commit
   * while `mirror` copies the room into Redis, so a copy-back never brings a deleted room back, nor
   * writes older settings over newer ones. Answers `mirror`'s answer, null when there is no such
   * performance. Throws DatabaseUnavailableError as {@link whileLocked}. `mirror` is also told
   * whether the performance was canceled.
   */
  whileShared<T>(
    performanceId: number,
    mirror: (room: WaitingRoomEntity | null, performance: RoomPerformance) => Promise<T>,
  ): Promise<T | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const performance = await lockPerformance(manager, performanceId, 'SHARE');
        if (!performance) return null;
        return mirror(await manager.getRepository(WaitingRoomEntity).findOneBy({ performanceId }), performance);
      })
      .catch(rethrowAsDatabaseError);
  }

  /** The performance's room, or null. */
  find(performanceId: number): Promise<WaitingRoomEntity | null> {
    return this.dataSource.getRepository(WaitingRoomEntity).findOneBy({ performanceId });
  }
}

/** The writes of a room inside {@link WaitingRoomsRepository.whileLocked}'s transaction. */
export class WaitingRoomWrites {
  constructor(
    private readonly manager: EntityManager,
    private readonly performanceId: number,
  ) {}

  /**
   * Creates or updates the room with `fields`; an existing room keeps its seed (the commitment
   * already shown stays true). Returns the stored row.
   */
  async upsert(fields: Omit<WaitingRoomFields, 'performanceId'>): Promise<WaitingRoomEntity> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `INSERT INTO waiting_rooms
         (performance_id, opens_at, admit_per_second, max_active, admission_ttl_seconds, session_ttl_seconds, seed)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (performance_id) DO UPDATE SET
         opens_at = EXCLUDED.opens_at, admit_per_second = EXCLUDED.admit_per_second,
         max_active = EXCLUDED.max_active, admission_ttl_seconds = EXCLUDED.admission_ttl_seconds,
         session_ttl_seconds = EXCLUDED.session_ttl_seconds, updated_at = clock_timestamp()
       RETURNING *`,
      [
        this.performanceId,
        fields.opensAt,
        fields.admitPerSecond,
        fields.maxActive,
        fields.admissionTtlSeconds,
        fields.sessionTtlSeconds,
        fields.seed,
      ],
    );
    return this.manager.getRepository(WaitingRoomEntity).create({
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

  /** Records an admin's change of the room in the admin audit log, in this transaction: it commits with the change. */
  record(entry: NewAdminAudit): Promise<void> {
    return recordAuditIn(this.manager, entry);
  }

  /** Deletes the room; false when there was none. */
  async delete(): Promise<boolean> {
    const result = await this.manager.getRepository(WaitingRoomEntity).delete({ performanceId: this.performanceId });
    return (result.affected ?? 0) > 0;
  }
}
