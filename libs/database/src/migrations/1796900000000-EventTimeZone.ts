import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The venue's time zone on each event (an IANA name, checked against Intl by the API before it is
 * written): responses and e-mails show performance times on the venue's wall clock with its offset.
 * Existing events get `UTC`, which shows the times they showed before; an admin sets the real zone.
 */
export class EventTimeZone1796900000000 implements MigrationInterface {
  name = 'EventTimeZone1796900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "events" ADD "time_zone" character varying(64) NOT NULL DEFAULT 'UTC'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "events" DROP COLUMN "time_zone"`);
  }
}
