import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seats an operator took off sale (blocked: sound desk, camera positions, house seats): one row
 * per blocked seat, with the operator's reason, who and when. A rebuild of a performance's live
 * state in Redis reads them, so they stay blocked. Deleting the performance (or the seat)
 * deletes its rows. `seat_blocks_performance` serves the operators' list, in seat order.
 */
export class SeatBlocks1798900000000 implements MigrationInterface {
  name = 'SeatBlocks1798900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "seat_blocks" (
         "seat_id" integer PRIMARY KEY REFERENCES "seats" ("id") ON DELETE CASCADE,
         "performance_id" integer NOT NULL REFERENCES "performances" ("id") ON DELETE CASCADE,
         "reason" varchar(200),
         "blocked_by" uuid NOT NULL,
         "blocked_by_email" varchar(320) NOT NULL,
         "blocked_at" timestamptz NOT NULL DEFAULT clock_timestamp()
       )`,
    );
    await queryRunner.query(`CREATE INDEX "seat_blocks_performance" ON "seat_blocks" ("performance_id", "seat_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "seat_blocks"`);
  }
}
