import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `ticket_transfers` takes ACCESS EXCLUSIVE: while it waits behind a long transaction,
 * every offer, accept, cancel and transfer list queues behind it.
 */
const TICKET_TRANSFERS: LockedTables = {
  migration: 'TicketTransferDecline1799450000000',
  tables: '"ticket_transfers"',
  stalls: 'every transfer',
  holders: 'it',
};

/**
 * A recipient may decline an offer: status DECLINED, when in `declined_at`; and an accepted
 * transfer keeps the ticket code version its accept issued (`code_version`, null for those accepted
 * before: the new holder's e-mail with that code is sent while the ticket still has it). One ALTER of
 * `ticket_transfers` (the only table touched): the columns are metadata-only (no default), and the
 * widened status check and the new declined check are added NOT VALID and left so, as the
 * checks of TicketTransfers1799400000000: every row there is holds them (no row is DECLINED, none
 * has `declined_at`), new rows are checked, and validating would scan the table under the ALTER's
 * lock, held to the commit. The wait for that lock is bounded by MIGRATION_LOCK_TIMEOUT; a migration that
 * runs out of it rolls back (nothing changed) and says to retry.
 */
export class TicketTransferDecline1799450000000 implements MigrationInterface {
  name = 'TicketTransferDecline1799450000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await alterBriefly(
      queryRunner,
      `ALTER TABLE "ticket_transfers"
         ADD "declined_at" timestamptz,
         ADD "code_version" integer,
         DROP CONSTRAINT "ticket_transfers_status_check",
         ADD CONSTRAINT "ticket_transfers_status_check"
           CHECK ("status" IN ('PENDING', 'ACCEPTED', 'CANCELED', 'EXPIRED', 'DECLINED')) NOT VALID,
         ADD CONSTRAINT "ticket_transfers_declined_check"
           CHECK (("status" = 'DECLINED') = ("declined_at" IS NOT NULL)) NOT VALID`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A declined offer reads as one its sender canceled: the nearest state the old schema has.
    await alterBriefly(
      queryRunner,
      `UPDATE "ticket_transfers" SET "status" = 'CANCELED', "canceled_at" = "declined_at", "declined_at" = NULL,
              "cancel_reason" = 'DECLINED'
        WHERE "status" = 'DECLINED'`,
      `ALTER TABLE "ticket_transfers"
         DROP CONSTRAINT "ticket_transfers_declined_check",
         DROP CONSTRAINT "ticket_transfers_status_check",
         DROP COLUMN "declined_at",
         DROP COLUMN "code_version",
         ADD CONSTRAINT "ticket_transfers_status_check"
           CHECK ("status" IN ('PENDING', 'ACCEPTED', 'CANCELED', 'EXPIRED')) NOT VALID`,
    );
  }
}

/** Runs `statements` in order under {@link lockingBriefly} (the lock on `ticket_transfers`). */
function alterBriefly(queryRunner: QueryRunner, ...statements: string[]): Promise<void> {
  return lockingBriefly(queryRunner, TICKET_TRANSFERS, async () => {
    for (const statement of statements) await queryRunner.query(statement);
  });
}
