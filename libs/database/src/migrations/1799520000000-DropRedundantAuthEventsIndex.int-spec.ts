import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, dropDatabase, TestEnv, waitUntil } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { dataSourceOptions } from '../data-source.options';
import { MIGRATIONS } from '../migrations';
import { DropRedundantAuthEventsIndex1799520000000 } from './1799520000000-DropRedundantAuthEventsIndex';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(DropRedundantAuthEventsIndex1799520000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(DropRedundantAuthEventsIndex1799520000000) + 1);
const DROPPED = 'auth_events_user_id_idx';
const KEPT = 'auth_events_user_type_created_idx';

function dataSource(env: TestEnv, migrations: Function[]): DataSource {
  return new DataSource({ ...dataSourceOptions(parseEnv(env)), migrations });
}

/** The indexes of auth_events, by name: `valid` or `INVALID`. */
async function indexesOfAuthEvents(db: DataSource): Promise<Record<string, string>> {
  const rows: { name: string; valid: boolean }[] = await db.query(
    `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'auth_events'::regclass AND NOT i.indisprimary`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.valid ? 'valid' : 'INVALID']));
}

/**
 * The plan of what deleting an account runs on auth_events (the foreign key's cascade, as
 * PostgreSQL's referential action writes it), sequential scans priced out.
 */
async function cascadePlan(db: DataSource, userId: string): Promise<string> {
  return db.transaction(async (manager) => {
    await manager.query('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': string }[] = await manager.query(
      'EXPLAIN DELETE FROM ONLY auth_events WHERE $1 OPERATOR(pg_catalog.=) user_id',
      [userId],
    );
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

/**
 * Migration DropRedundantAuthEventsIndex on real PostgreSQL (500 accounts with 10 events each):
 * it drops the index by account alone while writes go on, the cascade of an account's deletion
 * then goes by the composite index, and down builds the index again outside a transaction only.
 */
describe('migration DropRedundantAuthEventsIndex (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let someone: string;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    await ensureDatabase(env.DATABASE_URL);
    const old = await dataSource(env, BEFORE).initialize();
    await runMigrations(old);
    await old.query(
      `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
       SELECT 'u' || i || '@example.test', 'u' || i || '@example.test', 'U', 'x', now() FROM generate_series(1, 500) i`,
    );
    await old.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       SELECT u.id, (ARRAY['SIGNED_UP', 'PASSWORD_RESET_REQUESTED', 'EMAIL_VERIFIED'])[1 + k % 3],
              now() - k * interval '1 hour'
         FROM users u, generate_series(1, 10) k`,
    );
    [{ id: someone }] = await old.query(`SELECT id FROM users WHERE email = 'u1@example.test'`);
    await old.query('ANALYZE');
    await old.destroy();
    db = await dataSource(env, UP_TO).initialize();
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  it('before it, auth_events has both indexes by account', async () => {
    expect(await indexesOfAuthEvents(db)).toEqual({ [DROPPED]: 'valid', [KEPT]: 'valid' });
  });

  it('drops the index by account alone without blocking writes while it waits for an open transaction', async () => {
    // DROP INDEX CONCURRENTLY waits for the transactions using the table; a plain DROP INDEX would
    // wait holding an ACCESS EXCLUSIVE claim that queues every later read and write behind it.
    const writer = db.createQueryRunner();
    await writer.startTransaction();
    let migrating: Promise<string[]> | undefined;
    try {
      await writer.query(`INSERT INTO auth_events (user_id, type) VALUES ($1, 'SIGNED_UP')`, [someone]);
      migrating = runMigrations(db);
      await waitUntil(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                  AND query LIKE '%DROP INDEX CONCURRENTLY%${DROPPED}%' AND wait_event_type = 'Lock'`,
            )
          ).length > 0,
        'the drop waiting for the open writer',
      );
      await db.transaction(async (manager) => {
        await manager.query(`SET LOCAL lock_timeout = '3s'`);
        await manager.query(`INSERT INTO auth_events (user_id, type) VALUES ($1, 'PASSWORD_RESET_REQUESTED')`, [
          someone,
        ]);
        await manager.query(`SELECT count(*) FROM auth_events WHERE user_id = $1`, [someone]);
      });
      await writer.commitTransaction();
      expect(await migrating).toEqual([DropRedundantAuthEventsIndex1799520000000.name]);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
      await migrating?.catch(() => undefined);
    }
    expect(await indexesOfAuthEvents(db)).toEqual({ [KEPT]: 'valid' });
    expect(await runMigrations(db)).toEqual([]);
  }, 60_000);

  it('an account’s deletion still finds its events by index, and removes them', async () => {
    expect(await cascadePlan(db, someone)).toMatch(
      new RegExp(`(Bitmap Index Scan on|Index (Only )?Scan using) ${KEPT}\\b`),
    );
    await db.query('DELETE FROM users WHERE id = $1', [someone]);
    expect(await db.query('SELECT 1 FROM auth_events WHERE user_id = $1', [someone])).toEqual([]);
  });

  it('goes down outside a transaction only: inside one it changes nothing, outside it builds the index again', async () => {
    await expect(db.undoLastMigration({ transaction: 'each' })).rejects.toThrow(
      /CONCURRENTLY.*inside a transaction.*nothing changed.*migration:revert -- --transaction none/,
    );
    expect(await indexesOfAuthEvents(db)).toEqual({ [KEPT]: 'valid' });
    await db.undoLastMigration({ transaction: 'none' });
    expect(await indexesOfAuthEvents(db)).toEqual({ [DROPPED]: 'valid', [KEPT]: 'valid' });
    expect(
      await db.query('SELECT 1 FROM migrations WHERE name = $1', [DropRedundantAuthEventsIndex1799520000000.name]),
    ).toEqual([]);
  });
});
