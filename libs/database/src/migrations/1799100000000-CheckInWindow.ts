import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A performance's own check-in window: `check_in_opens_before_minutes` (doors open that long
 * before `starts_at`) and `check_in_closes_after_minutes` (check-in closes that long after it);
 * null (every existing performance) = the global CHECK_IN_OPENS_BEFORE_MINUTES /
 * CHECK_IN_CLOSES_AFTER_MINUTES. 0-10080 minutes (7 days) when set.
 */
export class CheckInWindow1799100000000 implements MigrationInterface {
  name = 'CheckInWindow1799100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "performances" ADD "check_in_opens_before_minutes" integer, ADD "check_in_closes_after_minutes" integer`,
    );
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_check_in_window_range"
         CHECK (("check_in_opens_before_minutes" IS NULL OR "check_in_opens_before_minutes" BETWEEN 0 AND 10080)
            AND ("check_in_closes_after_minutes" IS NULL OR "check_in_closes_after_minutes" BETWEEN 0 AND 10080))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "performances" DROP COLUMN "check_in_opens_before_minutes", DROP COLUMN "check_in_closes_after_minutes"`,
    );
  }
}
