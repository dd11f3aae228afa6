import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `payment_attempts` takes ACCESS EXCLUSIVE: while it waits behind a long transaction,
 * every purchase request (its attempt is written before the charge) queues behind it.
 */
const PAYMENT_ATTEMPTS: LockedTables = {
  migration: 'PaymentAttemptTokenSettled1799940000000',
  tables: '"payment_attempts"',
  stalls: 'every purchase request',
  holders: 'it',
};

/**
 * A payment attempt keeps the buyer's payment token in plain text only while it is open: settled
 * (COMPLETED, REFUND_OWED, REFUNDED, DECLINED) it is NULL, and `payment_token_sha256` (SHA-256 of the
 * token's bytes, NULL when the buyer sent none) is what a same-key retry's token is compared with.
 * `recheck_at`: when `batch` looks once more for a charge under the key of an attempt it settled
 * DECLINED because the gateway had none (PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS later), NULL
 * otherwise. The two ALTERs change the catalog only (nullable columns without a default), and
 * commit at once: the rows are filled in by the next migration (PaymentAttemptRecheckIndex), in
 * batches outside a transaction, so no purchase waits behind the ALTER's lock while they are. The
 * wait for the lock is bounded by MIGRATION_LOCK_TIMEOUT; a migration that runs out of it rolls
 * back and says to retry.
 */
export class PaymentAttemptTokenSettled1799940000000 implements MigrationInterface {
  name = 'PaymentAttemptTokenSettled1799940000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PAYMENT_ATTEMPTS, async () => {
      await queryRunner.query(
        `ALTER TABLE "payment_attempts" ADD "payment_token_sha256" bytea, ADD "recheck_at" TIMESTAMP WITH TIME ZONE`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Cleared tokens are gone: a settled attempt is never charged again, so none is needed back.
    await lockingBriefly(queryRunner, PAYMENT_ATTEMPTS, async () => {
      await queryRunner.query(
        `ALTER TABLE "payment_attempts" DROP COLUMN "recheck_at", DROP COLUMN "payment_token_sha256"`,
      );
    });
  }
}
