import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the foreign key from tickets to purchases: it cost the flush a `SELECT … FOR KEY SHARE` of
 * the purchase row per ticket (~10–15 % of the flush statement's time) and could never fail.
 * Tickets are written only by the flush statement (`PurchaseRepository.writeBatch`), and only for
 * the purchases that same statement has just inserted (its `inserted` CTE); purchases are never
 * deleted (`purchases_performance_fk` and `purchases_user_fk` are ON DELETE RESTRICT, and no code
 * deletes one), so its ON DELETE CASCADE had nothing to do. The seat's foreign key stays: a seat
 * with a sold ticket must not be deleted.
 */
export class TicketsWithoutPurchaseFk1795672000000 implements MigrationInterface {
  name = 'TicketsWithoutPurchaseFk1795672000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tickets" DROP CONSTRAINT "tickets_purchase_fk"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_purchase_fk" FOREIGN KEY ("purchase_id") REFERENCES "purchases"("id") ON DELETE CASCADE`,
    );
  }
}
