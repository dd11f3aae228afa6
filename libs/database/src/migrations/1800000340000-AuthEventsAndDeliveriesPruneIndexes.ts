import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * `batch` deletes account events older than AUTH_EVENT_RETENTION_DAYS (AuthEventPruneLoop,
 * AuthEventsRepository.deleteRecordedBefore), the oldest first: every signup, reset, change of
 * address or role, token mailed, resend and print adds a row, and none was ever deleted. The one
 * index of the table leads with the account, so without this one each pass would read all of it.
 */
const AUTH_EVENTS: ConcurrentIndex = {
  name: 'auth_events_created_at',
  on: `ON "auth_events" ("created_at")`,
};

/**
 * `batch` deletes the records of e-mails sent longer than EMAIL_DELIVERY_RETENTION_DAYS ago that
 * no later e-mail reads (EmailDeliveryPruneLoop, EmailDeliveriesRepository.deleteUnreadSentBefore),
 * the oldest first. Purchase confirmations are kept as long as their purchase, so they are left
 * out of the index: a pass never reads them.
 */
const EMAIL_DELIVERIES: ConcurrentIndex = {
  name: 'email_deliveries_sent_at_prunable',
  on: `ON "email_deliveries" ("sent_at") WHERE "message_id" NOT LIKE 'purchase-completed:%'`,
};

/**
 * Built CONCURRENTLY, as RefreshTokenExpiryIndex1800000250000's, so that upgrading a large live
 * database blocks no signup, token or e-mail while they build; so outside a transaction
 * (`transaction = false`). A run stopped half-way is not recorded: the next start rebuilds an
 * INVALID leftover, and keeps an index already built.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class AuthEventsAndDeliveriesPruneIndexes1800000340000 implements MigrationInterface {
  name = 'AuthEventsAndDeliveriesPruneIndexes1800000340000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, AUTH_EVENTS);
    await createIndexConcurrently(queryRunner, EMAIL_DELIVERIES);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, EMAIL_DELIVERIES.name);
    await dropIndexConcurrently(queryRunner, AUTH_EVENTS.name);
  }
}
