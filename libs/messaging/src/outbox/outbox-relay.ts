import { Injectable } from '@nestjs/common';
import { OutboxRepository, TransactionRunner } from '@app/database';
import { AmqpConnection, PUBLISH_CONFIRM_TIMEOUT_MS } from '../amqp.connection';

export interface RelayResult {
  /** Rows the broker confirmed; they are deleted from the outbox. */
  published: number;
  /**
   * Rows whose publish was not confirmed, or that the broker returned as matching no queue
   * (`unroutable`); they stay (attempts + 1) for the next pass.
   */
  failed: number;
  /** Why the first failed row failed. */
  error?: string;
}

/**
 * Publishes the outbox to RabbitMQ: locks a batch of rows (`FOR UPDATE SKIP LOCKED`, so relays in
 * several `batch` processes share the work), publishes each persistently with its `message_id`
 * (its stored JSON text as the body, never parsed here) and waits for the broker's confirms of the
 * whole batch, then deletes the confirmed rows in the same transaction (one statement a pass). Each
 * message is `mandatory`: one whose routing key no queue is bound to (a topology change under
 * way) is returned by the broker and counts as failed, so its row stays and is published again,
 * not deleted after a confirm of a message that went nowhere. At least once: a crash after the confirms and before the commit leaves
 * the rows, which are published again, and the mailer drops the repeat by message id
 * (`email_deliveries`).
 */
@Injectable()
export class OutboxRelay {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly transactions: TransactionRunner,
    private readonly amqp: AmqpConnection,
  ) {}

  relayOnce(batchSize: number, confirmTimeoutMs = PUBLISH_CONFIRM_TIMEOUT_MS): Promise<RelayResult> {
    return this.transactions.run(async (manager) => {
      const rows = await this.outbox.lockPending(manager, batchSize);
      if (rows.length === 0) return { published: 0, failed: 0 };
      const outcomes = await this.amqp.publishAll(
        rows.map((row) => ({
          routingKey: row.routingKey,
          content: Buffer.from(row.payload),
          messageId: row.messageId,
        })),
        confirmTimeoutMs,
      );
      const published: string[] = [];
      const failed: string[] = [];
      rows.forEach((row, index) => (outcomes[index] === null ? published : failed).push(row.id));
      await this.outbox.deletePublished(manager, published);
      await this.outbox.countFailedAttempt(manager, failed);
      const firstFailure = outcomes.find((outcome) => outcome !== null);
      return { published: published.length, failed: failed.length, error: firstFailure?.message };
    });
  }
}
