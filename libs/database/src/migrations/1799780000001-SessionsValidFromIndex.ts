import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * An api that starts reads the accounts whose sessions ended within the last access token lifetime
 * (`sessions_valid_from` recent): partial, only accounts whose sessions ever ended are in it, so
 * that read costs no scan of the users table.
 */
const USERS_SESSIONS_VALID_FROM: ConcurrentIndex = {
  name: 'users_sessions_valid_from',
  on: `ON "users" ("sessions_valid_from") WHERE "sessions_valid_from" IS NOT NULL`,
};

/**
 * Built CONCURRENTLY (no login waits while it builds); PostgreSQL refuses that in a transaction
 * block, so this migration runs outside one. Revert with `npm run migration:revert -- --transaction none`.
 */
export class SessionsValidFromIndex1799780000001 implements MigrationInterface {
  name = 'SessionsValidFromIndex1799780000001';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, USERS_SESSIONS_VALID_FROM);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, USERS_SESSIONS_VALID_FROM.name);
  }
}
