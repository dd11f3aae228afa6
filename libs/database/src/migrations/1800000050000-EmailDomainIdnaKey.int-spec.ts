import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { EmailDomainIdnaKey1800000050000 } from './1800000050000-EmailDomainIdnaKey';

describe('migration EmailDomainIdnaKey (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, EmailDomainIdnaKey1800000050000, async (old) => {
      // Keys as the code before stored them: the whole address case-folded.
      for (const [name, email, key] of [
        ['lookAlike', 'alice@gma\u0131l.com', 'alice@gmail.com'],
        ['sharpS', 'bob@stra\u00dfe.de', 'bob@strasse.de'],
        ['ascii', 'carol@example.com', 'carol@example.com'],
        ['localOnly', 'stra\u00dfe@example.com', 'strasse@example.com'],
      ]) {
        const [row] = await old.query(
          `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1, $2, 'Old', 'x') RETURNING id`,
          [email, key],
        );
        ids[name] = row.id;
      }
    });
    expect(await runMigrations(database.db)).toContain(EmailDomainIdnaKey1800000050000.name);
  });
  afterAll(() => database?.close());

  const keyOf = async (name: string): Promise<string> =>
    (await database.db.query('SELECT email_key FROM users WHERE id = $1', [ids[name]]))[0].email_key;

  it('keys an account at a Unicode domain by its IDNA name, and leaves every other key as it was', async () => {
    expect(await keyOf('lookAlike')).toBe('alice@xn--gmal-nza.com');
    expect(await keyOf('sharpS')).toBe('bob@xn--strae-oqa.de');
    expect(await keyOf('ascii')).toBe('carol@example.com');
    expect(await keyOf('localOnly')).toBe('strasse@example.com');
  });

  it('lets the owner of the ASCII address have an account of its own', async () => {
    const insert = (email: string) =>
      database.db.query(
        `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1::text, $1::text, 'New', 'x')`,
        [email],
      );
    await insert('alice@gmail.com');
    await insert('bob@strasse.de');
    // A case variant of the local part is still the same account.
    await expect(insert('strasse@example.com')).rejects.toThrow(/users_email_key_key/);
  });
});

describe('migration EmailDomainIdnaKey meeting an account with the same domain written otherwise (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, EmailDomainIdnaKey1800000050000, async (old) => {
      for (const [email, key] of [
        ['alice@gma\u0131l.com', 'alice@gmail.com'],
        // The same domain by its A-label, stored as typed: the first address's new key.
        ['alice@xn--gmal-nza.com', 'alice@xn--gmal-nza.com'],
      ]) {
        await old.query(`INSERT INTO users (email, email_key, name, password_hash) VALUES ($1, $2, 'Old', 'x')`, [
          email,
          key,
        ]);
      }
    });
  });
  afterAll(() => database?.close());

  it('refuses, naming both accounts, and changes no key', async () => {
    await expect(runMigrations(database.db)).rejects.toThrow(
      /EmailDomainIdnaKey1800000050000 refused: 1 account\(s\)[\s\S]*alice@gma\u0131l\.com \(id [^)]+\) and alice@xn--gmal-nza\.com/,
    );
    const keys = await database.db.query('SELECT email_key FROM users ORDER BY email_key');
    expect(keys.map((row: { email_key: string }) => row.email_key)).toEqual([
      'alice@gmail.com',
      'alice@xn--gmal-nza.com',
    ]);
  });
});
