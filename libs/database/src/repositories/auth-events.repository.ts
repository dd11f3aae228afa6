import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventEntity, AuthEventType } from '../entities/auth-event.entity';

/** The audit trail of account events: only ever inserted, and deleted once older than their retention. */
@Injectable()
export class AuthEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(userId: string, type: AuthEventType, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.getRepository(AuthEventEntity).insert({ userId, type });
  }

  /**
   * Deletes at most `limit` events recorded before `before` (any account, any type), rows another
   * statement has locked skipped; answers how many it deleted. Nothing reads an event that old: the
   * limits that count them (tokens mailed, resends, prints: `secondsUntilIssuable`) look back 15
   * minutes, and an account notice reads only the event its own transaction wrote
   * (AccountNoticesRepository.record). Reads `auth_events_created_at` (AuthEventsAndDeliveriesPruneIndexes).
   */
  async deleteRecordedBefore(before: Date, limit: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `DELETE FROM auth_events WHERE id IN (
         SELECT id FROM auth_events WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }
}
