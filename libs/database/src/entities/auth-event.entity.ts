import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { UserEntity } from './user.entity';

export enum AuthEventType {
  SignedUp = 'SIGNED_UP',
  AdminGranted = 'ADMIN_GRANTED',
  StaffCreated = 'STAFF_CREATED',
  /** A buyer's account was made door staff by an admin. */
  StaffGranted = 'STAFF_GRANTED',
  StaffRevoked = 'STAFF_REVOKED',
  RefreshTokenReused = 'REFRESH_TOKEN_REUSED',
  /** A password-reset e-mail was asked for (the account exists). */
  PasswordResetRequested = 'PASSWORD_RESET_REQUESTED',
  /** The password was set with a reset token; every session of the account ended. */
  PasswordReset = 'PASSWORD_RESET',
  /** The signed-in account changed its password (`POST /auth/password`); every session of it ended. */
  PasswordChanged = 'PASSWORD_CHANGED',
  /** A "confirm your e-mail address" e-mail was issued (at signup, or asked for again). */
  EmailVerificationRequested = 'EMAIL_VERIFICATION_REQUESTED',
  /** The account confirmed its e-mail address with a verification token. */
  EmailVerified = 'EMAIL_VERIFIED',
  /**
   * The signed-in account asked to change its address (`POST /auth/email`): a token went to the new
   * address, a notice to the old one. Counted for the limit of such e-mails, as the mailed tokens are.
   */
  EmailChangeRequested = 'EMAIL_CHANGE_REQUESTED',
  /** The account's address was changed with a token mailed to the new one; every session of it ended. */
  EmailChanged = 'EMAIL_CHANGED',
  /** The account offered a ticket it holds to an e-mail address. */
  TicketTransferOffered = 'TICKET_TRANSFER_OFFERED',
  /** The account withdrew a pending offer of its ticket. */
  TicketTransferCanceled = 'TICKET_TRANSFER_CANCELED',
  /** The account accepted a ticket offered to its confirmed address: it holds the ticket now. */
  TicketTransferAccepted = 'TICKET_TRANSFER_ACCEPTED',
  /** The account declined a ticket offered to its confirmed address. */
  TicketTransferDeclined = 'TICKET_TRANSFER_DECLINED',
  /**
   * The account asked for a purchase's tickets to be e-mailed again (`POST
   * /purchases/:id/tickets/resend`): counted for the limit of such e-mails, as the mailed tokens are.
   */
  TicketsResent = 'TICKETS_RESENT',
  /**
   * The account was answered a PDF of printable tickets (the buyer's routes or the box office
   * window's): counted for the limit of such renders (TicketPrintsRepository).
   */
  TicketsPrinted = 'TICKETS_PRINTED',
  /**
   * The account was deleted (`DELETE /users/me`, or an admin's `DELETE /admin/users/:id`): anonymised,
   * its sessions ended. The row keeps the account's id and nothing personal.
   */
  AccountDeleted = 'ACCOUNT_DELETED',
}

/**
 * An audit trail of security-relevant account events, only ever inserted, deleted by `batch` once
 * older than AUTH_EVENT_RETENTION_DAYS. Also what the mailed-token limit
 * counts, by account, type and time (`auth_events_user_type_created_idx`, migration
 * TokenLimitAndTransferIndexes1799470000000): it leads with the account,
 * so it also finds an account's events for the cascade of its deletion (the index by account alone
 * was dropped, DropRedundantAuthEventsIndex1799520000000).
 */
@Entity('auth_events')
@Index('auth_events_user_type_created_idx', ['userId', 'type', 'createdAt'])
export class AuthEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'auth_events_user_id_fkey' })
  user?: UserEntity;

  @Column({ type: 'varchar', length: 40 })
  type: AuthEventType;

  /**
   * Pruned by `batch` AUTH_EVENT_RETENTION_DAYS after (AuthEventsRepository.deleteRecordedBefore;
   * index from AuthEventsAndDeliveriesPruneIndexes1800000340000).
   */
  @Index('auth_events_created_at')
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
