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

/** Attempts the backfill below updates a statement (each commits on its own). */
const BACKFILL_BATCH = 1000;

/**
 * Built CONCURRENTLY (no purchase waits while it builds); PostgreSQL refuses that in a transaction
 * block, so this migration runs outside one. Then the attempts written with a token before
 * PaymentAttemptTokenSettled (the column is recent) get its SHA-256, and the settled ones lose the
 * token, BACKFILL_BATCH at a time in primary-key order, each statement committing on its own: row
 * locks on one batch at a time, never the table (a single UPDATE in the ALTER's transaction held
 * every purchase behind its ACCESS EXCLUSIVE lock for the whole scan). Rows settled meanwhile by the
 * new version keep their digest (clearedPaymentToken); an old version's row still open is compared
 * by hashing its token. Revert with `npm run migration:revert -- --transaction none` (the backfill
 * is not undone: a settled attempt's token is never needed again).
 */
export class PaymentAttemptRecheckIndex1799940000001 implements MigrationInterface {
  name = 'PaymentAttemptRecheckIndex1799940000001';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, PAYMENT_ATTEMPTS_RECHECK);
    for (let after = '00000000-0000-0000-0000-000000000000'; ;) {
      const [rows]: [{ purchase_id: string }[], number] = await queryRunner.query(
        `WITH batch AS (
           SELECT purchase_id FROM payment_attempts
           WHERE purchase_id > $1::uuid AND payment_token IS NOT NULL
           ORDER BY purchase_id LIMIT $2
         )
         UPDATE payment_attempts a
         SET payment_token_sha256 = COALESCE(a.payment_token_sha256, sha256(convert_to(a.payment_token, 'UTF8'))),
             payment_token = CASE WHEN a.status IN ('PENDING', 'CHARGED') THEN a.payment_token END
         FROM batch WHERE a.purchase_id = batch.purchase_id
         RETURNING a.purchase_id::text AS purchase_id`,
        [after, BACKFILL_BATCH],
      );
      if (rows.length === 0) return;
      after = rows.map((row) => row.purchase_id).reduce((last, id) => (id > last ? id : last));
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, PAYMENT_ATTEMPTS_RECHECK.name);
  }
}
