import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConcurrentIndex, createIndexConcurrently, dropIndexConcurrently } from './concurrent-index';

/**
 * `batch` deletes refresh tokens a day after they expired (RefreshTokenPruneLoop,
 * RefreshTokensRepository.deleteExpired), the oldest first: every login and every refresh adds a
 * row, none was ever deleted, and the table grew by about a row per active buyer per access-token
 * lifetime. This index lets each pass read only the expired rows.
 */
const INDEX: ConcurrentIndex = {
  name: 'refresh_tokens_expires_at',
  on: `ON "refresh_tokens" ("expires_at")`,
};

/**
 * Built CONCURRENTLY, as PurchasePresaleIndex1800000210000's, so that upgrading a large live
 * database blocks no login or refresh while it builds; so outside a transaction
 * (`transaction = false`). A run stopped half-way is not recorded: the next start rebuilds an
 * INVALID leftover.
 *
 * Revert with `npm run migration:revert -- --transaction none`.
 */
export class RefreshTokenExpiryIndex1800000250000 implements MigrationInterface {
  name = 'RefreshTokenExpiryIndex1800000250000';

  /** Run outside a transaction: CREATE and DROP INDEX CONCURRENTLY refuse to run in one. */
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, INDEX);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexConcurrently(queryRunner, INDEX.name);
  }
}
