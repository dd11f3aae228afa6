import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { AuthEventsRepository } from '../repositories/auth-events.repository';
import { EmailDeliveriesRepository } from '../repositories/email-deliveries.repository';
import { AuthEventsAndDeliveriesPruneIndexes1800000340000 } from './1800000340000-AuthEventsAndDeliveriesPruneIndexes';
import { ConcurrentIndexInTransactionError } from './concurrent-index';

const MIGRATION = AuthEventsAndDeliveriesPruneIndexes1800000340000;
const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(MIGRATION));
/** Up to this migration and no further, so that undoing the last one undoes this one. */
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(MIGRATION) + 1);
const INDEXES = ['auth_events_created_at', 'email_deliveries_sent_at_prunable'];

async function definitions(db: DataSource): Promise<Record<string, string>> {
  const rows: { indexname: string; indexdef: string }[] = await db.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])`,
    [INDEXES],
  );
  return Object.fromEntries(rows.map((row) => [row.indexname, row.indexdef]));
}

/**
 * The statement `prune` sends (captured, run on an empty table), planned with sequential scans
 * priced out: only a missing index leaves one.
 */
async function planOfPrune(db: DataSource, prune: (db: DataSource) => Promise<number>): Promise<string> {
  const spy = vi.spyOn(db, 'query');
  let sent: [string, unknown[]];
  try {
    await prune(db);
    sent = spy.mock.calls[0] as [string, unknown[]];
  } finally {
    spy.mockRestore();
  }
  const [sql, parameters] = sent;
  return db.transaction(async (manager) => {
    await manager.query('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': string }[] = await manager.query(`EXPLAIN ${sql}`, parameters);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

const pruneAuthEvents = (db: DataSource) => new AuthEventsRepository(db).deleteRecordedBefore(new Date(), 1000);
const pruneDeliveries = (db: DataSource) => new EmailDeliveriesRepository(db).deleteUnreadSentBefore(new Date(), 1000);

/**
 * Migration AuthEventsAndDeliveriesPruneIndexes on real PostgreSQL: it builds both indexes (the
 * deliveries' without the purchase confirmations), the prune loops' deletes read them, a revert
 * inside a transaction is refused with nothing changed, and one outside drops them both.
 */
describe('migration AuthEventsAndDeliveriesPruneIndexes (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE));
  });
  afterAll(() => close?.());

  it('builds the indexes the prunes read, and goes back down outside a transaction only', async () => {
    expect(await definitions(old)).toEqual({});
    // Before: the deletes read all of each table (by whatever index, in no useful order).
    expect(await planOfPrune(old, pruneAuthEvents)).not.toMatch(/auth_events_created_at/);
    expect(await planOfPrune(old, pruneDeliveries)).not.toMatch(/email_deliveries_sent_at_prunable/);
    const current = await migrationDataSource(env, UP_TO).initialize();
    try {
      expect(await runMigrations(current)).toContain(MIGRATION.name);
      expect(await definitions(current)).toEqual({
        auth_events_created_at: 'CREATE INDEX auth_events_created_at ON public.auth_events USING btree (created_at)',
        email_deliveries_sent_at_prunable:
          'CREATE INDEX email_deliveries_sent_at_prunable ON public.email_deliveries USING btree (sent_at) ' +
          "WHERE ((message_id)::text !~~ 'purchase-completed:%'::text)",
      });
      expect(await planOfPrune(current, pruneAuthEvents)).toMatch(/Index Scan (using|on) auth_events_created_at/);
      expect(await planOfPrune(current, pruneDeliveries)).toMatch(
        /Index Scan (using|on) email_deliveries_sent_at_prunable/,
      );

      await expect(current.undoLastMigration({ transaction: 'each' })).rejects.toBeInstanceOf(
        ConcurrentIndexInTransactionError,
      );
      expect(Object.keys(await definitions(current))).toEqual(expect.arrayContaining(INDEXES));
      await current.undoLastMigration({ transaction: 'none' });
      expect(await definitions(current)).toEqual({});
    } finally {
      await current.destroy();
    }
  });
});
