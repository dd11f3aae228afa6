import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `payment_attempts` takes ACCESS EXCLUSIVE: while it waits behind a long transaction,
 * every purchase request (its attempt is written before the charge) queues behind it.
 */
const PAYMENT_ATTEMPTS: LockedTables = {
  migration: 'PaymentAttemptToken1799890000000',
  tables: '"payment_attempts"',
  stalls: 'every purchase request',
  holders: 'it',
};

/**
 * The buyer's payment token (what the processor's client SDK returned: a Stripe PaymentMethod id, a
 * Toss Payments paymentKey; `paymentToken` of POST /purchases) kept with the attempt, so every
 * charge of the attempt (a same-key retry, `batch`'s reconciler learning a crashed charge) sends the
 * same one; NULL when the buyer sent none, as every attempt written before. One ALTER: a nullable
 * column without a default is a change of the catalog only (no row rewritten). The wait for the lock
 * is bounded by MIGRATION_LOCK_TIMEOUT; a migration that runs out of it rolls back and says to retry.
 */
export class PaymentAttemptToken1799890000000 implements MigrationInterface {
  name = 'PaymentAttemptToken1799890000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PAYMENT_ATTEMPTS, async () => {
      await queryRunner.query(`ALTER TABLE "payment_attempts" ADD "payment_token" character varying(500)`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // An open attempt's token is lost with the column: the reconciler then charges it without one.
    await lockingBriefly(queryRunner, PAYMENT_ATTEMPTS, async () => {
      await queryRunner.query(`ALTER TABLE "payment_attempts" DROP COLUMN "payment_token"`);
    });
  }
}
