import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * What an operator did to someone else's data or to what is for sale, and who and when: one row
 * per action (the actions: `auditedActions()` of libs/ticketing). Rows are only ever inserted.
 */
@Entity('admin_audit_log')
@Index('admin_audit_log_subject', ['subjectId', 'createdAt'])
// The cash-up's refunds of a time range (migration CashUpIndexes1799760000000).
@Index('admin_audit_log_action_created', ['action', 'createdAt'])
export class AdminAuditEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  /** The operator's user id; kept when the account is deleted (no foreign key): the log is history. */
  @Column({ name: 'actor_id', type: 'uuid' })
  actorId: string;

  /** The operator's e-mail at the time, so the row reads without the users table. */
  @Column({ name: 'actor_email', type: 'varchar', length: 320 })
  actorEmail: string;

  /** e.g. `purchase.refund`. */
  @Column({ type: 'varchar', length: 50 })
  action: string;

  /** The id of what was acted on (a purchase id). */
  @Column({ name: 'subject_id', type: 'varchar', length: 100 })
  subjectId: string;

  /** Facts of the action worth keeping (amount, currency, buyer). */
  @Column({ type: 'jsonb', default: () => `'{}'::jsonb` })
  details: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
