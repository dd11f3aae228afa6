import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import { secondsUntilIssuable } from './single-use-tokens';

/** Renders of printable tickets (PDFs), counted per account as the buyer's ticket resends are. */
@Injectable()
export class TicketPrintsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Counts one render for account `userId` unless it rendered `limit.maxIssued` in the last
   * `limit.windowMs` (milliseconds) already: then answers the seconds until one is counted out of
   * the window (secondsUntilIssuable, the database's clock) and counts nothing; else records a
   * TICKETS_PRINTED auth event and answers null. In one transaction holding the account's row (FOR
   * NO KEY UPDATE, as TicketResendsRepository.queue), so one account's renders take turns and the
   * limit holds under concurrency.
   */
  count(userId: string, limit: { maxIssued: number; windowMs: number }): Promise<number | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
      const event = AuthEventType.TicketsPrinted;
      const wait = await secondsUntilIssuable(manager, userId, event, limit);
      if (wait !== null) return wait;
      await manager.query('INSERT INTO auth_events (user_id, type) VALUES ($1, $2)', [userId, event]);
      return null;
    });
  }
}
