import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `tickets` takes ACCESS EXCLUSIVE, and the foreign keys to `users` take SHARE ROW
 * EXCLUSIVE there: while one waits behind a long transaction, every check-in, ticket read and flush
 * of a purchase (tickets), every sign-up and account change (users) queues behind it.
 */
const TICKETS_AND_USERS: LockedTables = {
  migration: 'TicketTransfers1799400000000',
  tables: '"tickets" or "users"',
  stalls: 'every check-in, flush and sign-up',
  holders: 'them',
};

/**
 * Ticket transfer: a ticket's current holder (`tickets.holder_id`, null = its purchase's buyer)
 * and the version of its signed code (`tickets.code_version`, 0 for every ticket there is: the
 * codes already sent stay valid), raised by each accepted transfer so the earlier code stops
 * admitting; and `ticket_transfers`, one row per offer with at most one PENDING per ticket.
 *
 * Both new columns are metadata-only (`ADD COLUMN` with a constant default). The range check and
 * the holder's foreign key are added NOT VALID and left so: every existing row has code version 0
 * and no holder, so they hold there, and new rows are checked; validating them would scan
 * `tickets` under the ALTER's ACCESS EXCLUSIVE lock, which the migration's one transaction keeps
 * to its commit. The holder index is partial on a column null everywhere at first, but its build
 * still reads the whole table under that lock. The statements on `tickets` and `users` wait for
 * their locks at most MIGRATION_LOCK_TIMEOUT (see lockingBriefly).
 */
export class TicketTransfers1799400000000 implements MigrationInterface {
  name = 'TicketTransfers1799400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The transfer e-mails belong to no purchase, as a password reset's: the check lets their
    // deliveries through. First, before tickets and users are touched (the locks are held to the
    // commit): its wait for the mailer's claim transactions (open through SMTP sends) and its scan
    // keep only e-mails waiting, so its wait is left unbounded (see EmailVerification).
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%'
                OR "message_id" LIKE 'email-verification:%' OR "message_id" LIKE 'ticket-transfer-%') NOT VALID`,
    );
    await queryRunner.query(`ALTER TABLE "email_deliveries" VALIDATE CONSTRAINT "email_deliveries_purchase_id_check"`);
    await lockingBriefly(queryRunner, TICKETS_AND_USERS, async () => {
      await queryRunner.query(
        `ALTER TABLE "tickets" ADD "holder_id" uuid, ADD "code_version" integer NOT NULL DEFAULT 0`,
      );
      await queryRunner.query(
        `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_holder_id_fkey" FOREIGN KEY ("holder_id") REFERENCES "users"("id") NOT VALID`,
      );
      await queryRunner.query(
        `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_code_version_range" CHECK ("code_version" BETWEEN 0 AND 65535) NOT VALID`,
      );
      await queryRunner.query(
        `CREATE INDEX "tickets_holder_id_idx" ON "tickets" ("holder_id", "id") WHERE "holder_id" IS NOT NULL`,
      );
      await queryRunner.query(
        `CREATE TABLE "ticket_transfers" (
         "id" uuid NOT NULL,
         "ticket_id" bigint NOT NULL,
         "sender_id" uuid NOT NULL,
         "recipient_email" varchar(320) NOT NULL,
         "recipient_email_key" varchar(320) NOT NULL,
         "recipient_id" uuid,
         "status" varchar(10) NOT NULL DEFAULT 'PENDING',
         "cancel_reason" varchar(20),
         "created_at" timestamptz NOT NULL DEFAULT now(),
         "expires_at" timestamptz NOT NULL,
         "accepted_at" timestamptz,
         "canceled_at" timestamptz,
         CONSTRAINT "ticket_transfers_pkey" PRIMARY KEY ("id"),
         CONSTRAINT "ticket_transfers_ticket_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "tickets"("id") ON DELETE CASCADE,
         CONSTRAINT "ticket_transfers_sender_id_fkey" FOREIGN KEY ("sender_id") REFERENCES "users"("id") ON DELETE CASCADE,
         CONSTRAINT "ticket_transfers_recipient_id_fkey" FOREIGN KEY ("recipient_id") REFERENCES "users"("id") ON DELETE SET NULL,
         CONSTRAINT "ticket_transfers_status_check" CHECK ("status" IN ('PENDING', 'ACCEPTED', 'CANCELED', 'EXPIRED')),
         CONSTRAINT "ticket_transfers_accepted_check" CHECK (("status" = 'ACCEPTED') = ("accepted_at" IS NOT NULL))
       )`,
      );
      await queryRunner.query(
        `CREATE UNIQUE INDEX "ticket_transfers_ticket_pending_key" ON "ticket_transfers" ("ticket_id") WHERE "status" = 'PENDING'`,
      );
      await queryRunner.query(
        `CREATE INDEX "ticket_transfers_sender_idx" ON "ticket_transfers" ("sender_id", "created_at", "id")`,
      );
      await queryRunner.query(
        `CREATE INDEX "ticket_transfers_recipient_idx" ON "ticket_transfers" ("recipient_email_key", "created_at", "id")`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // As up: email_deliveries first, tickets and users last with their waits bounded.
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP CONSTRAINT "email_deliveries_purchase_id_check"`);
    await queryRunner.query(
      `DELETE FROM "email_deliveries" WHERE "purchase_id" IS NULL AND "message_id" LIKE 'ticket-transfer-%'`,
    );
    await queryRunner.query(
      `ALTER TABLE "email_deliveries" ADD CONSTRAINT "email_deliveries_purchase_id_check"
         CHECK ("purchase_id" IS NOT NULL OR "message_id" LIKE 'password-reset:%' OR "message_id" LIKE 'email-verification:%')`,
    );
    await lockingBriefly(queryRunner, TICKETS_AND_USERS, async () => {
      await queryRunner.query(`DROP TABLE "ticket_transfers"`);
      await queryRunner.query(`DROP INDEX "tickets_holder_id_idx"`);
      await queryRunner.query(`ALTER TABLE "tickets" DROP COLUMN "holder_id", DROP COLUMN "code_version"`);
    });
  }
}
