import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/** The index of `auth_events` by account alone, from the first migration (AccountsAndAuth). */
const AUTH_EVENTS_BY_USER: ConcurrentIndex = {
  name: 'auth_events_user_id_idx',
  on: `ON "auth_events" ("user_id")`,
};

/**
 * Drops `auth_events_user_id_idx`: since TokenLimitAndTransferIndexes1799470000000,
 * `auth_events_user_type_created_idx` (`user_id`, `type`, `created_at`) leads with the same column
 * and serves every lookup by account the older one served (deleting an account's events by
 * cascade, the mailed-token limit's count), while each sign-up, token request and transfer paid
 * for keeping both up to date. Dropped CONCURRENTLY (outside a transaction, as the migration that
 * built its successor), so reads and writes of the table go on meanwhile; a run that stops half-way
 * is run again by the next start, and dropping what is gone does nothing.
 *
 * Revert with `npm run migration:revert -- --transaction none`: `down` builds the index again,
 * concurrently (see createIndexConcurrently).
 */
export class DropRedundantAuthEventsIndex1799520000000 implements MigrationInterface {
  name = 'DropRedundantAuthEventsIndex1799520000000';

  /** Run outside a transaction: DROP and CREATE INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, AUTH_EVENTS_BY_USER.name);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, AUTH_EVENTS_BY_USER);
  }
}
