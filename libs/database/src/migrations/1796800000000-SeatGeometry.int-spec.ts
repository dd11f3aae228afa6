import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { SeatGeometry1796800000000 } from './1796800000000-SeatGeometry';

const BEFORE_GEOMETRY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(SeatGeometry1796800000000));
/** Up to this migration and no further, so that undoing the last one undoes this one. */
const UP_TO_GEOMETRY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(SeatGeometry1796800000000) + 1);

async function columnsOf(db: DataSource, table: string): Promise<string[]> {
  const rows: { column_name: string }[] = await db.query(
    'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name',
    [table],
  );
  return rows.map((row) => row.column_name);
}

/**
 * A performance as the code before seat geometry wrote it: `sections` in layout order (the
 * first named Z, so order by name would differ), each row by row, seats by number.
 */
async function seedOldShape(db: DataSource, sections: { name: string; rows: number; seatsPerRow: number }[]) {
  const [event] = await db.query(
    `INSERT INTO events (title, venue, currency) VALUES ('Old show', 'Old hall', 'KRW') RETURNING id`,
  );
  const total = sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
  const [performance] = await db.query(
    `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
     VALUES ($1, '2030-03-01T10:00:00Z', now(), $2) RETURNING id`,
    [event.id, total],
  );
  let offset = 0;
  for (const section of sections) {
    await db.query(
      `INSERT INTO seats (performance_id, position, section, "row", "number", grade, price)
       SELECT $1, $2 + (r - 1) * $3 + n, $4, r, n, 'R', 1000
       FROM generate_series(1, $5::int) AS r, generate_series(1, $3::int) AS n`,
      [performance.id, offset, section.seatsPerRow, section.name, section.rows],
    );
    offset += section.rows * section.seatsPerRow;
  }
  return performance.id as number;
}

type Placed = {
  section: string;
  row: number;
  number: number;
  x: number;
  y: number;
  quality: number;
  accessible: boolean;
  companion: boolean;
};

async function placedSeats(db: DataSource, performanceId: number): Promise<Placed[]> {
  return db.query(
    `SELECT section, "row", "number", x, y, quality, accessible, companion FROM seats
     WHERE performance_id = $1 ORDER BY position`,
    [performanceId],
  );
}

describe('migration SeatGeometry (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE_GEOMETRY));
  });
  afterAll(() => close?.());

  it('places existing seats as the default layout does, scores them by distance, and goes back down', async () => {
    const hall = await seedOldShape(old, [
      { name: 'Z', rows: 2, seatsPerRow: 3 },
      { name: 'A', rows: 1, seatsPerRow: 2 },
    ]);
    const single = await seedOldShape(old, [{ name: 'Solo', rows: 1, seatsPerRow: 1 }]);
    const current = await migrationDataSource(env, UP_TO_GEOMETRY).initialize();
    try {
      expect(await runMigrations(current)).toContain(SeatGeometry1796800000000.name);
      expect(await columnsOf(current, 'seats')).toEqual(
        expect.arrayContaining(['x', 'y', 'quality', 'accessible', 'companion']),
      );
      const [focal] = await current.query('SELECT focal_x, focal_y FROM performances WHERE id = $1', [hall]);
      expect(focal).toEqual({ focal_x: 0, focal_y: 0 });

      // Z: widths 2, aisle 2, A: width 1 → 5 in all, Z from −2.5; row r at y = r (generateLayout's default).
      const seats = await placedSeats(current, hall);
      expect(seats.map((s) => [s.section, s.row, s.number, s.x, s.y])).toEqual([
        ['Z', 1, 1, -2.5, 1],
        ['Z', 1, 2, -1.5, 1],
        ['Z', 1, 3, -0.5, 1],
        ['Z', 2, 1, -2.5, 2],
        ['Z', 2, 2, -1.5, 2],
        ['Z', 2, 3, -0.5, 2],
        ['A', 1, 1, 1.5, 1],
        ['A', 1, 2, 2.5, 1],
      ]);
      // Quality: 1000 at the nearest seat (distance √1.25), 0 at the furthest (√10.25), linear between.
      const distances = seats.map((s) => Math.hypot(s.x, s.y));
      const [nearest, furthest] = [Math.min(...distances), Math.max(...distances)];
      expect(seats.map((s) => s.quality)).toEqual(
        distances.map((d) => Math.floor((1000 * (furthest - d)) / (furthest - nearest) + 0.5)),
      );
      expect(seats.map((s) => [s.accessible, s.companion])).toEqual(seats.map(() => [false, false]));
      const [solo] = await placedSeats(current, single);
      expect(solo).toMatchObject({ x: 0, y: 1, quality: 1000, accessible: false, companion: false });
      const nulls = await current.query(
        `SELECT count(*)::int AS n FROM seats
         WHERE x IS NULL OR y IS NULL OR quality IS NULL OR accessible IS NULL OR companion IS NULL`,
      );
      expect(nulls).toEqual([{ n: 0 }]);
      await expect(current.query(`UPDATE seats SET quality = 1001 WHERE performance_id = $1`, [hall])).rejects.toThrow(
        /seats_quality_range/,
      );

      await current.undoLastMigration({ transaction: 'each' });
      expect(await columnsOf(current, 'seats')).not.toContain('x');
      expect(await columnsOf(current, 'performances')).not.toContain('focal_x');
      expect(await current.query('SELECT count(*)::int AS n FROM seats WHERE performance_id = $1', [hall])).toEqual([
        { n: 8 },
      ]);
    } finally {
      await current.destroy();
    }
  });
});
