import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One row per e-mail sent by `mailer`, keyed by the message it answers: a redelivered message
 * finds its row and sends nothing twice. Deleted by `batch` once no e-mail to come can read it
 * (EMAIL_DELIVERY_RETENTION_DAYS; a purchase's confirmation stays with the purchase).
 */
@Entity('email_deliveries')
// What batch prunes, oldest first; confirmations stay (EmailDeliveriesRepository.deleteUnreadSentBefore,
// migration AuthEventsAndDeliveriesPruneIndexes1800000340000).
@Index('email_deliveries_sent_at_prunable', ['sentAt'], { where: `"message_id" NOT LIKE 'purchase-completed:%'` })
@Index('email_deliveries_purchase_told', ['purchaseId', 'sentAt'], { where: '"starts_at" IS NOT NULL' })
@Check(
  'email_deliveries_purchase_id_check',
  `"purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%' OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'`,
)
export class EmailDeliveryEntity {
  @PrimaryColumn({ name: 'message_id', type: 'varchar', length: 200 })
  messageId: string;

  /**
   * The purchase the e-mail is about; null only for an account's e-mail (a password reset, whose
   * message id starts `password-reset:`), which a CHECK holds the table to.
   */
  @Column({ name: 'purchase_id', type: 'uuid', nullable: true })
  purchaseId: string | null;

  @Column({ type: 'varchar', length: 320 })
  recipient: string;

  /** The Message-ID the SMTP server accepted. */
  @Column({ name: 'smtp_message_id', type: 'varchar', length: 500, nullable: true })
  smtpMessageId: string | null;

  @Column({ name: 'sent_at', type: 'timestamptz', default: () => 'now()' })
  sentAt: Date;

  /** The whole message reached the server but no reply came: it may have been delivered, so it is not sent again. */
  @Column({ type: 'boolean', default: false })
  uncertain: boolean;

  /**
   * The performance's start the e-mail told its recipient (a confirmation, a new-date notice, a
   * ticket-transfer offer or its new-date offer);
   * null for other e-mails and for those sent before it was recorded.
   */
  @Column({ name: 'starts_at', type: 'timestamptz', nullable: true })
  startsAt: Date | null;
}
