import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  MigratedDatabase,
  migrationDataSource,
  openDatabaseBefore,
  waitUntil,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { EmailVerification1799300000000 } from './1799300000000-EmailVerification';

/** A scratch database of its own at the state before this migration, open on one that knows it. */
const scratchBefore = (): Promise<MigratedDatabase> => openDatabaseBefore(MIGRATIONS, EmailVerification1799300000000);

describe('migration EmailVerification (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await scratchBefore();
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const insertUser = async (email: string): Promise<string> =>
    (
      await db.query(
        `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1, $2, 'U', 'not-a-hash') RETURNING id`,
        [email, email],
      )
    )[0].id;
  const verifiedAt = async (id: string): Promise<Date | null> =>
    (await db.query('SELECT email_verified_at FROM users WHERE id = $1', [id]))[0].email_verified_at;

  it('waits for a busy email_deliveries (a mailer mid-send) before it locks users, not while holding it', async () => {
    // A scratch database at the state before this migration: the mailer's claim transaction holds
    // email_deliveries (through an SMTP send); meanwhile logins and account lookups must go on.
    const scratch = await scratchBefore();
    const migrating = scratch.db;
    const mailer = await migrationDataSource(scratch.env, []).initialize();
    const reader = await migrationDataSource(scratch.env, []).initialize();
    const sending = mailer.createQueryRunner();
    try {
      await sending.startTransaction();
      await sending.query('SELECT count(*) FROM email_deliveries');
      const upgrade = runMigrations(migrating);
      upgrade.catch(() => undefined); // awaited below; not unhandled if an expectation fails first
      // Until the migration waits for a lock.
      await waitUntil(
        async () =>
          (
            await reader.query(
              `SELECT 1 FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            )
          ).length > 0,
        'the migration waiting for a lock',
      );
      const [waits] = await reader.query(
        `SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE NOT l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(waits?.relname).toBe('email_deliveries');
      // users is not locked meanwhile: a read goes through at once.
      await reader.query(`SET lock_timeout = '200ms'`);
      await expect(reader.query('SELECT count(*) FROM users')).resolves.toBeDefined();
      await sending.commitTransaction();
      expect(await upgrade).toContain(EmailVerification1799300000000.name);
    } finally {
      await sending.release();
      await Promise.all([mailer.destroy(), reader.destroy()]);
      await scratch.close();
    }
  });

  it('gives up within its lock_timeout while another transaction holds users, changes nothing, and says to retry', async () => {
    // A long transaction on users (a report, a stuck session): an ALTER waiting behind it would
    // queue every login and account lookup behind itself until that transaction ends.
    const scratch = await scratchBefore();
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'users',
        migration: EmailVerification1799300000000,
        unchanged: async (other) => {
          // Rolled back whole: no column, email_deliveries' check as it was.
          expect(
            await other.query(
              `SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_verified_at'`,
            ),
          ).toEqual([]);
          const [check] = await other.query(
            `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'email_deliveries_purchase_id_check'`,
          );
          expect(check.def).not.toContain('email-verification');
        },
      });
      // A retry once users is free goes through.
      expect(await runMigrations(scratch.db)).toContain(EmailVerification1799300000000.name);
    } finally {
      await scratch.close();
    }
  }, 60_000);

  it('marks the accounts that exist at the upgrade verified, and only those', async () => {
    const existing = await insertUser('before@example.com');
    const place = async () =>
      (await db.query('SELECT ctid::text AS ctid FROM users WHERE id = $1', [existing]))[0].ctid;
    const before = await place();
    expect(await runMigrations(db)).toContain(EmailVerification1799300000000.name);
    expect(await verifiedAt(existing)).toBeInstanceOf(Date);
    // Without rewriting a row (an UPDATE would move it: a new row version, another ctid), so a big
    // users table is not rewritten under the ALTER's lock.
    expect(await place()).toBe(before);
    expect(await verifiedAt(await insertUser('after@example.com'))).toBeNull();
  });

  it('unverifies an account whose e-mail changes and deletes its verification and reset tokens; other changes leave it', async () => {
    const id = await insertUser('mover@example.com');
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [id]);
    await db.query(
      `INSERT INTO email_verification_tokens (id, user_id, token_hash, expires_at)
       VALUES (gen_random_uuid(), $1, repeat('a', 64), now() + interval '1 day')`,
      [id],
    );
    await db.query(
      `INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)
       VALUES (gen_random_uuid(), $1, repeat('b', 64), now() + interval '1 hour')`,
      [id],
    );
    const resetTokens = async () =>
      (await db.query('SELECT count(*)::int AS n FROM password_reset_tokens WHERE user_id = $1', [id]))[0].n;
    await db.query(`UPDATE users SET name = 'Renamed', email = email WHERE id = $1`, [id]);
    expect(await verifiedAt(id)).toBeInstanceOf(Date);
    expect(await resetTokens()).toBe(1);
    await db.query(`UPDATE users SET email = 'moved@example.com', email_key = 'moved@example.com' WHERE id = $1`, [id]);
    expect(await verifiedAt(id)).toBeNull();
    const [{ n }] = await db.query('SELECT count(*)::int AS n FROM email_verification_tokens WHERE user_id = $1', [id]);
    expect(n).toBe(0);
    expect(await resetTokens(), 'a reset e-mailed to the old address').toBe(0);
  });

  it('lets a verification e-mail be recorded without a purchase, and no other message id', async () => {
    const record = (messageId: string) =>
      db.query(`INSERT INTO email_deliveries (message_id, purchase_id, recipient) VALUES ($1, NULL, 'a@example.com')`, [
        messageId,
      ]);
    await record('email-verification:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f');
    await record('password-reset:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f');
    await expect(record('purchase-completed:x')).rejects.toThrow(/email_deliveries_purchase_id_check/);
  });

  it('goes back down: no column, table or trigger left, the reset deliveries kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    const columns = await db.query(
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_verified_at'`,
    );
    expect(columns).toEqual([]);
    expect(await db.query(`SELECT to_regclass('email_verification_tokens') AS t`)).toEqual([{ t: null }]);
    const deliveries = await db.query(`SELECT message_id FROM email_deliveries WHERE purchase_id IS NULL`);
    expect(deliveries.map((row: { message_id: string }) => row.message_id)).toEqual([
      'password-reset:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
    ]);
    // Renaming works again without the trigger's function.
    await db.query(`UPDATE users SET email = 'back@example.com' WHERE email = 'moved@example.com'`);
  });
});
