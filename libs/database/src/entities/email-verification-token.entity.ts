import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity';

/**
 * A live e-mail verification token of an account: a few per account (EmailVerificationService's
 * limits), each working until its own expiry. Only the token's SHA-256 (hex) is kept. Confirming
 * with any of them deletes all of the account's rows in the transaction that marks the account
 * verified, and a change of the account's e-mail deletes them too (trigger
 * `users_email_change_unverifies`): a token confirms only the address it was mailed to.
 */
@Entity('email_verification_tokens')
export class EmailVerificationTokenEntity {
  /** Names this request: its e-mail's message id is `email-verification:<id>`. */
  @PrimaryColumn('uuid')
  id: string;

  @Index('email_verification_tokens_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'email_verification_tokens_user_id_fkey' })
  user?: UserEntity;

  /** SHA-256 of the token, 64 lower-case hex digits. */
  @Index('email_verification_tokens_token_hash_key', { unique: true })
  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
