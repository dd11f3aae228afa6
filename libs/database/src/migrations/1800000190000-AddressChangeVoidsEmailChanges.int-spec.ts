import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { MIGRATIONS } from '../migrations';
import { AddressChangeVoidsEmailChanges1800000190000 } from './1800000190000-AddressChangeVoidsEmailChanges';

const USER = '00000000-0000-4000-8000-0000000000a1';

/**
 * Migration AddressChangeVoidsEmailChanges on real PostgreSQL: after it, a change of an account's
 * address by hand deletes its pending e-mail-change tokens (with its verification and reset tokens,
 * as before, and the account unverified); down puts the earlier trigger function back, which leaves
 * them.
 */
describe('migration AddressChangeVoidsEmailChanges (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, AddressChangeVoidsEmailChanges1800000190000, async (old) => {
      await old.query(
        `INSERT INTO users (id, email, email_key, name, role, password_hash, email_verified_at)
         VALUES ($1, 'ada@example.test', 'ada@example.test', 'Ada', 'USER', 'x', now())`,
        [USER],
      );
    });
  });
  afterAll(async () => database?.close());

  /** A pending change token, a verification and a reset token of the account. */
  async function issueTokens(n: number): Promise<void> {
    const hash = (kind: number) => String(n * 10 + kind).padStart(64, '0');
    await database.db.query(
      `INSERT INTO email_change_tokens (id, user_id, new_email, new_email_key, token_hash, expires_at)
       VALUES (gen_random_uuid(), $1, 'new@example.test', 'new@example.test', $2, now() + interval '1 hour')`,
      [USER, hash(1)],
    );
    for (const [table, kind] of [
      ['email_verification_tokens', 2],
      ['password_reset_tokens', 3],
    ] as const) {
      await database.db.query(
        `INSERT INTO ${table} (id, user_id, token_hash, expires_at) VALUES (gen_random_uuid(), $1, $2, now() + interval '1 hour')`,
        [USER, hash(kind)],
      );
    }
  }
  const tokens = async (): Promise<string[]> =>
    (
      await database.db.query(
        `SELECT 'change' AS kind FROM email_change_tokens UNION ALL SELECT 'reset' FROM password_reset_tokens
         UNION ALL SELECT 'verification' FROM email_verification_tokens ORDER BY 1`,
      )
    ).map((row: { kind: string }) => row.kind);
  const setEmail = (email: string) =>
    database.db.query('UPDATE users SET email = $2, email_key = $3 WHERE id = $1', [USER, email, email]);

  it('voids pending change tokens on a change of address by hand, and undoes cleanly', async () => {
    const { db } = database;
    await db.runMigrations({ transaction: 'each' });
    await issueTokens(1);
    expect(await tokens()).toEqual(['change', 'reset', 'verification']);
    await setEmail('ada.by-hand@example.test');
    expect(await tokens()).toEqual([]);
    expect(await db.query('SELECT email_verified_at FROM users WHERE id = $1', [USER])).toEqual([
      { email_verified_at: null },
    ]);
    // Another column changed leaves them.
    await issueTokens(2);
    await db.query(`UPDATE users SET name = 'Ada L.' WHERE id = $1`, [USER]);
    expect(await tokens()).toEqual(['change', 'reset', 'verification']);

    await db.undoLastMigration({ transaction: 'each' });
    await setEmail('ada.again@example.test');
    expect(await tokens()).toEqual(['change']);
  });
});
