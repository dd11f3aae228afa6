import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finding events by text (`GET /events?q=`): pg_trgm, a full-text GIN index and a trigram GIN
 * index over `title || ' ' || venue`. The text configuration is `simple` (no stemming, no stop
 * words): titles and venues are often Korean or mixed, which no language dictionary serves, and
 * `simple` keeps every word as written (lower-cased). The trigram index serves the partial and
 * misspelt matches (`ILIKE '%…%'`, `<%` word similarity) whole words miss. The query must use
 * the same expressions for PostgreSQL to use the indexes (EventRepository.search).
 */
export class EventSearch1796700000000 implements MigrationInterface {
  name = 'EventSearch1796700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await queryRunner.query(
      `CREATE INDEX "events_search_fts" ON "events" USING gin (to_tsvector('simple', "title" || ' ' || "venue"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "events_search_trgm" ON "events" USING gin (("title" || ' ' || "venue") gin_trgm_ops)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."events_search_trgm"`);
    await queryRunner.query(`DROP INDEX "public"."events_search_fts"`);
    // The extension stays: other objects may have come to use it since.
  }
}
