import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `purchases` takes ACCESS EXCLUSIVE: while it waits behind a long transaction, every
 * flush, purchase read and sales report queues behind it.
 */
const PURCHASES: LockedTables = {
  migration: 'GuestComps1799770000000',
  tables: '"purchases"',
  stalls: 'every flush of purchases',
  holders: 'it',
};

/**
 * Guest comps (POST /admin/performances/:id/comps with `guest`): a comp to someone without an
 * account, stored as a walk-up's window sale is, under the issuing operator's account
 * (`sale_channel` BOX_OFFICE: the venue's, in no buyer's view) with the guest's address and name
 * (`delivery_email`, `delivery_name`), but paid by no one: no `payment_method`. The sale channel's
 * CHECK lets a BOX_OFFICE row without a method through only as such a comp (`comp_note` and
 * `delivery_email` set). Dropping a CHECK and adding one NOT VALID are changes of the catalog only
 * (no row scanned or rewritten); every existing row passed the old one, which the new one extends.
 */
export class GuestComps1799770000000 implements MigrationInterface {
  name = 'GuestComps1799770000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP CONSTRAINT "purchases_sale_channel_check"`);
      await queryRunner.query(
        `ALTER TABLE "purchases" ADD CONSTRAINT "purchases_sale_channel_check"
           CHECK (CASE sale_channel
                    WHEN 'ONLINE' THEN payment_method IS NULL
                    -- COALESCE: a NULL method's IN is NULL, which a CHECK lets through.
                    WHEN 'BOX_OFFICE' THEN COALESCE(payment_method IN ('CASH', 'CARD_TERMINAL'), false)
                                           OR (payment_method IS NULL AND comp_note IS NOT NULL
                                               AND delivery_email IS NOT NULL)
                    ELSE false
                  END) NOT VALID`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Guest comps break the old CHECK (their cancel's UPDATE would be refused): they become online
    // comps of the issuing operator's account, in its own lists again; their delivery address is
    // kept, so their e-mails still go to the guest.
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP CONSTRAINT "purchases_sale_channel_check"`);
      await queryRunner.query(
        `UPDATE "purchases" SET sale_channel = 'ONLINE' WHERE sale_channel = 'BOX_OFFICE' AND payment_method IS NULL`,
      );
      await queryRunner.query(
        `ALTER TABLE "purchases" ADD CONSTRAINT "purchases_sale_channel_check"
           CHECK (CASE sale_channel
                    WHEN 'ONLINE' THEN payment_method IS NULL
                    WHEN 'BOX_OFFICE' THEN COALESCE(payment_method IN ('CASH', 'CARD_TERMINAL'), false)
                    ELSE false
                  END) NOT VALID`,
      );
    });
  }
}
