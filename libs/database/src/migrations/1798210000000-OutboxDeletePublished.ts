import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox becomes transport only: the relay deletes a row once the broker has confirmed its
 * message, instead of stamping `published_at` (the stamp rewrote the row and its two index
 * entries, ~20–25 % of PostgreSQL's CPU per flushed purchase; docs/performance.md, outbox
 * slice). The purchase itself stays in `purchases`, and `email_deliveries` records what was sent.
 * Rows already published are deleted first; then `published_at` and the partial index on
 * unpublished rows, which nothing reads any more, go. Dropping them locks `outbox` against every
 * write until the migration commits (the flush's outbox inserts wait, as long as deleting the
 * published history takes). A `batch` of the old code still running afterwards fails each relay
 * pass (its query names the column; logged, nothing lost) until it is replaced: deploy `batch`
 * together with the migration.
 */
export class OutboxDeletePublished1798210000000 implements MigrationInterface {
  name = 'OutboxDeletePublished1798210000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "outbox" WHERE "published_at" IS NOT NULL`);
    await queryRunner.query(`DROP INDEX "public"."outbox_unpublished"`);
    await queryRunner.query(`ALTER TABLE "outbox" DROP COLUMN "published_at"`);
  }

  /** Brings the column and the index back; the deleted rows were published and do not come back. */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox" ADD "published_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`CREATE INDEX "outbox_unpublished" ON "outbox" ("id") WHERE published_at IS NULL`);
  }
}
