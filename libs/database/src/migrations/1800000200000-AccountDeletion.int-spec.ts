import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { AccountDeletion1800000200000 } from './1800000200000-AccountDeletion';

const deletedAtColumn = `SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'deleted_at'`;

/**
 * Migration AccountDeletion on real PostgreSQL: the accounts there before it stay, live (a null
 * `deleted_at`); the column takes a deletion's time; down drops it, keeping the rows; and the
 * ALTER gives up within its lock_timeout behind a long transaction on `users`.
 */
describe('migration AccountDeletion (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let userId: string;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, AccountDeletion1800000200000, async (old) => {
      ({ userId } = await insertAccountAndPerformance(old));
    });
  });
  afterAll(async () => database?.close());

  it('adds a nullable deleted_at, leaving accounts live, and undoes cleanly', async () => {
    const { db } = database;
    await db.runMigrations({ transaction: 'each' });
    expect(await db.query('SELECT deleted_at FROM users WHERE id = $1', [userId])).toEqual([{ deleted_at: null }]);
    await db.query('UPDATE users SET deleted_at = now() WHERE id = $1', [userId]);
    const [{ deleted }] = await db.query('SELECT deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1', [userId]);
    expect(deleted).toBe(true);

    await db.undoLastMigration({ transaction: 'each' });
    expect(await db.query(deletedAtColumn)).toEqual([]);
    expect(await db.query('SELECT count(*)::int AS n FROM users WHERE id = $1', [userId])).toEqual([{ n: 1 }]);
  });

  it('gives up within its lock_timeout while another transaction holds users, changes nothing, and says to retry', async () => {
    const scratch = await openDatabaseBefore(MIGRATIONS, AccountDeletion1800000200000);
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'users',
        migration: AccountDeletion1800000200000,
        unchanged: async (other) => expect(await other.query(deletedAtColumn)).toEqual([]),
      });
      expect(await runMigrations(scratch.db)).toContain(AccountDeletion1800000200000.name);
    } finally {
      await scratch.close();
    }
  }, 60_000);
});
