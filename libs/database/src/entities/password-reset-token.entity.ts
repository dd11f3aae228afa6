import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity';

/**
 * A live password-reset token of an account: a few per account (PasswordResetService's limits),
 * each working until its own expiry, so a request by someone else voids no token already mailed.
 * Only the token's SHA-256 (hex) is kept, so a leaked table resets no password. Confirming with
 * any of them deletes all of the account's rows in the transaction that sets the new password,
 * which is what makes a token work once.
 */
@Entity('password_reset_tokens')
export class PasswordResetTokenEntity {
  /** Names this request: its e-mail's message id is `password-reset:<id>`. */
  @PrimaryColumn('uuid')
  id: string;

  @Index('password_reset_tokens_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'password_reset_tokens_user_id_fkey' })
  user?: UserEntity;

  /** SHA-256 of the token, 64 lower-case hex digits. */
  @Index('password_reset_tokens_token_hash_key', { unique: true })
  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
