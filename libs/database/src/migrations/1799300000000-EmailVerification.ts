import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The lock on `users` (login and account lookups queue behind a waiting ALTER). */
const USERS: LockedTables = {
  migration: 'EmailVerification1799300000000',
  tables: '"users"',
  stalls: 'every login',
  holders: '"users"',
};

/**
 * E-mail verification: `users.email_verified_at` (null: not confirmed), the accounts that exist at
 * the upgrade marked verified (their addresses have been taking tickets already; an upgrade must
 * lock no buyer out when EMAIL_VERIFICATION_REQUIRED is turned on); `email_verification_tokens`, a
 * few live tokens per account, each kept as its SHA-256; verification e-mails may be recorded in
 * `email_deliveries` without a purchase. And a trigger: whatever changes an account's e-mail (no
 * route does today; an operator by hand, a future route) unverifies it and voids its verification
 * and password-reset tokens, so a confirmed address is always the one mail goes to, and a reset
 * token e-mailed to the old address no longer works.
 */
export class EmailVerification1799300000000 implements MigrationInterface {
  name = 'EmailVerification1799300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // email_deliveries first: its ACCESS EXCLUSIVE lock waits for the mailer's claim transactions
    // (each open through an SMTP send) and its check scans every row; done before users is touched,
    // no login or account lookup waits behind that (the locks are held to the commit either way).
    // Its wait is left unbounded: only e-mails wait behind it, and a send may rightly take minutes.
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%' OR "message_id" LIKE 'email-verification:%')`,
    );
    // users last, its waits bounded: a long transaction holding it fails the migration in seconds
    // instead of queueing every login behind the ALTER.
    await lockingBriefly(queryRunner, USERS, async () => {
      // Existing accounts verified without touching a row: a column added with a non-volatile default
      // (now() is stable: the upgrade's time) is metadata only, where an UPDATE of every row would
      // rewrite the users table under the ALTER's ACCESS EXCLUSIVE lock (every login and account
      // lookup waiting for it). Dropping the default leaves later accounts unconfirmed.
      await queryRunner.query(`ALTER TABLE "users" ADD "email_verified_at" TIMESTAMP WITH TIME ZONE DEFAULT now()`);
      await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "email_verified_at" DROP DEFAULT`);
      await queryRunner.query(
        `CREATE TABLE "email_verification_tokens" (
           "id" uuid NOT NULL,
           "user_id" uuid NOT NULL,
           "token_hash" character(64) NOT NULL,
           "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
           "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
           CONSTRAINT "email_verification_tokens_pkey" PRIMARY KEY ("id"),
           CONSTRAINT "email_verification_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
         )`,
      );
      await queryRunner.query(
        `CREATE INDEX "email_verification_tokens_user_id_idx" ON "email_verification_tokens" ("user_id")`,
      );
      await queryRunner.query(
        `CREATE UNIQUE INDEX "email_verification_tokens_token_hash_key" ON "email_verification_tokens" ("token_hash")`,
      );
      await queryRunner.query(
        `CREATE FUNCTION "users_email_change_unverifies"() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           NEW.email_verified_at := NULL;
           DELETE FROM email_verification_tokens WHERE user_id = NEW.id;
           -- A reset e-mailed to the old address must not take over the account at its new one.
           DELETE FROM password_reset_tokens WHERE user_id = NEW.id;
           RETURN NEW;
         END $$`,
      );
      await queryRunner.query(
        `CREATE TRIGGER "users_email_change_unverifies" BEFORE UPDATE OF "email" ON "users"
           FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION "users_email_change_unverifies"()`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // As up: email_deliveries first, users last with its waits bounded.
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL AND "message_id" LIKE 'email-verification:%'`,
    );
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%')`,
    );
    await lockingBriefly(queryRunner, USERS, async () => {
      await queryRunner.query(`DROP TRIGGER "users_email_change_unverifies" ON "users"`);
      await queryRunner.query(`DROP FUNCTION "users_email_change_unverifies"()`);
      await queryRunner.query(`DROP TABLE "email_verification_tokens"`);
      await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_verified_at"`);
    });
  }
}
