import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The ALTER takes ACCESS EXCLUSIVE on `purchases`: while it waits, every purchase and cancel queues behind it. */
const PURCHASES: LockedTables = {
  migration: 'PurchasePresale1800000140000',
  tables: '"purchases"',
  stalls: 'every purchase and cancel',
  holders: 'them',
};

/**
 * The presale a purchase was made in: `purchases.presale_id`, a nullable bigint, the
 * `performance_presales.id` whose access code let its hold in before the on-sale (no foreign key:
 * a presale deleted before the on-sale keeps its sales). The sales report counts presale sales by
 * it (presale trial 2026-12-07, M3: purchases kept no mark of their presale). Purchases written
 * before it stay NULL, as general sales. A nullable column without a default: no rewrite.
 */
export class PurchasePresale1800000140000 implements MigrationInterface {
  name = 'PurchasePresale1800000140000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" ADD "presale_id" bigint`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "presale_id"`);
    });
  }
}
