import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The notice to a buyer whose charge the payment reconciliation refunded because its purchase never
 * happened or was lost (ops trial O5): its e-mail (`payment-refunded:<purchase id>`) is recorded in
 * `email_deliveries` without a purchase (there is none in PostgreSQL). Only the check changes:
 * NOT VALID, then VALIDATE, which scans under a lock that lets the mailer's claims go on.
 */
export class PaymentRefundedNotices1800000180000 implements MigrationInterface {
  name = 'PaymentRefundedNotices1800000180000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
                OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'
                OR "message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%'
                OR "message_id" LIKE 'payment-refunded:%') NOT VALID`,
    );
    await queryRunner.query(`ALTER TABLE "email_deliveries" VALIDATE CONSTRAINT "email_deliveries_purchase_id_check"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL AND "message_id" LIKE 'payment-refunded:%'`,
    );
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
                OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'
                OR "message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%')`,
    );
  }
}
