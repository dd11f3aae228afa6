import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EmailDeliveryEntity } from '../entities/email-delivery.entity';

export interface DeliveryClaim {
  messageId: string;
  purchaseId: string;
  recipient: string;
}

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
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient) VALUES ($1, $2, $3)
       ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
      [claim.messageId, claim.purchaseId, claim.recipient],
    );
    return rows.length === 1;
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

  findByPurchase(purchaseId: string): Promise<EmailDeliveryEntity[]> {
    return this.dataSource.getRepository(EmailDeliveryEntity).findBy({ purchaseId });
  }

  count(): Promise<number> {
    return this.dataSource.getRepository(EmailDeliveryEntity).count();
  }
}
