import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The ALTER of `tickets` takes ACCESS EXCLUSIVE: while it waits, every check-in and flush queues behind it. */
const TICKETS: LockedTables = {
  migration: 'CheckInMark1799600000000',
  tables: '"tickets"',
  stalls: 'every check-in and purchase flush',
  holders: 'it',
};

/**
 * `tickets.check_in_mark`: the token of the scan that checked the ticket in, the one its Redis mark
 * (`<seat id>:<code version>:<token>`, check-in-mark.lua) carries. An undo of the check-in
 * (`DELETE /check-in/:ticketId`) takes back exactly that mark, never the mark of a scan still on its
 * way, and tells a cancel that read the check-in from PostgreSQL before the undo that this one is
 * undone. Null for check-ins made before this version (and none). A nullable column without a
 * default: no table rewrite.
 */
export class CheckInMark1799600000000 implements MigrationInterface {
  name = 'CheckInMark1799600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, TICKETS, async () => {
      await queryRunner.query(`ALTER TABLE "tickets" ADD "check_in_mark" text`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, TICKETS, async () => {
      await queryRunner.query(`ALTER TABLE "tickets" DROP COLUMN "check_in_mark"`);
    });
  }
}
