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
 * with a non-ASCII character may change key (the local part's key is as before). A new key may
 * still meet another account's: an address already stored with its domain's A-label
 * ("alice@xn--gmal-nza.com"), or a compatibility form IDNA maps ("ｇｍａｉｌ.com" → "gmail.com").
 * Then the migration refuses (its transaction undone, the api does not start) with an error
 * listing the accounts, so that an operator decides whose address changes, as
 * EmailCaseFoldKey1798100000000 does. `down` puts the whole-address fold back, and fails on the
 * unique index when two accounts made since then share it.
 */
export class EmailDomainIdnaKey1800000050000 implements MigrationInterface {
  name = 'EmailDomainIdnaKey1800000050000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await rekey(queryRunner, emailKey, refuseCollisions);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await rekey(queryRunner, (address) => foldCase(address).trim());
  }
}

/** Most accounts the refusal lists (the count says how many there are). */
const LISTED_COLLISIONS = 50;

/** A re-keyed account and the account (another, or another re-keyed one) its new key meets. */
interface Collision {
  email: string;
  id: string;
  key: string;
  other: { id: string; email: string };
}

/**
 * Sets each keyed column of a row whose address has a non-ASCII character to `key` of the address;
 * `check` sees the users' new keys first and may refuse them (throws).
 */
async function rekey(
  queryRunner: QueryRunner,
  key: (address: string) => string,
  check?: (queryRunner: QueryRunner, users: { id: string; address: string; key: string }[]) => Promise<void>,
): Promise<void> {
  await lockingBriefly(queryRunner, ADDRESSES, async () => {
    for (const [table, id, address, keyColumn] of KEYED) {
      const rows: { id: string; address: string }[] = await queryRunner.query(
        `SELECT "${id}" AS id, "${address}" AS address FROM "${table}" WHERE "${address}" ~ '[^\\x01-\\x7f]'`,
      );
      if (rows.length === 0) continue;
      if (table === 'users' && check)
        await check(
          queryRunner,
          rows.map((row) => ({ ...row, key: key(row.address) })),
        );
      await queryRunner.query(
        `UPDATE "${table}" SET "${keyColumn}" = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key)
          WHERE "${table}"."${id}" = k.id`,
        [rows.map((row) => row.id), rows.map((row) => key(row.address))],
      );
    }
  });
}

/**
 * Refuses new user keys that meet another account's key: an account not re-keyed that has it
 * already, or another re-keyed account given the same one. Nothing is changed then.
 */
async function refuseCollisions(
  queryRunner: QueryRunner,
  users: { id: string; address: string; key: string }[],
): Promise<void> {
  const collisions: Collision[] = [];
  const firstWithKey = new Map<string, { id: string; email: string }>();
  for (const user of users) {
    const other = firstWithKey.get(user.key);
    if (other) collisions.push({ email: user.address, id: user.id, key: user.key, other });
    else firstWithKey.set(user.key, { id: user.id, email: user.address });
  }
  const holders: { id: string; email: string; email_key: string }[] = await queryRunner.query(
    `SELECT id, email, email_key FROM users WHERE email_key = ANY($1::text[]) AND NOT id = ANY($2::uuid[])`,
    [[...firstWithKey.keys()], users.map((user) => user.id)],
  );
  for (const holder of holders) {
    const user = firstWithKey.get(holder.email_key)!;
    collisions.push({
      email: user.email,
      id: user.id,
      key: holder.email_key,
      other: { id: holder.id, email: holder.email },
    });
  }
  if (collisions.length === 0) return;
  const more = collisions.length > LISTED_COLLISIONS ? [`… and ${collisions.length - LISTED_COLLISIONS} more`] : [];
  throw new Error(
    [
      `EmailDomainIdnaKey1800000050000 refused: ${collisions.length} account(s) at a Unicode domain would get the key ` +
        'of another account (the same domain written another way). Nothing was changed. Give one account of each ' +
        'pair another address (UPDATE users SET email = ... WHERE id = ...), then start again:',
      ...collisions
        .slice(0, LISTED_COLLISIONS)
        .map((c) => `${c.email} (id ${c.id}) and ${c.other.email} (id ${c.other.id}): key ${c.key}`),
      ...more,
    ].join('\n'),
  );
}
