import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Messages to publish to RabbitMQ, written in the same transaction as the data they announce
 * (transactional outbox). Transport only: the relay publishes rows with confirms and deletes each
 * row the broker confirmed, so every row here is still on its way.
 */
@Entity('outbox')
export class OutboxMessageEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  /**
   * Stable id (e.g. `purchase-completed:<purchase id>`), the AMQP message id the mailer
   * deduplicates by. Unique while the row waits; after the relay deleted it, a replayed flush adds
   * no row again because the writers add a message only for a purchase new to the database or a
   * cancellation that changed its status (PurchaseRepository.writeBatch).
   */
  @Index('outbox_message_id_key', { unique: true })
  @Column({ name: 'message_id', type: 'varchar', length: 200 })
  messageId: string;

  @Column({ name: 'routing_key', type: 'varchar', length: 100 })
  routingKey: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Passes whose publish of this row the broker did not confirm. */
  @Column({ type: 'int', default: 0 })
  attempts: number;
}
