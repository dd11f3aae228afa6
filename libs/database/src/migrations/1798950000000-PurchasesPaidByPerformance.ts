import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `purchases_paid_performance`: the paid purchases of each performance (a partial index,
 * `status = 'PAID'` only; the performance id alone, the smallest entry, so the planner prefers it to
 * `purchases_performance` even without an index-only scan). Every `batch` process asks every 5 s
 * whether a completed performance cancellation has a paid purchase again
 * (PerformanceCancellationsRepository.reopenWithPaid), and the bulk refund reads a canceled
 * performance's paid purchases (`paidPurchases`). Through `purchases_performance` each question read
 * every purchase of the performance, all of them canceled once its refund completed; through this
 * one it reads only paid ones, none for a refunded show (a canceled purchase's row version has no
 * entry). Each purchase written adds one entry (a small int4 beside the flush's other index writes,
 * not measured by the benches yet). Built inside the migration's transaction like the earlier
 * indexes: it locks `purchases` against writes while it builds, so run it with the flusher stopped or
 * expect the flush to wait.
 */
export class PurchasesPaidByPerformance1798950000000 implements MigrationInterface {
  name = 'PurchasesPaidByPerformance1798950000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "purchases_paid_performance" ON "purchases" ("performance_id") WHERE "status" = 'PAID'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."purchases_paid_performance"`);
  }
}
