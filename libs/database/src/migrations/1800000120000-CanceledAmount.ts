import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The ALTER takes ACCESS EXCLUSIVE on `purchases`: while it waits, every purchase and cancel queues behind it. */
const PURCHASES: LockedTables = {
  migration: 'CanceledAmount1800000120000',
  tables: '"purchases"',
  stalls: 'every purchase and cancel',
  holders: 'them',
};

/**
 * What a cancellation gave back, recorded with it: `purchases.canceled_amount`, a nullable bigint
 * in minor units of the purchase's currency, as Redis decided it when it canceled (the amount less
 * every partial refund Redis had made before, written or not). The cash-up counts an operator's
 * whole refund of a window sale by it: computed from PostgreSQL instead (the amount less the partial
 * refunds written there), it overstated the refund while an earlier partial refund of the purchase
 * still waited in the stream (faults trial 2026-12-07, F1's residual). Cancellations written before
 * it stay NULL (the cash-up computes theirs as before). A nullable column without a default: no rewrite.
 */
export class CanceledAmount1800000120000 implements MigrationInterface {
  name = 'CanceledAmount1800000120000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" ADD "canceled_amount" bigint`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PURCHASES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "canceled_amount"`);
    });
  }
}
