import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A payment attempt can be `REFUND_OWED`: its purchase was canceled and its charge is to be given
 * back. The flusher writes it with the cancellation; the api's own refund, or else `batch`'s
 * payment reconciler, makes it `REFUNDED`. The open attempts' index (the reconciler's claim scans
 * it) now covers it.
 *
 * Attempts `COMPLETED` whose purchase is already `CANCELED` become `REFUND_OWED`: before this
 * migration nothing recorded whether such a refund was made (a crash between the cancel and the
 * refund kept the charge), so each is refunded once more. The gateway takes a repeated refund of
 * one charge as that one refund (PaymentGateway), so none is given back twice.
 */
export class PaymentAttemptRefundOwed1798400000000 implements MigrationInterface {
  name = 'PaymentAttemptRefundOwed1798400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "payment_attempts_open"`);
    await queryRunner.query(
      `CREATE INDEX "payment_attempts_open" ON "payment_attempts" ("touched_at")
       WHERE "status" IN ('PENDING', 'CHARGED', 'REFUND_OWED')`,
    );
    await queryRunner.query(
      `UPDATE "payment_attempts" a
       SET "status" = 'REFUND_OWED', "resolved_at" = NULL, "touched_at" = clock_timestamp(),
           "charge_id" = COALESCE(a."charge_id", p."charge_id")
       FROM "purchases" p
       WHERE p."id" = a."purchase_id" AND p."status" = 'CANCELED' AND a."status" = 'COMPLETED'`,
    );
  }

  /** Owed refunds not made yet go back to what the code before knew: `COMPLETED`. */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "payment_attempts" SET "status" = 'COMPLETED', "resolved_at" = clock_timestamp()
       WHERE "status" = 'REFUND_OWED'`,
    );
    await queryRunner.query(`DROP INDEX "payment_attempts_open"`);
    await queryRunner.query(
      `CREATE INDEX "payment_attempts_open" ON "payment_attempts" ("touched_at") WHERE "status" IN ('PENDING', 'CHARGED')`,
    );
  }
}
