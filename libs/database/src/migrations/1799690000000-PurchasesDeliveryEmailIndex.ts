import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * The admin purchase search by e-mail (`GET /admin/purchases?email=`) matches a box office sale's
 * delivery address (`purchases.delivery_email`) beside the buyer's account: without an index that
 * side read the whole table for every search. Partial (only box office sales with an address have
 * one), with the list's order after the address, so a search reads only the matching rows.
 */
const PURCHASES_BY_DELIVERY_EMAIL: ConcurrentIndex = {
  name: 'purchases_delivery_email',
  on: `ON "purchases" ("delivery_email", "created_at", "id") WHERE "delivery_email" IS NOT NULL`,
};

/**
 * Built CONCURRENTLY, so that upgrading a large live database blocks no flush of purchases while
 * it builds (see createIndexConcurrently); PostgreSQL refuses that in a transaction block, so this
 * migration runs outside one (`transaction = false`). A run stopped half-way is not recorded: the
 * next start runs it again and rebuilds an INVALID index left behind.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class PurchasesDeliveryEmailIndex1799690000000 implements MigrationInterface {
  name = 'PurchasesDeliveryEmailIndex1799690000000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, PURCHASES_BY_DELIVERY_EMAIL);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, PURCHASES_BY_DELIVERY_EMAIL.name);
  }
}
