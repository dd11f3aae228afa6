import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * The box office cash-up (CashUpRepository) reads the operators' refunds of a time range from the
 * refunds' own records (migration RefundOperators1800000090000); without these it would read
 * `purchases` whole (and `purchase_refunds`): partial (only refunds an operator made have an
 * entry), by the time each was made.
 */
const INDEXES: ConcurrentIndex[] = [
  {
    name: 'purchase_refunds_by_operator_refunded',
    on: `ON "purchase_refunds" ("refunded_at") WHERE "refunded_by_id" IS NOT NULL`,
  },
  { name: 'purchases_by_operator_canceled', on: `ON "purchases" ("canceled_at") WHERE "canceled_by_id" IS NOT NULL` },
];

/**
 * Built CONCURRENTLY, as CashUpIndexes1799760000000's, so that upgrading a large live database blocks
 * no flush while they build; so outside a transaction (`transaction = false`). A run stopped half-way
 * is not recorded: the next start builds what is missing and rebuilds an INVALID leftover.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class RefundOperatorsIndexes1800000090001 implements MigrationInterface {
  name = 'RefundOperatorsIndexes1800000090001';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES) await createIndexConcurrently(queryRunner, index);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse()) await dropIndexConcurrently(queryRunner, index.name);
  }
}
