import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum Role {
  User = 'USER',
  Admin = 'ADMIN',
  /** Checks tickets in at the door (`POST /check-in`); buys like a user. */
  Staff = 'STAFF',
}

/**
 * An account. `email` is the address as normalized for it (NFKC, lower-cased: what mail is sent
 * to); `email_key`, its full case fold (`emailKey` in libs/core), is unique and what lookups use.
 */
@Entity('users')
@Index('users_email_key_key', { synchronize: false })
// Partial (role = 'STAFF'), made by its migration: the admins' list of door staff.
@Index('users_staff', { synchronize: false })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ name: 'email_key', type: 'text' })
  emailKey: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'enum', enum: Role, enumName: 'user_role', default: Role.User })
  role: Role;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  /**
   * When the account confirmed its e-mail address (a token mailed to it came back); null while it
   * has not, and again after its e-mail changes (trigger `users_email_change_unverifies`).
   */
  @Column({ name: 'email_verified_at', type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  /**
   * When the account was deleted (anonymised: its address `deleted-<id>@invalid`, no name, a
   * password no one knows; its sessions ended); null for a live account. The row stays: purchases,
   * tickets and audit rows name it.
   */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
