import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGivesUpOnLockedTable, MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { AdminBootstrapRecord1800000190001 } from './1800000190001-AdminBootstrapRecord';

const ADMIN = '00000000-0000-4000-8000-0000000000b1';

/**
 * Migration AdminBootstrapRecord on real PostgreSQL: `admin_bootstrap` is made with its one empty
 * row (no admin recorded: the first start after the upgrade records the account of ADMIN_EMAIL),
 * takes no second row, forgets an account that goes; down drops it. Its foreign key's SHARE ROW
 * EXCLUSIVE lock on `users` (which every signup and change of an account queues behind while it
 * waits) is waited for only its lock_timeout.
 */
describe('migration AdminBootstrapRecord (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, AdminBootstrapRecord1800000190001, async (old) => {
      await old.query(
        `INSERT INTO users (id, email, email_key, name, role, password_hash)
         VALUES ($1, 'ops@example.test', 'ops@example.test', 'Ops', 'ADMIN', 'x')`,
        [ADMIN],
      );
    });
  });
  afterAll(async () => database?.close());

  it('makes the one empty record, keeps it one, forgets a deleted account, and undoes cleanly', async () => {
    const { db } = database;
    await db.runMigrations({ transaction: 'each' });
    expect(await db.query('SELECT singleton, user_id, email_key FROM admin_bootstrap')).toEqual([
      { singleton: true, user_id: null, email_key: null },
    ]);
    await expect(db.query('INSERT INTO admin_bootstrap (singleton) VALUES (false)')).rejects.toThrow(
      /admin_bootstrap_singleton_check/,
    );
    await expect(db.query('INSERT INTO admin_bootstrap (singleton) VALUES (true)')).rejects.toThrow(
      /admin_bootstrap_pkey/,
    );
    await db.query(`UPDATE admin_bootstrap SET user_id = $1, email_key = 'ops@example.test'`, [ADMIN]);
    await db.query('DELETE FROM users WHERE id = $1', [ADMIN]);
    expect(await db.query('SELECT user_id, email_key FROM admin_bootstrap')).toEqual([
      { user_id: null, email_key: 'ops@example.test' },
    ]);

    await db.undoLastMigration({ transaction: 'each' });
    await expect(db.query('SELECT 1 FROM admin_bootstrap')).rejects.toThrow(/does not exist/);
  });

  it('gives up within its lock_timeout while a transaction that changed users is open, and says to retry', async () => {
    const scratch = await openDatabaseBefore(MIGRATIONS, AdminBootstrapRecord1800000190001);
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'users',
        migration: AdminBootstrapRecord1800000190001,
        // An account's change in flight (ROW EXCLUSIVE on users): what the key's lock waits for.
        holdWith: `UPDATE users SET updated_at = now() WHERE false`,
        unchanged: async (other) =>
          expect(await other.query(`SELECT to_regclass('admin_bootstrap') AS t`)).toEqual([{ t: null }]),
      });
      expect(await runMigrations(scratch.db)).toContain(AdminBootstrapRecord1800000190001.name);
    } finally {
      await scratch.close();
    }
  }, 60_000);
});
