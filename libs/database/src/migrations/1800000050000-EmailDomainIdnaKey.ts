import { MigrationInterface, QueryRunner } from 'typeorm';
import { emailKey, foldCase } from '@app/core';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The rows of `users` and `ticket_transfers` with a non-ASCII address (their updates' row locks). */
const ADDRESSES: LockedTables = {
  migration: 'EmailDomainIdnaKey1800000050000',
  tables: '"users" or "ticket_transfers"',
  stalls: 'the logins and transfers of those accounts',
  holders: 'them',
};

/** The stored keys this migration computes again: table, id column, address column, key column. */
const KEYED = [
  ['users', 'id', 'email', 'email_key'],
  ['ticket_transfers', 'id', 'recipient_email', 'recipient_email_key'],
] as const;

/**
 * The keys of addresses that are not plain ASCII, computed again: `emailKey` (libs/core) now keys
 * an address's domain by its IDNA form instead of its full case fold, so that "alice@gmaıl.com" (a
 * dotless ı, a domain anyone may own) is no longer the account of "alice@gmail.com". Only an address
 * with a non-ASCII character may change key (the local part's key is as before), and only to a key
 * no ASCII address has, so `users_email_key_key` holds. `down` puts the whole-address fold back,
 * and fails on the unique index when two accounts made since then share it.
 */
export class EmailDomainIdnaKey1800000050000 implements MigrationInterface {
  name = 'EmailDomainIdnaKey1800000050000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await rekey(queryRunner, emailKey);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await rekey(queryRunner, (address) => foldCase(address).trim());
  }
}

/** Sets each keyed column of a row whose address has a non-ASCII character to `key` of the address. */
async function rekey(queryRunner: QueryRunner, key: (address: string) => string): Promise<void> {
  await lockingBriefly(queryRunner, ADDRESSES, async () => {
    for (const [table, id, address, keyColumn] of KEYED) {
      const rows: { id: string; address: string }[] = await queryRunner.query(
        `SELECT "${id}" AS id, "${address}" AS address FROM "${table}" WHERE "${address}" ~ '[^\\x01-\\x7f]'`,
      );
      if (rows.length === 0) continue;
      await queryRunner.query(
        `UPDATE "${table}" SET "${keyColumn}" = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key)
          WHERE "${table}"."${id}" = k.id`,
        [rows.map((row) => row.id), rows.map((row) => key(row.address))],
      );
    }
  });
}
