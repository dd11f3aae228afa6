import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { UserEntity } from './user.entity';

/**
 * A live token confirming a new e-mail address for an account (`POST /auth/email`): a few per
 * account, each working until its own expiry; only its SHA-256 (hex) is kept, with the address it
 * was mailed to. Confirming with any of them sets that address and deletes all of the account's
 * rows; a change or reset of the password deletes them too.
 */
@Entity('email_change_tokens')
export class EmailChangeTokenEntity {
  /** Names this request: its e-mail's message id is `email-change:<id>`. */
  @PrimaryColumn('uuid')
  id: string;

  @Index('email_change_tokens_user_id_idx')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'email_change_tokens_user_id_fkey' })
  user?: UserEntity;

  /** The new address, as normalized for an account (what mail is sent to). */
  @Column({ name: 'new_email', type: 'varchar', length: 320 })
  newEmail: string;

  /** Its full case fold (`emailKey`), as `users.email_key`. */
  @Column({ name: 'new_email_key', type: 'text' })
  newEmailKey: string;

  /** SHA-256 of the token, 64 lower-case hex digits. */
  @Index('email_change_tokens_token_hash_key', { unique: true })
  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
