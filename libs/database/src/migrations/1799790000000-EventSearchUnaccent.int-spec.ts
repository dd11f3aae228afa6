import { DataSource, EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropDatabase, expectGivesUpOnLockedTable, openDatabaseBefore, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { EventRepository } from '../repositories/event.repository';
import { MIGRATIONS } from '../migrations';
import { EventSearchUnaccent1799790000000 } from './1799790000000-EventSearchUnaccent';

/** A node of EXPLAIN (ANALYZE, FORMAT JSON), as much of it as is read here. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Events that do not match: what a search must not read one by one. */
const OTHER_EVENTS = 3000;

/** Every node of the plan, depth first. */
function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

/**
 * The event search (EventRepository.search) after migration EventSearchUnaccent, on real
 * PostgreSQL with OTHER_EVENTS other events: text folded by search_fold finds titles whatever
 * their accents, case and compatibility forms, and the rebuilt GIN indexes still serve it (EXPLAIN
 * ANALYZE of the statement the repository sends, in its transaction, rolled back).
 */
describe('migration EventSearchUnaccent: accent-insensitive search through the GIN indexes (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let repository: EventRepository;

  beforeAll(async () => {
    // The migrations up to this one, on a database of its own: undoing the last one must undo this
    // one, whatever came later.
    ({ env, db } = await openDatabaseWith(
      MIGRATIONS.slice(0, MIGRATIONS.indexOf(EventSearchUnaccent1799790000000) + 1),
    ));
    await db.query(
      `WITH e AS (
         INSERT INTO events (title, venue, currency)
         SELECT 'Concert ' || i, 'Hall ' || (i % 50), 'KRW' FROM generate_series(1, $1) AS i
         UNION ALL SELECT 'Björk — Live ✨', 'Harpa', 'KRW'
         UNION ALL SELECT 'Łódź Philharmonic', 'Filharmonia Łódzka', 'KRW'
         RETURNING id)
       INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       SELECT id, '2030-03-01T10:00:00Z', now(), 0 FROM e`,
      [OTHER_EVENTS],
    );
    await db.query('ANALYZE events');
    await db.query('ANALYZE performances');
    repository = new EventRepository(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  const titles = async (text: string) =>
    (await repository.search({ from: new Date('2030-01-01T00:00:00Z'), to: null, text, after: null, limit: 20 })).map(
      (event) => event.title,
    );

  it.each(['bjork', 'BJORK', 'björk', 'BJÖRK', 'Bjo\u0308rk', 'ＢＪＯＲＫ', 'bjork live'])(
    'finds "Björk — Live ✨" by %s',
    async (text) => {
      expect(await titles(text)).toEqual(['Björk — Live ✨']);
    },
  );

  it('folds the letters Unicode does not decompose, and keeps LIKE wildcards literal after folding', async () => {
    expect(await titles('lodz')).toEqual(['Łódź Philharmonic']);
    expect(await titles('filharmonia lodzka')).toEqual(['Łódź Philharmonic']);
    // A full-width ％ folds to %, which must still match only itself.
    expect(await titles('％')).toEqual([]);
  });

  it('reverts to the indexes before it, and runs again', async () => {
    const definitions = async () =>
      (
        (await db.query(
          `SELECT indexdef FROM pg_indexes WHERE indexname IN ('events_search_fts', 'events_search_trgm') ORDER BY indexname`,
        )) as { indexdef: string }[]
      ).map((row) => row.indexdef);
    await db.undoLastMigration();
    expect(await definitions()).toHaveLength(2);
    for (const definition of await definitions()) expect(definition).not.toContain('search_fold');
    expect((await db.query(`SELECT to_regprocedure('search_fold(text)') AS fn`))[0].fn).toBeNull();
    await runMigrations(db);
    for (const definition of await definitions()) expect(definition).toContain('search_fold');
    expect(await titles('bjork')).toEqual(['Björk — Live ✨']);
  });

  it('serves every kind of match from the rebuilt indexes, no sequential read of events', async () => {
    const spy = vi.spyOn(EntityManager.prototype, 'query');
    await titles('bjork');
    const [setup, search] = spy.mock.calls as [string, unknown[]][];
    spy.mockRestore();
    const runner = db.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.query(setup[0], setup[1]);
      const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${search[0]}`, search[1]);
      const root = (row['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      const indexes = nodes(root).map((node) => node['Index Name']);
      expect(indexes, JSON.stringify(root)).toContain('events_search_fts');
      expect(indexes, JSON.stringify(root)).toContain('events_search_trgm');
      expect(
        nodes(root).some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'events'),
        JSON.stringify(root),
      ).toBe(false);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});

describe('migration EventSearchUnaccent behind a long transaction on events (real PostgreSQL)', () => {
  it('gives up at its lock timeout, changes nothing, and goes through on a retry', async () => {
    const scratch = await openDatabaseBefore(MIGRATIONS, EventSearchUnaccent1799790000000);
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'events',
        migration: EventSearchUnaccent1799790000000,
        unchanged: async (other) => {
          expect(await other.query(`SELECT 1 FROM pg_proc WHERE proname = 'search_fold'`)).toEqual([]);
        },
      });
      expect(await runMigrations(scratch.db)).toContain(EventSearchUnaccent1799790000000.name);
    } finally {
      await scratch.close();
    }
  });
});
