import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `purchases` takes ACCESS EXCLUSIVE: while it waits behind a long transaction, every
 * flush, purchase read and sales report queues behind it.
 */
const PURCHASES: LockedTables = {
  migration: 'PurchaseCompNote1799610000000',
  tables: '"purchases"',
  stalls: 'every flush of purchases',
  holders: 'it',
};

/**
 * Comps (complimentary tickets an operator issues, POST /admin/performances/:id/comps): a purchase
 * that is a comp carries the operator's note (who and why) in `comp_note`; NULL for a sale, which
 * every row there already is. One ALTER of `purchases`: a nullable column without a default is a
 * change of the catalog only (no row rewritten, whatever the table's size). The wait for the lock is
 * bounded by MIGRATION_LOCK_TIMEOUT; a migration that runs out of it rolls back (nothing changed)
 * and says to retry.
 */
export class PurchaseCompNote1799610000000 implements MigrationInterface {
  name = 'PurchaseCompNote1799610000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" ADD "comp_note" text`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A comp reads as a free purchase (amount 0) afterwards: its note is lost with the column.
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "comp_note"`);
    });
  }
}
