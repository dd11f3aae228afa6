import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The lock on `users` (login and account lookups queue behind a waiting ALTER). */
const USERS: LockedTables = {
  migration: 'SessionsValidFrom1799780000000',
  tables: '"users"',
  stalls: 'every login',
  holders: '"users"',
};

/**
 * `users.sessions_valid_from`: when the account's sessions last ended all at once (a password
 * reset, a role change, an admin's password set at start), PostgreSQL's clock in the transaction of
 * that change; null while they never did. An access token minted before it is refused
 * (libs/auth/src/session-revocations.ts). A nullable column without default: metadata only, no row
 * rewritten; its lock wait bounded (lockingBriefly).
 */
export class SessionsValidFrom1799780000000 implements MigrationInterface {
  name = 'SessionsValidFrom1799780000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, USERS, async () => {
      await queryRunner.query(`ALTER TABLE "users" ADD "sessions_valid_from" TIMESTAMP WITH TIME ZONE`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, USERS, async () => {
      await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "sessions_valid_from"`);
    });
  }
}
