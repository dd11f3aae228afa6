import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seat geometry: every seat gets a map place (`x`, `y`, map units), a `quality` (0…1000, higher
 * is better) and the `accessible` / `companion` marks; performances get the stage's focal point
 * (`focal_x`, `focal_y`, default (0, 0)). Existing seats are placed as a layout without origins
 * is generated today (generateLayout in libs/ticketing): sections side by side in layout order
 * (by their first position), seats 1 apart, an aisle of 2 between the last seat of a section and
 * the first of the next, centred on x = 0, row r at y = r; quality falls linearly from 1000 (the
 * seat closest to (0, 0)) to 0 (the furthest) within each performance.
 */
export class SeatGeometry1796800000000 implements MigrationInterface {
  name = 'SeatGeometry1796800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "performances" ADD "focal_x" double precision NOT NULL DEFAULT 0,
       ADD "focal_y" double precision NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(
      `ALTER TABLE "seats" ADD "x" double precision NOT NULL DEFAULT 0, ADD "y" double precision NOT NULL DEFAULT 0,
       ADD "quality" integer NOT NULL DEFAULT 0, ADD "accessible" boolean NOT NULL DEFAULT false,
       ADD "companion" boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(
      `ALTER TABLE "seats" ADD CONSTRAINT "seats_quality_range" CHECK ("quality" BETWEEN 0 AND 1000)`,
    );
    // Each section's left edge: the widths (seats − 1) and aisles (2) of the sections before it.
    await queryRunner.query(
      `WITH sections AS (
         SELECT performance_id, section, min(position) AS first, max("number") AS per_row
         FROM seats GROUP BY performance_id, section
       ), placed AS (
         SELECT performance_id, section,
           coalesce(sum(per_row + 1) OVER (PARTITION BY performance_id ORDER BY first
             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS left_edge,
           sum(per_row + 1) OVER (PARTITION BY performance_id) - 2 AS total
         FROM sections
       )
       UPDATE seats s SET x = p.left_edge - p.total / 2.0 + (s."number" - 1), y = s."row"
       FROM placed p WHERE s.performance_id = p.performance_id AND s.section = p.section`,
    );
    await queryRunner.query(
      `WITH d AS (
         SELECT s.id, s.performance_id, sqrt((s.x - p.focal_x) ^ 2 + (s.y - p.focal_y) ^ 2) AS distance
         FROM seats s JOIN performances p ON p.id = s.performance_id
       ), r AS (
         SELECT performance_id, min(distance) AS nearest, max(distance) AS furthest FROM d GROUP BY performance_id
       )
       UPDATE seats s SET quality = CASE WHEN r.furthest > r.nearest
         THEN floor(1000 * ((r.furthest - d.distance) / (r.furthest - r.nearest)) + 0.5) ELSE 1000 END
       FROM d JOIN r ON r.performance_id = d.performance_id WHERE s.id = d.id`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "seats" DROP CONSTRAINT "seats_quality_range"`);
    await queryRunner.query(
      `ALTER TABLE "seats" DROP COLUMN "companion", DROP COLUMN "accessible", DROP COLUMN "quality",
       DROP COLUMN "y", DROP COLUMN "x"`,
    );
    await queryRunner.query(`ALTER TABLE "performances" DROP COLUMN "focal_y", DROP COLUMN "focal_x"`);
  }
}
