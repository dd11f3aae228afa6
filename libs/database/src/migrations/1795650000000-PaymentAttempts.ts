import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payment attempts (P9): one row per purchase the api is about to charge, written before the
 * charge, so a charge whose purchase never happened (a crash between charge and sale) is found
 * and refunded by `batch`. `status` goes PENDING → CHARGED → COMPLETED | REFUNDED (or DECLINED).
 */
export class PaymentAttempts1795650000000 implements MigrationInterface {
  name = 'PaymentAttempts1795650000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "payment_attempts" (
        "purchase_id" uuid NOT NULL,
        "reservation_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "performance_id" integer NOT NULL,
        "amount" bigint NOT NULL,
        "currency" character(3) NOT NULL,
        "idempotency_key" character varying(200) NOT NULL,
        "charge_id" character varying(200),
        "status" character varying(16) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "touched_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        "resolved_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_payment_attempts" PRIMARY KEY ("purchase_id")
      )`,
    );
    await queryRunner.query(
      `CREATE INDEX "payment_attempts_open" ON "payment_attempts" ("touched_at") WHERE "status" IN ('PENDING', 'CHARGED')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "payment_attempts"`);
  }
}
