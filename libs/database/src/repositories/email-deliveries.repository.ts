import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EmailDeliveryEntity } from '../entities/email-delivery.entity';
import { PurchaseStatus } from '../entities/purchase.entity';

export interface DeliveryClaim {
  messageId: string;
  /** null for an e-mail about no purchase (a password reset). */
  purchaseId: string | null;
  recipient: string;
  /**
   * The performance's start the e-mail tells its recipient (a confirmation, a new-date notice, a
   * transfer offer or its new-date offer); absent for others.
   */
  startsAt?: Date;
}

/**
 * The transfer id that ends a ticket-transfer message id (`ticket-transfer-offered:<id>`,
 * `ticket-transfer-rescheduled:<move id>.<id>`): a POSIX pattern for substring(… FROM …), whose
 * match always casts to uuid (no match: null).
 */
const UUID_AT_END = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** Sent e-mails, one row per message answered: what makes a redelivered message send nothing. */
@Injectable()
export class EmailDeliveriesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts the delivery row inside the caller's transaction; `false` when the message already
   * has one. While another transaction holds an uncommitted claim on the same message, this
   * waits for it: its commit makes this `false`, its rollback lets this claim go through.
   */
  async claim(manager: EntityManager, claim: DeliveryClaim): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient, starts_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
      [claim.messageId, claim.purchaseId, claim.recipient, claim.startsAt ?? null],
    );
    return rows.length === 1;
  }

  /**
   * Takes the purchase's mail lock for the rest of the caller's transaction (a transaction-level
   * advisory lock), then reads the purchase's status as committed now; null when it is not in the
   * database. The confirmation and the cancellation notice of one purchase take it, so each sees
   * what the other did: a notice follows a confirmation that was sent, and no confirmation goes out
   * after the purchase is canceled. Two statements: one read after the wait, not before it.
   */
  async lockPurchaseMail(manager: EntityManager, purchaseId: string): Promise<PurchaseStatus | null> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('purchase-mail:' || $1, 0))`, [purchaseId]);
    const rows: { status: PurchaseStatus }[] = await manager.query('SELECT status FROM purchases WHERE id = $1', [
      purchaseId,
    ]);
    return rows[0]?.status ?? null;
  }

  /**
   * Takes the ticket transfer's mail lock for the rest of the caller's transaction (a
   * transaction-level advisory lock). Every e-mail of one transfer is decided under it, so the offer
   * and its "withdrawn" notice each see what the other did: a notice follows an offer that was sent,
   * and no offer goes out once it ended.
   */
  async lockTransferMail(manager: EntityManager, transferId: string): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('ticket-transfer-mail:' || $1, 0))`, [
      transferId,
    ]);
  }

  /** Whether the message has a delivery row (sent, or uncertain), as the caller's transaction sees it. */
  async exists(manager: EntityManager, messageId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query('SELECT 1 FROM email_deliveries WHERE message_id = $1', [messageId]);
    return rows.length > 0;
  }

  /**
   * The performance's start the purchase's buyer was last told by e-mail, as the caller's
   * transaction sees it: the one the latest confirmation or new-date notice recorded (in the order
   * they were recorded under the purchase's mail lock); for a confirmation that recorded none (sent
   * by a mailer of an earlier version), the start before the first move recorded after it was sent
   * (both times from PostgreSQL's clock). Null when neither tells: no confirmation, or one sent
   * after every move without recording its time (it showed the start of now).
   */
  async lastToldStartsAt(manager: EntityManager, purchaseId: string): Promise<Date | null> {
    const rows: { starts_at: Date | null }[] = await manager.query(
      `SELECT COALESCE(
         (SELECT starts_at FROM email_deliveries WHERE purchase_id = $1 AND starts_at IS NOT NULL
           ORDER BY sent_at DESC LIMIT 1),
         (SELECT r.previous_starts_at
            FROM email_deliveries d
            JOIN purchases p ON p.id = d.purchase_id
            JOIN performance_reschedules r ON r.performance_id = p.performance_id AND r.requested_at >= d.sent_at
           WHERE d.message_id = 'purchase-completed:' || $1::text
           ORDER BY r.id LIMIT 1)) AS starts_at`,
      [purchaseId],
    );
    return rows[0]?.starts_at ?? null;
  }

  /**
   * The performance's start the recipient of transfer `transferId` was last told by e-mail, as the
   * caller's transaction sees it (under the transfer's mail lock): the one its offer
   * (`ticket-transfer-offered:<id>`) or its latest new-date offer
   * (`ticket-transfer-rescheduled:<move id>.<id>`, one per move of its performance) recorded; when
   * none recorded one (an offer e-mailed by a mailer of an earlier version, which recorded no start),
   * inferred as for a purchase (lastToldStartsAt): the start before the first move of its
   * performance recorded after the offer's e-mail was sent, or, with no move since, the start of now
   * (it showed that). Null when no offer e-mail went out.
   */
  async lastToldTransferStartsAt(manager: EntityManager, transferId: string): Promise<Date | null> {
    // The message ids named one by one (primary-key lookups), not matched by a pattern over the table.
    const rows: { starts_at: Date | null }[] = await manager.query(
      `SELECT COALESCE(
         (SELECT d.starts_at FROM email_deliveries d
           WHERE d.starts_at IS NOT NULL
             AND d.message_id IN (
               SELECT 'ticket-transfer-offered:' || $1::text
               UNION ALL
               SELECT 'ticket-transfer-rescheduled:' || r.id || '.' || $1::text
                 FROM ticket_transfers tr JOIN tickets t ON t.id = tr.ticket_id
                 JOIN performance_reschedules r ON r.performance_id = t.performance_id
                WHERE tr.id = $1::uuid)
           ORDER BY d.sent_at DESC LIMIT 1),
         (SELECT COALESCE(
                   (SELECT r.previous_starts_at FROM performance_reschedules r
                     WHERE r.performance_id = t.performance_id AND r.requested_at >= d.sent_at
                     ORDER BY r.id LIMIT 1),
                   pf.starts_at)
            FROM email_deliveries d
            JOIN ticket_transfers tr ON tr.id = $1::uuid
            JOIN tickets t ON t.id = tr.ticket_id
            JOIN performances pf ON pf.id = t.performance_id
           WHERE d.message_id = 'ticket-transfer-offered:' || $1::text)) AS starts_at`,
      [transferId],
    );
    return rows[0]?.starts_at ?? null;
  }

  /**
   * Takes the mail lock of an account holding transferred tickets (a transaction-level advisory
   * lock), for its new-date notices: two moves' notices to one holder are decided one after the
   * other, so the second sees what the first told.
   */
  async lockHolderMail(manager: EntityManager, holderId: string): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('ticket-holder-mail:' || $1, 0))`, [holderId]);
  }

  /** Whether any of the messages has a delivery row (sent, or uncertain), as the caller's transaction sees it. */
  async existsAny(manager: EntityManager, messageIds: string[]): Promise<boolean> {
    const rows: unknown[] = await manager.query('SELECT 1 FROM email_deliveries WHERE message_id = ANY($1::text[])', [
      messageIds,
    ]);
    return rows.length > 0;
  }

  /**
   * The performance's start an account holding tickets of performance `performanceId` by the
   * accepted transfers `transferIds` was last told by e-mail, as the caller's transaction sees it:
   * the one the latest of their "received" e-mails (`ticket-transfer-received:<transfer id>`) or of
   * its new-date notices of the performance's moves (`ticket-transfer-holder-rescheduled:<move id>.<holder
   * id>`) recorded; when none recorded one ("received" e-mails sent by a mailer of an earlier
   * version), inferred as for an offer (lastToldTransferStartsAt) from the latest "received"
   * e-mail: the start before the first move of the performance recorded after it was sent, or, with
   * no move since, the start of now. Null when no "received" e-mail went out.
   */
  async lastToldHolderStartsAt(
    manager: EntityManager,
    holderId: string,
    performanceId: number,
    transferIds: string[],
  ): Promise<Date | null> {
    // The message ids named one by one (primary-key lookups), not matched by a pattern over the table.
    const rows: { starts_at: Date | null }[] = await manager.query(
      `SELECT COALESCE(
         (SELECT d.starts_at FROM email_deliveries d
           WHERE d.starts_at IS NOT NULL
             AND d.message_id IN (
               SELECT 'ticket-transfer-received:' || id FROM unnest($3::text[]) AS id
               UNION ALL
               SELECT 'ticket-transfer-holder-rescheduled:' || r.id || '.' || $1::text
                 FROM performance_reschedules r WHERE r.performance_id = $2)
           ORDER BY d.sent_at DESC LIMIT 1),
         (SELECT COALESCE(
                   (SELECT r.previous_starts_at FROM performance_reschedules r
                     WHERE r.performance_id = $2 AND r.requested_at >= d.sent_at
                     ORDER BY r.id LIMIT 1),
                   pf.starts_at)
            FROM email_deliveries d
            JOIN performances pf ON pf.id = $2
           WHERE d.message_id IN (SELECT 'ticket-transfer-received:' || id FROM unnest($3::text[]) AS id)
           ORDER BY d.sent_at DESC LIMIT 1)) AS starts_at`,
      [holderId, performanceId, transferIds],
    );
    return rows[0]?.starts_at ?? null;
  }

  /** Completes a claim with what the SMTP server answered. */
  async recordSent(manager: EntityManager, messageId: string, smtpMessageId: string | null): Promise<void> {
    await manager.query(
      'UPDATE email_deliveries SET smtp_message_id = $2, sent_at = clock_timestamp() WHERE message_id = $1',
      [messageId, smtpMessageId],
    );
  }

  /**
   * Completes a claim whose outcome is unknown (the message reached the server, its reply did
   * not reach us): kept, so the message is not sent again, and marked for a person to check.
   */
  async recordUncertain(manager: EntityManager, messageId: string): Promise<void> {
    await manager.query(
      'UPDATE email_deliveries SET uncertain = true, sent_at = clock_timestamp() WHERE message_id = $1',
      [messageId],
    );
  }

  /**
   * Writes the delivery row of an e-mail the mail server took whose claiming transaction was lost
   * after it (PostgreSQL gone before the commit), completed as recordSent or recordUncertain would
   * have: the claim and the outcome in one row. Nothing when the message has a row already (the
   * commit took effect after all, or a redelivery claimed it meanwhile).
   */
  async recordHandedOver(
    manager: EntityManager,
    claim: DeliveryClaim,
    smtpMessageId: string | null,
    uncertain: boolean,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient, starts_at, smtp_message_id, uncertain, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp()) ON CONFLICT (message_id) DO NOTHING`,
      [claim.messageId, claim.purchaseId, claim.recipient, claim.startsAt ?? null, smtpMessageId, uncertain],
    );
  }

  /**
   * Deletes at most `limit` delivery records sent before `before` that no e-mail to come can read
   * any more, rows another statement has locked skipped; answers how many it deleted. A record is
   * read by a redelivery of its own message (which it keeps from going out twice) and, for mail
   * about a purchase or a ticket, by that purchase's or ticket's later e-mails. So kept, whatever
   * their age:
   * - every purchase's confirmation (`purchase-completed:<id>`), as long as the purchase: its
   *   cancellation, refund and new-date notices go out only after one (an operator may refund at
   *   any time); the partial index this reads leaves them out;
   * - every record of a purchase (`purchase_id`) or of a ticket transfer (`ticket-transfer-…`: the
   *   transfer's ticket, or the move a holder's new-date notice names) whose performance starts at
   *   or after `before`: a move of the performance reads what its buyers and holders were last told
   *   (lastToldStartsAt and the like), and a withdrawn offer's notice whether the offer went out.
   * A purchase or transfer no longer in the database (its performance deleted) keeps nothing.
   * Account e-mails (resets, verifications, address changes, notices) and refund notices of no
   * purchase are read by their own redeliveries only. Reads `email_deliveries_sent_at_prunable`
   * (AuthEventsAndDeliveriesPruneIndexes).
   */
  async deleteUnreadSentBefore(before: Date, limit: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `DELETE FROM email_deliveries WHERE message_id IN (
         SELECT d.message_id FROM email_deliveries d
          WHERE d.sent_at < $1 AND d.message_id NOT LIKE 'purchase-completed:%'
            AND NOT EXISTS (
              SELECT 1 FROM purchases p JOIN performances pf ON pf.id = p.performance_id
               WHERE p.id = d.purchase_id AND pf.starts_at >= $1)
            AND NOT EXISTS (
              SELECT 1 FROM ticket_transfers tr
                JOIN tickets t ON t.id = tr.ticket_id JOIN performances pf ON pf.id = t.performance_id
               WHERE d.message_id LIKE 'ticket-transfer-%'
                 AND d.message_id NOT LIKE 'ticket-transfer-holder-rescheduled:%'
                 AND tr.id = substring(d.message_id FROM '${UUID_AT_END}')::uuid AND pf.starts_at >= $1)
            AND NOT EXISTS (
              SELECT 1 FROM performance_reschedules r JOIN performances pf ON pf.id = r.performance_id
               WHERE d.message_id LIKE 'ticket-transfer-holder-rescheduled:%'
                 AND r.id = substring(d.message_id FROM ':([0-9]{1,18})[.]')::bigint AND pf.starts_at >= $1)
          ORDER BY d.sent_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED
       ) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }

  findByPurchase(purchaseId: string): Promise<EmailDeliveryEntity[]> {
    return this.dataSource.getRepository(EmailDeliveryEntity).findBy({ purchaseId });
  }

  count(): Promise<number> {
    return this.dataSource.getRepository(EmailDeliveryEntity).count();
  }
}
