import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PurchasesPerformanceIndex1798000000000 } from './1798000000000-PurchasesPerformanceIndex';

const BEFORE_INDEX = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchasesPerformanceIndex1798000000000));
/** Up to this migration and no further, so that undoing the last one undoes this one. */
const UP_TO_INDEX = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchasesPerformanceIndex1798000000000) + 1);

async function indexesOfPurchases(db: DataSource): Promise<string[]> {
  const rows: { indexname: string }[] = await db.query(
    `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'purchases' ORDER BY indexname`,
  );
  return rows.map((row) => row.indexname);
}

/**
 * The plan of the delete's question (firstWithPurchases) with sequential scans priced out: it uses
 * an index on performance_id when there is one, and scans the table when there is none.
 */
async function planOfDeleteCheck(db: DataSource): Promise<string> {
  return db.transaction(async (manager) => {
    await manager.query('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': string }[] = await manager.query(
      `EXPLAIN SELECT performance_id FROM purchases WHERE performance_id = ANY('{1,2}'::int[])
       ORDER BY performance_id LIMIT 1`,
    );
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

describe('migration PurchasesPerformanceIndex (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE_INDEX));
  });
  afterAll(() => close?.());

  it('indexes purchases by performance_id, the delete check uses it, and goes back down', async () => {
    expect(await indexesOfPurchases(old)).not.toContain('purchases_performance');
    expect(await planOfDeleteCheck(old)).not.toMatch(/purchases_performance/);
    const current = await migrationDataSource(env, UP_TO_INDEX).initialize();
    try {
      expect(await runMigrations(current)).toContain(PurchasesPerformanceIndex1798000000000.name);
      expect(await indexesOfPurchases(current)).toContain('purchases_performance');
      const [definition] = await current.query(
        `SELECT indexdef FROM pg_indexes WHERE indexname = 'purchases_performance'`,
      );
      expect(definition.indexdef).toMatch(/ON public\.purchases USING btree \(performance_id\)$/);
      expect(await planOfDeleteCheck(current)).toMatch(/Index Only Scan using purchases_performance on purchases/);

      await current.undoLastMigration({ transaction: 'each' });
      expect(await indexesOfPurchases(current)).not.toContain('purchases_performance');
      // The indexes before it are all still there.
      expect(await indexesOfPurchases(current)).toEqual(await indexesOfPurchases(old));
    } finally {
      await current.destroy();
    }
  });
});
