import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The foreign keys to `seats` and `performances` take SHARE ROW EXCLUSIVE there: while one waits
 * behind a long transaction, every performance change and rebuild queues behind it.
 */
const SEATS_AND_PERFORMANCES: LockedTables = {
  migration: 'CompHouseSeats1799730000000',
  tables: '"seats" or "performances"',
  stalls: 'every performance change and seat read',
  holders: 'them',
};

/**
 * House seats lent to a comp: a comp with `includeBlocked` (CompService) moves each blocked seat it
 * takes from `seat_blocks` to this table in its transaction, with the block as it was (reason, who
 * and when) and the comp's purchase id (no foreign key: the purchase reaches `purchases` with the
 * flush, later). Whatever writes the comp's cancellation or the refund of such a seat to PostgreSQL
 * moves the row back to `seat_blocks` in the same transaction (`returnHouseSeats`), so the seat goes
 * back to its block, not on sale. `comp_house_seats_purchase` serves that write and the purchase's
 * read (its seats taken from blocks, for a cancel after its Redis record expired).
 */
export class CompHouseSeats1799730000000 implements MigrationInterface {
  name = 'CompHouseSeats1799730000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, SEATS_AND_PERFORMANCES, async () => {
      await queryRunner.query(
        `CREATE TABLE "comp_house_seats" (
           "seat_id" integer PRIMARY KEY REFERENCES "seats" ("id") ON DELETE CASCADE,
           "performance_id" integer NOT NULL REFERENCES "performances" ("id") ON DELETE CASCADE,
           "purchase_id" uuid NOT NULL,
           "reason" varchar(200),
           "blocked_by" uuid NOT NULL,
           "blocked_by_email" varchar(320) NOT NULL,
           "blocked_at" timestamptz NOT NULL
         )`,
      );
    });
    await queryRunner.query(`CREATE INDEX "comp_house_seats_purchase" ON "comp_house_seats" ("purchase_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Comps taken from blocks then go back on sale when canceled, as before this migration.
    await queryRunner.query(`DROP TABLE "comp_house_seats"`);
  }
}
