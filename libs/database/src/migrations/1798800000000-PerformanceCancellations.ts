import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A performance may be canceled (`status` CANCELED, terminal), and `performance_cancellations`
 * holds each cancellation's bulk refund: one row per canceled performance, open (`completed_at`
 * null) while `batch` still refunds its purchases. `tried_at` is when a refund pass last took it
 * up (null: never), so the loop takes the open one tried least recently and one that cannot finish
 * (a refund the gateway keeps refusing) never holds back the others; `refund_cursor` is the last
 * purchase id a pass reached, so the next pass goes on after it (a purchase whose cancel keeps
 * failing does not hold back the rest of its performance). `performance_cancellations_open` is the
 * partial index the refund loop reads open ones from. `performance_refund_failures` lists the
 * purchases whose cancel or refund failed on their last try, for the progress and the operator.
 * Deleting the performance deletes its rows.
 */
export class PerformanceCancellations1798800000000 implements MigrationInterface {
  name = 'PerformanceCancellations1798800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" DROP CONSTRAINT "performances_status_check"`);
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_status_check" CHECK ("status" IN ('ON_SALE', 'PAUSED', 'CLOSED', 'CANCELED'))`,
    );
    await queryRunner.query(
      `CREATE TABLE "performance_cancellations" (
         "performance_id" integer PRIMARY KEY REFERENCES "performances" ("id") ON DELETE CASCADE,
         "reason" varchar(500),
         "requested_by" uuid,
         "requested_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
         "completed_at" timestamptz,
         "tried_at" timestamptz,
         "refund_cursor" uuid
       )`,
    );
    await queryRunner.query(
      `CREATE INDEX "performance_cancellations_open" ON "performance_cancellations" ("tried_at" NULLS FIRST, "requested_at", "performance_id") WHERE "completed_at" IS NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "performance_refund_failures" (
         "purchase_id" uuid PRIMARY KEY,
         "performance_id" integer NOT NULL REFERENCES "performance_cancellations" ("performance_id") ON DELETE CASCADE,
         "reason" varchar(500) NOT NULL,
         "failed_at" timestamptz NOT NULL DEFAULT clock_timestamp()
       )`,
    );
    await queryRunner.query(
      `CREATE INDEX "performance_refund_failures_performance" ON "performance_refund_failures" ("performance_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "performance_refund_failures"`);
    await queryRunner.query(`DROP TABLE "performance_cancellations"`);
    await queryRunner.query(`UPDATE "performances" SET "status" = 'CLOSED' WHERE "status" = 'CANCELED'`);
    await queryRunner.query(`ALTER TABLE "performances" DROP CONSTRAINT "performances_status_check"`);
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_status_check" CHECK ("status" IN ('ON_SALE', 'PAUSED', 'CLOSED'))`,
    );
  }
}
