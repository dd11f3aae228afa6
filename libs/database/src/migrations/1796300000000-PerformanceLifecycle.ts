import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Performance lifecycle: a sales `status` (ON_SALE, PAUSED, CLOSED), the end of sales
 * (`sales_close_at`, null = at `starts_at`) and the end of buyers' self-service cancel
 * (`cancel_until`, null = none; existing performances get 24 h before their start).
 */
export class PerformanceLifecycle1796300000000 implements MigrationInterface {
  name = 'PerformanceLifecycle1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "performances" ADD "status" character varying(8) NOT NULL DEFAULT 'ON_SALE',
       ADD "sales_close_at" TIMESTAMP WITH TIME ZONE, ADD "cancel_until" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_status_check" CHECK ("status" IN ('ON_SALE', 'PAUSED', 'CLOSED'))`,
    );
    await queryRunner.query(`UPDATE "performances" SET "cancel_until" = "starts_at" - interval '24 hours'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" DROP CONSTRAINT "performances_status_check"`);
    await queryRunner.query(
      `ALTER TABLE "performances" DROP COLUMN "cancel_until", DROP COLUMN "sales_close_at", DROP COLUMN "status"`,
    );
  }
}
