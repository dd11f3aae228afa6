import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `purchases` takes ACCESS EXCLUSIVE: while it waits behind a long transaction, every
 * flush, purchase read and sales report queues behind it.
 */
const PURCHASES: LockedTables = {
  migration: 'PurchaseSaleChannel1799650000000',
  tables: '"purchases"',
  stalls: 'every flush of purchases',
  holders: 'it',
};

/**
 * Box office sales (POST /box-office/performances/:id/sales): where a purchase was sold,
 * `sale_channel` (`ONLINE`, every row there already is, or `BOX_OFFICE`: sold at the window by a
 * staff or admin account, which owns it) and, for the window, how the money was taken,
 * `payment_method` (`CASH` or `CARD_TERMINAL`; NULL for an online sale, paid through the gateway),
 * and where its e-mails go, `delivery_email` and `delivery_name` (the walk-up's address and name,
 * as the window took them; NULL: to the owning account, as for every other purchase).
 * A constant default and nullable columns are changes of the catalog only (no row rewritten,
 * whatever the table's size); the CHECKs are NOT VALID (every existing row is `ONLINE` with no
 * method, by the default), so they scan nothing and hold for every row written from now on. The
 * wait for the lock is bounded by MIGRATION_LOCK_TIMEOUT; a migration that runs out of it rolls
 * back (nothing changed) and says to retry.
 */
export class PurchaseSaleChannel1799650000000 implements MigrationInterface {
  name = 'PurchaseSaleChannel1799650000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" ADD "sale_channel" text NOT NULL DEFAULT 'ONLINE'`);
      await queryRunner.query(`ALTER TABLE "purchases" ADD "payment_method" text`);
      await queryRunner.query(`ALTER TABLE "purchases" ADD "delivery_email" text`);
      await queryRunner.query(`ALTER TABLE "purchases" ADD "delivery_name" text`);
      await queryRunner.query(
        `ALTER TABLE "purchases" ADD CONSTRAINT "purchases_sale_channel_check"
           CHECK (CASE sale_channel
                    WHEN 'ONLINE' THEN payment_method IS NULL
                    -- COALESCE: a NULL method's IN is NULL, which a CHECK lets through.
                    WHEN 'BOX_OFFICE' THEN COALESCE(payment_method IN ('CASH', 'CARD_TERMINAL'), false)
                    ELSE false
                  END) NOT VALID`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A box office sale reads as an online one afterwards (its method lost with the column); its
    // refund would then ask the gateway for a charge it never made (none recorded: nothing moves).
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP CONSTRAINT "purchases_sale_channel_check"`);
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "delivery_name"`);
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "delivery_email"`);
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "payment_method"`);
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "sale_channel"`);
    });
  }
}
