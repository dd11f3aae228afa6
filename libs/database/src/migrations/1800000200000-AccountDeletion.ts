import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The lock on `users` (login and account lookups queue behind a waiting ALTER). */
const USERS: LockedTables = {
  migration: 'AccountDeletion1800000200000',
  tables: '"users"',
  stalls: 'every login',
  holders: '"users"',
};

/**
 * `users.deleted_at`: when the account was deleted (`DELETE /users/me`, `DELETE /admin/users/:id`;
 * accounts trial A4), PostgreSQL's clock in the deletion's transaction; null for a live account. A
 * deleted account's row stays (its purchases, tickets and audit rows name it) with its personal data
 * replaced (libs/auth/src/account-deletion.service.ts). A nullable column without default: metadata
 * only, no row rewritten; its lock wait bounded (lockingBriefly). Down drops the column: accounts
 * deleted meanwhile stay anonymised (no address, name or usable password) but are no longer marked.
 */
export class AccountDeletion1800000200000 implements MigrationInterface {
  name = 'AccountDeletion1800000200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, USERS, async () => {
      await queryRunner.query(`ALTER TABLE "users" ADD "deleted_at" TIMESTAMP WITH TIME ZONE`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, USERS, async () => {
      await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "deleted_at"`);
    });
  }
}
