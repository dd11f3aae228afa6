import { MigrationInterface, QueryRunner } from 'typeorm';
import { emailKey } from '@app/core';

/** Rows written per UPDATE while the keys of existing accounts are filled in. */
const KEY_UPDATE_BATCH = 10_000;

/** Most groups of colliding accounts the refusal lists (the count says how many there are). */
const LISTED_COLLISIONS = 50;

/**
 * `users.email_key`: the address fully case-folded (`emailKey` in libs/core), unique, replacing
 * the unique index on `lower(email)`, which let "ΟΔΥΣΣΕΑΣ@…" (stored with a final "ς") and
 * "οδυσσεασ@…", or "ß@…" and "ss@…", be two accounts.
 *
 * Existing accounts whose addresses fold to one key are not changed, merged or deleted: the
 * migration refuses (its transaction undone, the api does not start) with an error listing them,
 * so that an operator decides whose address changes (docs/guide/accounts.md, "Accounts").
 */
export class EmailCaseFoldKey1798100000000 implements MigrationInterface {
  name = 'EmailCaseFoldKey1798100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // No account is added or renamed between reading the addresses and the unique index.
    await queryRunner.query('LOCK TABLE "users" IN SHARE ROW EXCLUSIVE MODE');
    await queryRunner.query('ALTER TABLE "users" ADD "email_key" text');
    const users: { id: string; email: string; created_at: Date }[] = await queryRunner.query(
      'SELECT id, email, created_at FROM users ORDER BY created_at, id',
    );
    const byKey = new Map<string, typeof users>();
    for (const user of users) {
      const key = emailKey(user.email);
      byKey.set(key, [...(byKey.get(key) ?? []), user]);
    }
    const collisions = [...byKey.values()].filter((group) => group.length > 1);
    if (collisions.length > 0) throw new Error(collisionMessage(collisions));
    const entries = [...byKey.entries()];
    for (let start = 0; start < entries.length; start += KEY_UPDATE_BATCH) {
      const batch = entries.slice(start, start + KEY_UPDATE_BATCH);
      await queryRunner.query(
        `UPDATE users SET email_key = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key) WHERE users.id = k.id`,
        [batch.map(([, [user]]) => user.id), batch.map(([key]) => key)],
      );
    }
    await queryRunner.query('ALTER TABLE "users" ALTER COLUMN "email_key" SET NOT NULL');
    await queryRunner.query('CREATE UNIQUE INDEX "users_email_key_key" ON "users" ("email_key")');
    await queryRunner.query('DROP INDEX "users_email_lower_key"');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE UNIQUE INDEX "users_email_lower_key" ON "users" (lower("email"))`);
    await queryRunner.query('DROP INDEX "users_email_key_key"');
    await queryRunner.query('ALTER TABLE "users" DROP COLUMN "email_key"');
  }
}

/** The refusal: each group of accounts one key would merge, oldest first, with id and creation time. */
function collisionMessage(collisions: { id: string; email: string; created_at: Date }[][]): string {
  const lines = collisions
    .slice(0, LISTED_COLLISIONS)
    .map((group) => group.map((u) => `${u.email} (id ${u.id}, created ${u.created_at.toISOString()})`).join(' | '));
  const more = collisions.length > LISTED_COLLISIONS ? [`… and ${collisions.length - LISTED_COLLISIONS} more`] : [];
  return [
    `EmailCaseFoldKey1798100000000 refused: ${collisions.length} group(s) of accounts have e-mail addresses ` +
      'that differ only in letter case, and addresses must now be unique in any case. Nothing was changed. ' +
      'Give all but one account of each group another address (UPDATE users SET email = ... WHERE id = ...), ' +
      'then start again:',
    ...lines,
    ...more,
  ].join('\n');
}
