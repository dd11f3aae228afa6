import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Every password-reset request, for an account or not, issued or past the limit: the hash of its
 * e-mail key and when. Recording each one makes an unknown e-mail's request commit a write as a
 * known one's does (their answer times stay alike), and leaves a trail of who was asked for how
 * often without keeping an address in clear.
 */
@Entity('password_reset_requests')
@Index('password_reset_requests_email_hash_created_at_idx', ['emailHash', 'createdAt'])
export class PasswordResetRequestEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  /** SHA-256 of the e-mail key (libs/core `emailKey`), 64 lower-case hex digits. */
  @Column({ name: 'email_hash', type: 'char', length: 64 })
  emailHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
