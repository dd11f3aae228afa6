import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** What the index rebuild locks: `events` (ACCESS EXCLUSIVE from the DROP to the commit). */
const EVENTS: LockedTables = {
  migration: 'EventSearchUnaccent1799790000000',
  tables: '"events"',
  stalls: 'every event page and search',
  holders: 'it',
};

/**
 * Event search without accents (`GET /events?q=bjork` finds "Björk"): buyers type without
 * diacritics. Adds `search_fold(text)`, the one form both the searched text and the indexed
 * `title || ' ' || venue` are compared in: NFKC (full-width and compatibility letters as their
 * plain ones: `ＢＪＯＲＫ` is `BJORK`, `ﬁ` is `fi`), then `unaccent` (the contrib module shipped
 * with PostgreSQL, also in Debian's postgresql-15 and the postgres image; a trusted extension, so
 * the database owner may create it: accents and the letters Unicode does not decompose, `ø` `ł`
 * `æ` `ß`; Hangul, kana and Indic vowel signs are left as they are), then lower case. The GIN
 * indexes of EventSearch1796700000000 are rebuilt over that form; EventRepository.search uses the
 * same expressions, which the indexes serve.
 *
 * `unaccent()` is STABLE (it reads its dictionary), so the function calls it with the dictionary
 * named, schema-qualified where the extension lives, and is declared IMMUTABLE, as an index
 * expression must be: the rules file changes only with a PostgreSQL upgrade (then REINDEX the two
 * indexes). Schema-qualified also because index maintenance (autovacuum, restore) runs with an
 * empty search path.
 *
 * The rebuild holds `events` exclusively until the commit (two index builds over the events'
 * rows: short for a catalog of thousands of events); its lock
 * is waited for at most MIGRATION_LOCK_TIMEOUT, so it never queues event reads behind a long
 * transaction: it rolls back and says to retry.
 */
export class EventSearchUnaccent1799790000000 implements MigrationInterface {
  name = 'EventSearchUnaccent1799790000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS unaccent`);
    const [{ schema }]: { schema: string }[] = await queryRunner.query(
      `SELECT quote_ident(n.nspname) AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'unaccent'`,
    );
    await queryRunner.query(
      `CREATE FUNCTION search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
         AS $fold$ SELECT lower(${schema}.unaccent('${schema}.unaccent'::regdictionary, normalize($1, NFKC))) $fold$`,
    );
    await lockingBriefly(queryRunner, EVENTS, async () => {
      await queryRunner.query(`DROP INDEX "events_search_trgm"`);
      await queryRunner.query(`DROP INDEX "events_search_fts"`);
      await queryRunner.query(
        `CREATE INDEX "events_search_fts" ON "events" USING gin (to_tsvector('simple', search_fold("title" || ' ' || "venue")))`,
      );
      await queryRunner.query(
        `CREATE INDEX "events_search_trgm" ON "events" USING gin (search_fold("title" || ' ' || "venue") gin_trgm_ops)`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "events_search_trgm"`);
    await queryRunner.query(`DROP INDEX "events_search_fts"`);
    await queryRunner.query(
      `CREATE INDEX "events_search_fts" ON "events" USING gin (to_tsvector('simple', "title" || ' ' || "venue"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "events_search_trgm" ON "events" USING gin (("title" || ' ' || "venue") gin_trgm_ops)`,
    );
    await queryRunner.query(`DROP FUNCTION search_fold(text)`);
    // The extension stays: other objects may have come to use it since.
  }
}
