import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldCase } from '@app/core';
import { insertShow, MigratedDatabase, migrationDataSource, openDatabaseBefore } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TicketTransfersRepository } from '../repositories/ticket-transfers.repository';
import { EmailDomainIdnaKey1800000050000 } from './1800000050000-EmailDomainIdnaKey';

/**
 * A paid purchase of `seatIds` written as the schema before the migration has it (by SQL: the
 * repository's statement names columns later migrations add); answers its ticket ids by seat.
 */
async function oldPaidPurchase(
  old: DataSource,
  userId: string,
  performanceId: number,
  seatIds: number[],
): Promise<string[]> {
  const purchaseId = randomUUID();
  await old.query(
    `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at)
     VALUES ($1, $2, $3, $4, $5, 'KRW', $6, 'PAID', now())`,
    [purchaseId, randomUUID(), userId, performanceId, 1000 * seatIds.length, `charge-${purchaseId}`],
  );
  const rows: { id: string }[] = await old.query(
    `INSERT INTO tickets (purchase_id, performance_id, seat_id, status, price)
     SELECT $1, $2, seat_id, 'ACTIVE', 1000 FROM unnest($3::int[]) AS seat_id ORDER BY seat_id
     RETURNING id::text AS id`,
    [purchaseId, performanceId, seatIds],
  );
  return rows.map((row) => row.id);
}

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

describe('migration EmailDomainIdnaKey with pending ticket transfer offers to Unicode addresses (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let latest: DataSource | undefined;
  const ids: Record<string, string> = {};

  /** An account under `email` with the key the code before gave it (the whole address folded), its address confirmed. */
  const oldAccount = async (old: DataSource, email: string): Promise<string> =>
    (
      await old.query(
        `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
         VALUES ($1, $2, 'Old', 'x', now()) RETURNING id`,
        [email, foldCase(email).trim()],
      )
    )[0].id;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, EmailDomainIdnaKey1800000050000, async (old) => {
      const { performanceId, seatIds } = await insertShow(old, { seats: 3 });
      const sender = await oldAccount(old, 'sender@example.com');
      // The recipients' accounts, under the address as they typed it at sign-up.
      ids.bob = await oldAccount(old, 'Bob@Stra\u00dfe.de');
      ids.owner = await oldAccount(old, 'alice@gma\u0131l.com');
      const ticketIds = await oldPaidPurchase(old, sender, performanceId, seatIds);
      // Pending offers made before the upgrade, their recipients' keys folded as the code before did;
      // the sender typed each address in another case than the recipient's account has it.
      for (const [name, ticketId, recipientEmail] of [
        ['toBob', ticketIds[0], 'BOB@stra\u00dfe.DE'],
        ['toOwner', ticketIds[1], 'Alice@GMA\u0131L.com'],
      ] as const) {
        ids[name] = randomUUID();
        await old.query(
          `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + interval '1 day')`,
          [ids[name], ticketId, sender, recipientEmail, foldCase(recipientEmail).trim()],
        );
      }
    });
    expect(await runMigrations(database.db)).toContain(EmailDomainIdnaKey1800000050000.name);
    // The ASCII domain's owner can sign up once the look-alike no longer holds its key.
    ids.lookAlike = (
      await database.db.query(
        `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
         VALUES ('alice@gmail.com', 'alice@gmail.com', 'New', 'x', now()) RETURNING id`,
      )
    )[0].id;
    // Today's repository below names columns later migrations add (users.deleted_at): run them.
    latest = await migrationDataSource(database.env, MIGRATIONS).initialize();
    await runMigrations(latest);
  });
  afterAll(async () => {
    await latest?.destroy();
    await database?.close();
  });

  it('leaves an offer to a Unicode address acceptable by the account at that address', async () => {
    const transfers = new TicketTransfersRepository(latest!);
    const accepted = await transfers.accept(ids.toBob, ids.bob, new Date());
    expect(accepted.outcome).toBe('ACCEPTED');
  });

  it('gives an offer to a look-alike domain to its owner, not to the account at the ASCII domain it folded into', async () => {
    const transfers = new TicketTransfersRepository(latest!);
    expect(await transfers.accept(ids.toOwner, ids.lookAlike, new Date())).toEqual({ outcome: 'NOT_FOUND' });
    expect((await transfers.accept(ids.toOwner, ids.owner, new Date())).outcome).toBe('ACCEPTED');
  });
});
