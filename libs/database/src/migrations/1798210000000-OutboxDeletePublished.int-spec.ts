import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { OutboxDeletePublished1798210000000 } from './1798210000000-OutboxDeletePublished';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(OutboxDeletePublished1798210000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(OutboxDeletePublished1798210000000) + 1);

/** What the migration is about: the `published_at` column and the partial index on unpublished rows. */
async function stampSchema(db: DataSource): Promise<{ column: boolean; index: boolean }> {
  const [row] = await db.query(
    `SELECT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_name = 'outbox' AND column_name = 'published_at') AS column,
            EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'outbox' AND indexname = 'outbox_unpublished') AS index`,
  );
  return row;
}

describe('migration OutboxDeletePublished (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE));
  });
  afterAll(() => close?.());

  it('deletes the published rows, keeps the waiting ones, drops the stamp and its index; down brings both back', async () => {
    // As the old relay left them: two stamped after their confirm, one waiting after a failed try.
    await old.query(
      `INSERT INTO outbox (message_id, routing_key, payload, published_at, attempts) VALUES
         ('m:published-1', 'purchase.completed', '{}', now(), 1),
         ('m:published-2', 'purchase.canceled', '{}', now(), 2),
         ('m:waiting', 'purchase.completed', '{"purchaseId": "p"}', NULL, 1)`,
    );
    expect(await stampSchema(old)).toEqual({ column: true, index: true });

    const current = migrationDataSource(env, UP_TO);
    await current.initialize();
    try {
      expect(await runMigrations(current)).toContain(OutboxDeletePublished1798210000000.name);
      expect(await current.query('SELECT message_id, routing_key, payload, attempts FROM outbox')).toEqual([
        { message_id: 'm:waiting', routing_key: 'purchase.completed', payload: { purchaseId: 'p' }, attempts: 1 },
      ]);
      expect(await stampSchema(current)).toEqual({ column: false, index: false });

      await current.undoLastMigration({ transaction: 'each' });
      expect(await stampSchema(current)).toEqual({ column: true, index: true });
      expect(await current.query('SELECT message_id, published_at FROM outbox')).toEqual([
        { message_id: 'm:waiting', published_at: null },
      ]);
    } finally {
      await current.destroy();
    }
  });
});
