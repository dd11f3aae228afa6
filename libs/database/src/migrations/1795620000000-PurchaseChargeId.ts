import { MigrationInterface, QueryRunner } from 'typeorm';

/** The payment gateway's charge of a purchase, so a cancel can refund it after the flush. */
export class PurchaseChargeId1795620000000 implements MigrationInterface {
  name = 'PurchaseChargeId1795620000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "purchases" ADD "charge_id" character varying(200)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "charge_id"`);
  }
}
