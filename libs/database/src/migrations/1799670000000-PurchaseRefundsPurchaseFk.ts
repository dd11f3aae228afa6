import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * Adding the key takes SHARE ROW EXCLUSIVE on both tables: while it waits behind a long
 * transaction that writes purchases, every flush queues behind it.
 */
const TABLES: LockedTables = {
  migration: 'PurchaseRefundsPurchaseFk1799670000000',
  tables: '"purchases" or "purchase_refunds"',
  stalls: 'every flush of purchases and every partial refund',
  holders: 'them',
};

/**
 * `purchase_refunds.purchase_id` references `purchases` (ON DELETE RESTRICT: no code deletes a
 * purchase). It can never refuse a write the code makes: a partial refund is refused until
 * PostgreSQL has its purchase (the api reads the row first; refund-seats.lua answers NOT_WRITTEN
 * otherwise), so the purchase's row was committed before the refund existed, by an earlier flush;
 * the flush's statement order (partial refunds before the purchases it inserts, so a refunded seat
 * sold again in the same batch gets its new ticket) never meets a refund of a purchase that batch
 * inserts. Immediate, not deferred: a refund entry that broke it would fail its own statement, which
 * the flusher isolates and parks as any entry PostgreSQL refuses for good. The key costs a refund's
 * insert one FOR KEY SHARE of its purchase's row, which no write of purchases waits on (a cancel's
 * UPDATE takes FOR NO KEY UPDATE). Added NOT VALID, then validated: the table holds only partial
 * refunds, few, and the validation checks them while the brief lock is held (a migration is one
 * transaction); its wait for the locks is bounded by MIGRATION_LOCK_TIMEOUT, and one that runs
 * out rolls back (nothing changed) and says to retry.
 */
export class PurchaseRefundsPurchaseFk1799670000000 implements MigrationInterface {
  name = 'PurchaseRefundsPurchaseFk1799670000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, TABLES, async () => {
      await queryRunner.query(
        `ALTER TABLE "purchase_refunds" ADD CONSTRAINT "purchase_refunds_purchase_fk"
           FOREIGN KEY ("purchase_id") REFERENCES "purchases"("id") ON DELETE RESTRICT NOT VALID`,
      );
      await queryRunner.query(`ALTER TABLE "purchase_refunds" VALIDATE CONSTRAINT "purchase_refunds_purchase_fk"`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, TABLES, async () => {
      await queryRunner.query(`ALTER TABLE "purchase_refunds" DROP CONSTRAINT "purchase_refunds_purchase_fk"`);
    });
  }
}
