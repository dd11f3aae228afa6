import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * The operators' purchase list filtered by presale (`GET /admin/purchases?presaleId=`,
 * PurchaseRepository.pageForOperators) reads a presale's purchases newest first from this, not the
 * whole of `purchases`; partial: only presale sales have a `presale_id` (presale trial 2026-12-07, M3).
 */
const INDEX: ConcurrentIndex = {
  name: 'purchases_presale_created',
  on: `ON "purchases" ("presale_id", "created_at", "id") WHERE "presale_id" IS NOT NULL`,
};

/**
 * Built CONCURRENTLY, as RefundOperatorsIndexes1800000090001's, so that upgrading a large live
 * database blocks no flush while it builds; so outside a transaction (`transaction = false`). A run
 * stopped half-way is not recorded: the next start rebuilds an INVALID leftover.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class PurchasePresaleIndex1800000210000 implements MigrationInterface {
  name = 'PurchasePresaleIndex1800000210000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, INDEX);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, INDEX.name);
  }
}
