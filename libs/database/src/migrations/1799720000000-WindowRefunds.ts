import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The foreign key to `purchases` takes SHARE ROW EXCLUSIVE there: while it waits behind a long
 * transaction, every flush and cancellation (which write purchases) queues behind it.
 */
const PURCHASES: LockedTables = {
  migration: 'WindowRefunds1799720000000',
  tables: '"purchases"',
  stalls: 'every flush and cancellation of a purchase',
  holders: 'it',
};

/**
 * Refunds owed at the window: a box office sale (`purchases.payment_method` set: paid in cash or on
 * the card terminal, no gateway charge) canceled by the bulk refund of its canceled performance gets
 * no money back by itself: its holder brings the tickets or receipt to the box office, which gives
 * the amount back the way it was taken. `window_refunds` holds one row such a purchase, written with
 * its cancellation (by the api or by the flush, `cancel` of PurchaseRepository: a replay is one row):
 * the amount owed (minor units of `currency`: the purchase's amount less its partial refunds, which
 * the window gave back when it made them), the method (`CASH` or `CARD_TERMINAL`), `OWED` until an
 * operator marks it paid at the window (`PAID`, with when and by whom; the audit log records it too).
 * A new table, but its foreign key locks `purchases` (SHARE ROW EXCLUSIVE) for the moment of the
 * CREATE: its wait for that lock is bounded (lockingBriefly), so a long transaction on purchases makes
 * the migration give up and say to retry instead of stalling the write-behind. Already applied, the
 * migration is not run again: the bound changes how it waits, not what it makes.
 */
export class WindowRefunds1799720000000 implements MigrationInterface {
  name = 'WindowRefunds1799720000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`
      CREATE TABLE "window_refunds" (
        "purchase_id" uuid PRIMARY KEY REFERENCES "purchases" ("id"),
        "performance_id" integer NOT NULL,
        "amount" bigint NOT NULL CHECK ("amount" > 0),
        "currency" char(3) NOT NULL,
        "payment_method" text NOT NULL CHECK ("payment_method" IN ('CASH', 'CARD_TERMINAL')),
        "status" text NOT NULL CHECK ("status" IN ('OWED', 'PAID')),
        "owed_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        "paid_at" timestamptz,
        "paid_by_id" uuid,
        "paid_by_email" text,
        CHECK (("status" = 'PAID') = ("paid_at" IS NOT NULL))
      )`);
    });
    await queryRunner.query(
      `CREATE INDEX "window_refunds_performance" ON "window_refunds" ("performance_id", "status", "owed_at", "purchase_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Refunds still owed are then told by nothing but the buyers' notices.
    await queryRunner.query(`DROP TABLE "window_refunds"`);
  }
}
