import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `seats_version` of a performance: bumped whenever its seats' static data change (a section's
 * price), so the seat-page caches keyed by it (`{perf:<id>}:cache:seats:v<version>:<block>`) are
 * never read stale after such a change.
 */
export class SeatsVersion1796500000000 implements MigrationInterface {
  name = 'SeatsVersion1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" ADD "seats_version" integer NOT NULL DEFAULT 0`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" DROP COLUMN "seats_version"`);
  }
}
