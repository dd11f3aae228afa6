import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `password_reset_tokens`: a few live reset tokens per account, each kept as its SHA-256;
 * `password_reset_requests`: every request, by the hash of its e-mail key. And
 * `email_deliveries.purchase_id` becomes nullable: a password-reset e-mail is recorded there too
 * (sent once per message), and belongs to no purchase; a CHECK keeps null to those (message id
 * `password-reset:…`).
 */
export class PasswordResetTokens1798700000000 implements MigrationInterface {
  name = 'PasswordResetTokens1798700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "password_reset_tokens" (
         "id" uuid NOT NULL,
         "user_id" uuid NOT NULL,
         "token_hash" character(64) NOT NULL,
         "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
         "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
         CONSTRAINT "password_reset_tokens_pkey" PRIMARY KEY ("id"),
         CONSTRAINT "password_reset_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
       )`,
    );
    await queryRunner.query(`CREATE INDEX "password_reset_tokens_user_id_idx" ON "password_reset_tokens" ("user_id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "password_reset_tokens_token_hash_key" ON "password_reset_tokens" ("token_hash")`,
    );
    await queryRunner.query(
      `CREATE TABLE "password_reset_requests" (
         "id" bigserial NOT NULL,
         "email_hash" character(64) NOT NULL,
         "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
         CONSTRAINT "password_reset_requests_pkey" PRIMARY KEY ("id")
       )`,
    );
    await queryRunner.query(
      `CREATE INDEX "password_reset_requests_email_hash_created_at_idx" ON "password_reset_requests" ("email_hash", "created_at")`,
    );
    await queryRunner.query(`ALTER TABLE "email_deliveries" ALTER COLUMN "purchase_id" DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(`DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL`);
    await queryRunner.query(`ALTER TABLE "email_deliveries" ALTER COLUMN "purchase_id" SET NOT NULL`);
    await queryRunner.query(`DROP TABLE "password_reset_requests"`);
    await queryRunner.query(`DROP TABLE "password_reset_tokens"`);
  }
}
