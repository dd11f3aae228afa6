import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rethrowAsDatabaseError } from '../database-unavailable';

/**
 * What one fan-out step did: which move it worked on, how many purchases' notices it queued (the
 * page), how many pending transfer offers of their tickets it queued a new-date offer for, how many
 * accounts holding their tickets by a transfer it queued a holder's notice for, whether that move is
 * done.
 */
export interface RescheduleNoticeStep {
  rescheduleId: string;
  performanceId: number;
  queued: number;
  reoffered: number;
  holders: number;
  completed: boolean;
}

interface OpenRescheduleRow {
  id: string;
  performance_id: number;
  previous_starts_at: Date;
  starts_at: Date;
  notice_cursor: string | null;
}

/**
 * The moves of performances' `startsAt` (`performance_reschedules`, written by
 * PerformanceRepository.updateLifecycle) and the fan-out of their buyers' notices into the outbox.
 */
@Injectable()
export class PerformanceReschedulesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Queues the notices of the next page of one open move, in one transaction: locks the oldest open
   * move no other process holds (`FOR NO KEY UPDATE SKIP LOCKED`, so `batch` processes side by side
   * share the work and a killed one's lock goes with its connection), writes one outbox message
   * `performance-rescheduled:<move id>.<purchase id>` (routing key `purchase.rescheduled`) for each
   * of up to `limit` purchases of the performance PAID now after the move's cursor, in id order,
   * and one `ticket-transfer-rescheduled:<move id>.<transfer id>` (the same routing key: the bulk
   * mail queue) for each PENDING transfer offer of their tickets (the mailer sends it only while the
   * offer is still pending and after its offer e-mail), one `ticket-transfer-holder-rescheduled:<move
   * id>.<account id>` (routing key `purchase.rescheduled`) for each account that holds an active
   * ticket of theirs by an accepted transfer now (`tickets.holder_id`, not the buyer: the holder at
   * fan-out time, however often it was passed on; a holder of tickets of several purchases gets one,
   * the later pages' conflict on its id), and moves the cursor past them; a page shorter than
   * `limit` completes the move. Atomic, so a purchase's notice, an offer's and a holder's are
   * queued once per move (the mailer claims each message id once besides). A purchase written to
   * PostgreSQL after its page was read needs no notice: its confirmation, sent after the move
   * committed, shows the new time; so does an offer made after its purchase's page. Null when no
   * move is open. Throws DatabaseUnavailableError when the database cannot be reached.
   */
  queueNextNotices(limit: number): Promise<RescheduleNoticeStep | null> {
    return this.dataSource
      .transaction(async (manager) => {
        const open: OpenRescheduleRow[] = await manager.query(
          `SELECT id::text AS id, performance_id, previous_starts_at, starts_at, notice_cursor
             FROM performance_reschedules WHERE completed_at IS NULL
            ORDER BY performance_reschedules.id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED`,
        );
        const move = open[0];
        if (!move) return null;
        const page: { queued: number; reoffered: number; holders: number; last: string | null }[] = await manager.query(
          `WITH page AS (
             SELECT id FROM purchases
              WHERE performance_id = $1 AND status = 'PAID' AND ($2::uuid IS NULL OR id > $2::uuid)
              ORDER BY id LIMIT $3
           ), queued AS (
             INSERT INTO outbox (message_id, routing_key, payload)
             SELECT 'performance-rescheduled:' || $4::text || '.' || id, 'purchase.rescheduled',
                    jsonb_build_object('type', 'purchase.rescheduled', 'purchaseId', id, 'rescheduleId', $4::text,
                                       'previousStartsAt', $5::timestamptz, 'startsAt', $6::timestamptz)
               FROM page ORDER BY id
             ON CONFLICT (message_id) DO NOTHING
           ), offers AS (
             SELECT tr.id FROM page
               JOIN tickets t ON t.purchase_id = page.id
               JOIN ticket_transfers tr ON tr.ticket_id = t.id AND tr.status = 'PENDING'
           ), reoffered AS (
             INSERT INTO outbox (message_id, routing_key, payload)
             SELECT 'ticket-transfer-rescheduled:' || $4::text || '.' || id, 'purchase.rescheduled',
                    jsonb_build_object('type', 'ticket-transfer', 'transferId', id::text, 'event', 'rescheduled',
                                       'rescheduleId', $4::text)
               FROM offers ORDER BY id
             ON CONFLICT (message_id) DO NOTHING
           ), holders AS (
             SELECT DISTINCT t.holder_id FROM page
               JOIN purchases p ON p.id = page.id
               JOIN tickets t ON t.purchase_id = page.id
              WHERE t.status = 'ACTIVE' AND t.holder_id IS NOT NULL AND t.holder_id <> p.user_id
           ), told AS (
             INSERT INTO outbox (message_id, routing_key, payload)
             SELECT 'ticket-transfer-holder-rescheduled:' || $4::text || '.' || holder_id, 'purchase.rescheduled',
                    jsonb_build_object('type', 'ticket-holder.rescheduled', 'holderId', holder_id::text,
                                       'performanceId', $1::int, 'rescheduleId', $4::text,
                                       'previousStartsAt', $5::timestamptz)
               FROM holders ORDER BY holder_id
             ON CONFLICT (message_id) DO NOTHING
           )
           SELECT (SELECT count(*)::int FROM page) AS queued, (SELECT count(*)::int FROM offers) AS reoffered,
                  (SELECT count(*)::int FROM holders) AS holders,
                  (SELECT id::text FROM page ORDER BY id DESC LIMIT 1) AS last`,
          [move.performance_id, move.notice_cursor, limit, move.id, move.previous_starts_at, move.starts_at],
        );
        const { queued, reoffered, holders, last } = page[0];
        const completed = queued < limit;
        await manager.query(
          `UPDATE performance_reschedules
              SET notice_cursor = COALESCE($2::uuid, notice_cursor),
                  completed_at = CASE WHEN $3::boolean THEN clock_timestamp() END
            WHERE id = $1::bigint`,
          [move.id, last, completed],
        );
        return {
          rescheduleId: move.id,
          performanceId: move.performance_id,
          queued,
          reoffered,
          holders,
          completed,
        };
      })
      .catch(rethrowAsDatabaseError);
  }
}
