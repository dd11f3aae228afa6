import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * `batch`'s look for the attempt whose charge is due to be looked up once more (`recheck_at` due):
 * partial, only attempts settled DECLINED by a lookup that found no charge and not looked at again
 * yet are in it, so that look costs no scan of payment_attempts.
 */
const PAYMENT_ATTEMPTS_RECHECK: ConcurrentIndex = {
  name: 'payment_attempts_recheck',
  on: `ON "payment_attempts" ("recheck_at") WHERE "recheck_at" IS NOT NULL`,
};

/**
 * Built CONCURRENTLY (no purchase waits while it builds); PostgreSQL refuses that in a transaction
 * block, so this migration runs outside one. Revert with `npm run migration:revert -- --transaction none`.
 */
export class PaymentAttemptRecheckIndex1799940000001 implements MigrationInterface {
  name = 'PaymentAttemptRecheckIndex1799940000001';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, PAYMENT_ATTEMPTS_RECHECK);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, PAYMENT_ATTEMPTS_RECHECK.name);
  }
}
