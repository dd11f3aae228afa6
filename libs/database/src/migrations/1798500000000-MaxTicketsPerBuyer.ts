import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `max_tickets_per_buyer` of a performance: the seats one buyer may have bought (paid purchases not
 * canceled) and hold together; null (every existing performance) = no limit beyond the seats held
 * at once. At least 1 when set.
 */
export class MaxTicketsPerBuyer1798500000000 implements MigrationInterface {
  name = 'MaxTicketsPerBuyer1798500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" ADD "max_tickets_per_buyer" integer`);
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "performances_max_tickets_per_buyer_positive"
         CHECK ("max_tickets_per_buyer" IS NULL OR "max_tickets_per_buyer" >= 1)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "performances" DROP COLUMN "max_tickets_per_buyer"`);
  }
}
