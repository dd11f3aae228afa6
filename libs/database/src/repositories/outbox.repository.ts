import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** An outbox row as the relay needs it. */
export interface PendingOutboxMessage {
  id: string;
  messageId: string;
  routingKey: string;
  /** The message body as stored: JSON text. */
  payload: string;
}

/**
 * The transactional outbox: messages written with the data they announce, relayed later. Every
 * row in it is waiting for the broker: the relay deletes a row once its message is confirmed.
 */
@Injectable()
export class OutboxRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Locks up to `limit` rows, oldest first, for the rest of the transaction. Rows another relay
   * holds are skipped, so relays running at once never take the same row.
   */
  async lockPending(manager: EntityManager, limit: number): Promise<PendingOutboxMessage[]> {
    // The payload as text: the relay sends it as it is, so the driver need not parse it (and the
    // relay serialise it again).
    const rows: { id: string; message_id: string; routing_key: string; payload: string }[] = await manager.query(
      `SELECT id, message_id, routing_key, payload::text AS payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map((row) => ({
      id: row.id,
      messageId: row.message_id,
      routingKey: row.routing_key,
      payload: row.payload,
    }));
  }

  /**
   * Deletes the rows whose messages the broker confirmed, in one statement. A delete writes no
   * index entry and no second row version (a stamp did both: docs/performance.md, outbox slice).
   */
  async deletePublished(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await manager.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]);
  }

  /** Counts a try that the broker did not confirm; the rows stay for the next pass. */
  async countFailedAttempt(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await manager.query('UPDATE outbox SET attempts = attempts + 1 WHERE id = ANY($1::bigint[])', [ids]);
  }

  /** Rows not yet confirmed by the broker: the whole table. */
  async countUnpublished(): Promise<number> {
    const rows: { count: string }[] = await this.dataSource.query('SELECT count(*) AS count FROM outbox');
    return Number(rows[0].count);
  }
}
