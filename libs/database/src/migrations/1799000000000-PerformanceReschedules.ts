import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `performance_reschedules` records every move of a performance's `startsAt` (a postponed or
 * brought-forward show), written in the transaction of the PATCH that moved it, and the fan-out
 * of its buyers' notices: open (`completed_at` null) while `batch` still queues one notice per
 * paid purchase in the outbox, `notice_cursor` the last purchase id a pass queued (purchases are
 * paged in id order). `performance_reschedules_open` is the partial index the loop reads open
 * ones from. Deleting the performance deletes its rows. `email_deliveries.starts_at` is the
 * performance's start an e-mail told its recipient (a confirmation, a new-date notice; null for the
 * others), so a notice knows what its buyer was last told (`email_deliveries_purchase_told`); the
 * confirmations sent before get their performance's start now, which is what they told (no move
 * was recorded before this migration). A page of a move's notices reads the performance's paid
 * purchases through `purchases_paid_performance` (migration 1798950000000).
 */
export class PerformanceReschedules1799000000000 implements MigrationInterface {
  name = 'PerformanceReschedules1799000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "performance_reschedules" (
         "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         "performance_id" integer NOT NULL REFERENCES "performances" ("id") ON DELETE CASCADE,
         "previous_starts_at" timestamptz NOT NULL,
         "starts_at" timestamptz NOT NULL,
         "requested_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
         "notice_cursor" uuid,
         "completed_at" timestamptz
       )`,
    );
    await queryRunner.query(
      `CREATE INDEX "performance_reschedules_open" ON "performance_reschedules" ("id") WHERE "completed_at" IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "performance_reschedules_performance" ON "performance_reschedules" ("performance_id")`,
    );
    await queryRunner.query(`ALTER TABLE "email_deliveries" ADD "starts_at" timestamptz`);
    await queryRunner.query(
      `UPDATE "email_deliveries" d SET "starts_at" = pf."starts_at"
         FROM "purchases" p JOIN "performances" pf ON pf."id" = p."performance_id"
        WHERE d."message_id" = 'purchase-completed:' || p."id" AND d."purchase_id" = p."id"`,
    );
    await queryRunner.query(
      `CREATE INDEX "email_deliveries_purchase_told" ON "email_deliveries" ("purchase_id", "sent_at") WHERE "starts_at" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."email_deliveries_purchase_told"`);
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP COLUMN "starts_at"`);
    await queryRunner.query(`DROP TABLE "performance_reschedules"`);
  }
}
