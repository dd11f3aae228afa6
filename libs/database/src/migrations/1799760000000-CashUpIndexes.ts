import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * The box office cash-up (`GET /admin/box-office/cash-up`, CashUpRepository) reads a time range of
 * three tables; without these it read each of them whole:
 *
 * - the box office sales made in it: partial (online sales, the bulk of the table, have no entry),
 *   by sale time;
 * - the operators' refunds in it (`purchase.refund` rows of the audit log), by action and time;
 * - the refunds owed at the window marked paid in it, by the time they were paid.
 */
const INDEXES: ConcurrentIndex[] = [
  {
    name: 'purchases_box_office_created',
    on: `ON "purchases" ("created_at") WHERE "sale_channel" = 'BOX_OFFICE'`,
  },
  { name: 'admin_audit_log_action_created', on: `ON "admin_audit_log" ("action", "created_at")` },
  { name: 'window_refunds_paid', on: `ON "window_refunds" ("paid_at") WHERE "status" = 'PAID'` },
];

/**
 * Built CONCURRENTLY, so that upgrading a large live database blocks no flush of purchases, audit
 * row or refund while they build (see createIndexConcurrently); PostgreSQL refuses that in a
 * transaction block, so this migration runs outside one (`transaction = false`). A run stopped
 * half-way is not recorded: the next start builds what is missing and rebuilds an INVALID leftover.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class CashUpIndexes1799760000000 implements MigrationInterface {
  name = 'CashUpIndexes1799760000000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const index of INDEXES) await createIndexConcurrently(queryRunner, index);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse()) await dropIndexConcurrently(queryRunner, index.name);
  }
}
