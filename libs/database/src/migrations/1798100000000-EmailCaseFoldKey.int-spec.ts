import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { EmailCaseFoldKey1798100000000 } from './1798100000000-EmailCaseFoldKey';

const BEFORE_KEY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(EmailCaseFoldKey1798100000000));
const UP_TO_KEY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(EmailCaseFoldKey1798100000000) + 1);

/** Inserts accounts as the code before the key stored them (lower-cased, unique by lower(email)). */
async function insertOld(db: DataSource, emails: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const email of emails) {
    const [row] = await db.query(
      `INSERT INTO users (email, name, password_hash) VALUES ($1, 'Old', 'not-a-hash') RETURNING id`,
      [email],
    );
    ids.push(row.id);
  }
  return ids;
}

describe('migration EmailCaseFoldKey (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE_KEY));
  });
  afterAll(() => close?.());

  it('refuses, listing both accounts and changing nothing, when two addresses differ only in case', async () => {
    // Both were accepted by the old index: lower() leaves "ß" and the final "ς" alone.
    const [sharp, ss, sigma, finalSigma] = await insertOld(old, [
      'straße@example.com',
      'strasse@example.com',
      'οδυσσεασ@example.com',
      'οδυσσεας@example.com',
    ]);
    const current = migrationDataSource(env, UP_TO_KEY);
    await current.initialize();
    try {
      const refusal = await runMigrations(current).catch((error: Error) => error.message);
      expect(refusal).toMatch(/refused: 2 group\(s\)/);
      for (const id of [sharp, ss, sigma, finalSigma]) expect(refusal).toContain(id);
      const columns = await current.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_key'`,
      );
      expect(columns).toEqual([]);
      const rows = await current.query('SELECT id FROM users WHERE id = ANY($1::uuid[])', [
        [sharp, ss, sigma, finalSigma],
      ]);
      expect(rows).toHaveLength(4);

      // The operator gives one of each pair another address; then it runs.
      await current.query(`UPDATE users SET email = 'strasse.old@example.com' WHERE id = $1`, [ss]);
      await current.query(`UPDATE users SET email = 'odysseas.old@example.com' WHERE id = $1`, [finalSigma]);
      expect(await runMigrations(current)).toContain(EmailCaseFoldKey1798100000000.name);
      const keys = await current.query('SELECT id, email, email_key FROM users WHERE id = ANY($1::uuid[])', [
        [sharp, sigma],
      ]);
      expect(Object.fromEntries(keys.map((row: { id: string; email_key: string }) => [row.id, row.email_key]))).toEqual(
        {
          [sharp]: 'strasse@example.com',
          [sigma]: 'οδυσσεασ@example.com',
        },
      );
      // The index refuses a case variant the old one let through.
      await expect(
        current.query(
          `INSERT INTO users (email, email_key, name, password_hash) VALUES ('x@example.com', 'strasse@example.com', 'X', 'h')`,
        ),
      ).rejects.toThrow(/users_email_key_key/);

      await current.undoLastMigration({ transaction: 'each' });
      const back = await current.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_key'`,
      );
      expect(back).toEqual([]);
    } finally {
      await current.destroy();
    }
  });
});
