import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** Where a transfer stands. A PENDING offer past `expires_at` reads EXPIRED (and is written so lazily). */
export enum TicketTransferStatus {
  Pending = 'PENDING',
  Accepted = 'ACCEPTED',
  Canceled = 'CANCELED',
  Expired = 'EXPIRED',
  /** Its recipient said no (migration TicketTransferDecline1799450000000). */
  Declined = 'DECLINED',
}

/**
 * One offer of a ticket by its holder to an e-mail address (migration TicketTransfers1799400000000).
 * At most one PENDING per ticket (partial unique index `ticket_transfers_ticket_pending_key`).
 * Accepting it makes the accepting account the ticket's holder (`tickets.holder_id`) and raises
 * the ticket's `code_version` in one transaction.
 */
@Entity('ticket_transfers')
@Index('ticket_transfers_ticket_pending_key', { synchronize: false })
@Index('ticket_transfers_sender_idx', ['senderId', 'createdAt', 'id'])
@Index('ticket_transfers_recipient_idx', ['recipientEmailKey', 'createdAt', 'id'])
// Every transfer of a ticket, whatever its status (migration TokenLimitAndTransferIndexes1799470000000).
@Index('ticket_transfers_ticket_id_idx', ['ticketId'])
export class TicketTransferEntity {
  /**
   * Names the offer; its e-mails' message ids are `ticket-transfer-<event>:<id>`, the events of
   * TicketTransferMailEvent (@app/messaging/contracts).
   */
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'ticket_id', type: 'bigint' })
  ticketId: string;

  /** The holder who offered it. */
  @Column({ name: 'sender_id', type: 'uuid' })
  senderId: string;

  /** The address as given, normalized as account addresses are (NFKC, lower case): where the offer goes. */
  @Column({ name: 'recipient_email', type: 'varchar', length: 320 })
  recipientEmail: string;

  /** Its full case fold (`emailKey` of @app/core): what an account's confirmed address is matched by. */
  @Column({ name: 'recipient_email_key', type: 'varchar', length: 320 })
  recipientEmailKey: string;

  /** The account that accepted or declined it; null before. */
  @Column({ name: 'recipient_id', type: 'uuid', nullable: true })
  recipientId: string | null;

  @Column({ type: 'varchar', length: 10, default: TicketTransferStatus.Pending })
  status: TicketTransferStatus;

  /**
   * Why a CANCELED one was: `SENDER`, `PURCHASE_CANCELED`, or an accept's refusal (`CHECKED_IN`,
   * `TICKET_CANCELED`, `PERFORMANCE_CANCELED`).
   */
  @Column({ name: 'cancel_reason', type: 'varchar', length: 20, nullable: true })
  cancelReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'accepted_at', type: 'timestamptz', nullable: true })
  acceptedAt: Date | null;

  @Column({ name: 'canceled_at', type: 'timestamptz', nullable: true })
  canceledAt: Date | null;

  /**
   * The ticket's code version its accept issued (the new holder's code); null unless ACCEPTED (and
   * for transfers accepted before migration TicketTransferDecline1799450000000).
   */
  @Column({ name: 'code_version', type: 'integer', nullable: true })
  codeVersion: number | null;

  /** When its recipient declined it; null unless DECLINED. */
  @Column({ name: 'declined_at', type: 'timestamptz', nullable: true })
  declinedAt: Date | null;
}
