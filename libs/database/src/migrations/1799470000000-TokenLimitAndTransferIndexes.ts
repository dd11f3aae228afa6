import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * The mailed-token limit (issueToken: password resets and e-mail verifications, so many per window)
 * counts an account's `auth_events` of one type since a time; `auth_events_user_id_idx` finds the
 * account's events of every type and age, and each is read from the table to be filtered: an
 * account asking for resets every few minutes for months has tens of thousands. With the type and
 * the time in the index, the count reads only the events it counts, from the index alone.
 */
const AUTH_EVENTS_BY_USER_TYPE_TIME: ConcurrentIndex = {
  name: 'auth_events_user_type_created_idx',
  on: `ON "auth_events" ("user_id", "type", "created_at")`,
};

/**
 * Cancelling a purchase finds, for each transferred ticket it cancels, the accepted transfer that
 * gave the ticket its holder (the holder's notice goes through it): only the PENDING offers of a
 * ticket were indexed (`ticket_transfers_ticket_pending_key`), so each lookup read the whole table,
 * once per ticket of a canceled show's bulk refund. Also what deleting a ticket's transfers by
 * cascade would look them up by.
 */
const TRANSFERS_BY_TICKET: ConcurrentIndex = {
  name: 'ticket_transfers_ticket_id_idx',
  on: `ON "ticket_transfers" ("ticket_id")`,
};

/**
 * Two indexes for the latest features' lookups, built CONCURRENTLY so that upgrading a large live
 * database blocks no write while they build (sign-ups, token requests, transfers and cancels go
 * on; see createIndexConcurrently). PostgreSQL refuses CONCURRENTLY in a transaction block, so
 * this migration runs outside one (`transaction = false`; the apps and `migration:run` run every
 * other migration in its own transaction, as before). Without a transaction, a run that stops
 * half-way keeps what it built and is not recorded: the next start runs it again, keeps a valid
 * index, rebuilds an INVALID one left by an interrupted build, and builds what is missing.
 *
 * Revert with `npm run migration:revert -- --transaction none` (TypeORM's revert wraps `down` in
 * a transaction otherwise, whatever `transaction` says here, and `down` then refuses, changing
 * nothing).
 */
export class TokenLimitAndTransferIndexes1799470000000 implements MigrationInterface {
  name = 'TokenLimitAndTransferIndexes1799470000000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, AUTH_EVENTS_BY_USER_TYPE_TIME);
    await createIndexConcurrently(queryRunner, TRANSFERS_BY_TICKET);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, TRANSFERS_BY_TICKET.name);
    await dropIndexConcurrently(queryRunner, AUTH_EVENTS_BY_USER_TYPE_TIME.name);
  }
}
