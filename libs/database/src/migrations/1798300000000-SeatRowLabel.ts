import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every seat gets the label its row shows on tickets and seat maps (`row_label`, "A", "AA",
 * "Balcony 3"), beside the row number that orders the rows. Existing seats are labelled from
 * their row number by the venue convention generated layouts use (rowLabel in libs/ticketing):
 * letters counted in bijective base 26, 1 → "A", 26 → "Z", 27 → "AA", 52 → "AZ", 53 → "BA",
 * 702 → "ZZ", 703 → "AAA"; a row number below 1 (never generated) keeps its digits. The rule is
 * spelled out here in SQL rather than imported, so the migration stays what it was when the code
 * changes. The column is NOT NULL without a default: an `api` of the old code still running
 * afterwards fails to create performances (its insert names no label) until it is replaced, so
 * deploy `api` together with the migration.
 */
export class SeatRowLabel1798300000000 implements MigrationInterface {
  name = 'SeatRowLabel1798300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "seats" ADD "row_label" character varying(10)`);
    // One label per distinct row number (a few hundred at most), then one pass over the seats.
    await queryRunner.query(
      `WITH RECURSIVE digits(r, rest, label) AS (
         SELECT r, r, ''::text FROM (SELECT DISTINCT "row" AS r FROM seats WHERE "row" >= 1) AS rows
         UNION ALL
         SELECT r, (rest - 1) / 26, chr(65 + (rest - 1) % 26) || label FROM digits WHERE rest > 0
       )
       UPDATE seats SET row_label = digits.label FROM digits
        WHERE digits.rest = 0 AND seats."row" = digits.r`,
    );
    await queryRunner.query(`UPDATE seats SET row_label = "row"::text WHERE row_label IS NULL`);
    await queryRunner.query(`ALTER TABLE "seats" ALTER COLUMN "row_label" SET NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "seats" DROP COLUMN "row_label"`);
  }
}
