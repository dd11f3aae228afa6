import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The lock on `email_deliveries` (every mailer's claim of a message queues behind a waiting ALTER). */
const DELIVERIES: LockedTables = {
  migration: 'PaymentRefundedNotices1800000180000',
  tables: '"email_deliveries"',
  stalls: 'every e-mail the mailers send',
  holders: 'it',
};

/** The check as this migration leaves it: a delivery without a purchase is one of these kinds. */
const WITH_REFUND_NOTICES = `CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
  OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'
  OR "message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%'
  OR "message_id" LIKE 'payment-refunded:%')`;

/** The check before it (EmailChangeAndAccountNotices1800000160000), for `down`. */
const BEFORE = `CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
  OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'
  OR "message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%')`;

/**
 * The notice to a buyer whose charge the payment reconciliation refunded because its purchase never
 * happened or was lost (ops trial O5): its e-mail (`payment-refunded:<purchase id>`) is recorded in
 * `email_deliveries` without a purchase (there is none in PostgreSQL). Only the check changes.
 *
 * Outside one transaction (`transaction = false`): the DROP takes ACCESS EXCLUSIVE on
 * `email_deliveries`, which every mailer's claim waits for, so it and the ADD … NOT VALID commit at
 * once, their lock wait bounded (lockingBriefly: gives up, nothing changed, and says to retry); the
 * VALIDATE then scans on its own, under SHARE UPDATE EXCLUSIVE, which lets the claims go on. (In
 * one transaction the DROP's lock would last through the whole scan.) A run stopped before the
 * VALIDATE is not recorded: the next start drops the NOT VALID check and does it all again.
 */
export class PaymentRefundedNotices1800000180000 implements MigrationInterface {
  name = 'PaymentRefundedNotices1800000180000';

  /** Run outside a transaction: see above. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await replaceCheck(queryRunner, WITH_REFUND_NOTICES);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await replaceCheck(
      queryRunner,
      BEFORE,
      `DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL AND "message_id" LIKE 'payment-refunded:%'`,
    );
  }
}

/**
 * Replaces `email_deliveries_purchase_id_check` with `check`, NOT VALID, in a transaction of its
 * own (after `before`, if given), then validates it outside that transaction.
 */
async function replaceCheck(queryRunner: QueryRunner, check: string, before?: string): Promise<void> {
  await queryRunner.startTransaction();
  try {
    await lockingBriefly(queryRunner, DELIVERIES, async () => {
      await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
      if (before) await queryRunner.query(before);
      await queryRunner.query(
        `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check" ${check} NOT VALID`,
      );
    });
    await queryRunner.commitTransaction();
  } catch (error) {
    await queryRunner.rollbackTransaction();
    throw error;
  }
  await lockingBriefly(queryRunner, DELIVERIES, async () => {
    await queryRunner.query(`ALTER TABLE "email_deliveries" VALIDATE CONSTRAINT "email_deliveries_purchase_id_check"`);
  });
}
