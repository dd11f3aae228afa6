import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `no_orphan_seats` of a performance: when true, a hold of chosen seat ids that would leave a
 * single free seat between taken seats or a row end is refused. Off for every existing one.
 */
export class NoOrphanSeats1796950000000 implements MigrationInterface {
  name = 'NoOrphanSeats1796950000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" ADD "no_orphan_seats" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" DROP COLUMN "no_orphan_seats"`);
  }
}
