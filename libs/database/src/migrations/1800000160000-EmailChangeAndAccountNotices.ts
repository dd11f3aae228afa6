import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change of an account's e-mail address and the notices of changes to an account (accounts trial
 * A4): `email_change_tokens`, a few live tokens per account, each kept as its SHA-256 with the new
 * address it confirms (its full case fold in `new_email_key`, as `users.email_key`); the e-mails of
 * both (`email-change:<id>`, `account-notice:<auth event id>`) may be recorded in
 * `email_deliveries` without a purchase. A new table and a check: no lock on `users` is waited for
 * (the foreign key takes SHARE ROW EXCLUSIVE on it only for the CREATE, which waits for no row).
 */
export class EmailChangeAndAccountNotices1800000160000 implements MigrationInterface {
  name = 'EmailChangeAndAccountNotices1800000160000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // As TicketTransfers: NOT VALID, then VALIDATE, which scans under a lock that lets the mailer's
    // claims go on.
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
                OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%'
                OR "message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%') NOT VALID`,
    );
    await queryRunner.query(`ALTER TABLE "email_deliveries" VALIDATE CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `CREATE TABLE "email_change_tokens" (
         "id" uuid NOT NULL,
         "user_id" uuid NOT NULL,
         "new_email" varchar(320) NOT NULL,
         "new_email_key" text NOT NULL,
         "token_hash" character(64) NOT NULL,
         "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
         "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
         CONSTRAINT "email_change_tokens_pkey" PRIMARY KEY ("id"),
         CONSTRAINT "email_change_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
       )`,
    );
    await queryRunner.query(`CREATE INDEX "email_change_tokens_user_id_idx" ON "email_change_tokens" ("user_id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "email_change_tokens_token_hash_key" ON "email_change_tokens" ("token_hash")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "email_change_tokens"`);
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL
         AND ("message_id" LIKE 'email-change:%' OR "message_id" LIKE 'account-notice:%')`,
    );
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
                OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%')`,
    );
  }
}
