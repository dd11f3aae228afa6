import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `purchases (performance_id)`: deleting a performance or an event asks whether any purchase refers
 * to it (PerformanceRepository), and the sales report and the admin purchase search filter on it;
 * without the index each of them read the whole table. Built inside the migration's transaction
 * like the earlier indexes (no CONCURRENTLY, which a transaction refuses): it locks `purchases`
 * against writes while it builds, so run it with the flusher stopped or expect the flush to wait.
 */
export class PurchasesPerformanceIndex1798000000000 implements MigrationInterface {
  name = 'PurchasesPerformanceIndex1798000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "purchases_performance" ON "purchases" ("performance_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."purchases_performance"`);
  }
}
