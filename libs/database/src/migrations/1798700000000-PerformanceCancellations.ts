import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A performance may be canceled (`status` CANCELED, terminal), and `performance_cancellations`
 * holds each cancellation's bulk refund: one row per canceled performance, open (`completed_at`
 * null) while `batch` still refunds its purchases; `performance_cancellations_open` is the
 * partial index the refund loop reads open ones from. Deleting the performance deletes its row.
 */
export class PerformanceCancellations1798700000000 implements MigrationInterface {
  name = 'PerformanceCancellations1798700000000';

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
         "completed_at" timestamptz
       )`,
    );
    await queryRunner.query(
      `CREATE INDEX "performance_cancellations_open" ON "performance_cancellations" ("requested_at") WHERE "completed_at" IS NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "performance_cancellations"`);
    await queryRunner.query(`UPDATE "performances" SET "status" = 'CLOSED' WHERE "status" = 'CANCELED'`);
    await queryRunner.query(`ALTER TABLE "performances" DROP CONSTRAINT "performances_status_check"`);
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_status_check" CHECK ("status" IN ('ON_SALE', 'PAUSED', 'CLOSED'))`,
    );
  }
}
