import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { SeatRowLabel1798300000000 } from './1798300000000-SeatRowLabel';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(SeatRowLabel1798300000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(SeatRowLabel1798300000000) + 1);

async function columnsOf(db: DataSource, table: string): Promise<string[]> {
  const rows: { column_name: string }[] = await db.query(
    'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name',
    [table],
  );
  return rows.map((row) => row.column_name);
}

describe('migration SeatRowLabel (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE));
  });
  afterAll(() => close?.());

  it('labels existing seats from their row number (1 → A, 27 → AA, 703 → AAA), NOT NULL after; down drops it', async () => {
    const [event] = await old.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Old show', 'Old hall', 'KRW') RETURNING id`,
    );
    const rows = [1, 2, 26, 27, 52, 53, 702, 703, 18278, 18279];
    const [performance] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), $2) RETURNING id`,
      [event.id, rows.length * 2],
    );
    // Two seats a row, as the code before labels wrote them.
    await old.query(
      `INSERT INTO seats (performance_id, position, section, "row", "number", grade, price)
       SELECT $1, (k - 1) * 2 + n, 'Floor', r, n, 'R', 1000
       FROM unnest($2::int[]) WITH ORDINALITY AS g(r, k), generate_series(1, 2) AS n`,
      [performance.id, rows],
    );

    const current = await migrationDataSource(env, UP_TO).initialize();
    try {
      expect(await runMigrations(current)).toContain(SeatRowLabel1798300000000.name);
      const labelled: { row: number; number: number; row_label: string }[] = await current.query(
        `SELECT "row", "number", row_label FROM seats WHERE performance_id = $1 ORDER BY position`,
        [performance.id],
      );
      const expected = ['A', 'B', 'Z', 'AA', 'AZ', 'BA', 'ZZ', 'AAA', 'ZZZ', 'AAAA'];
      expect(labelled).toEqual(
        rows.flatMap((row, i) => [1, 2].map((number) => ({ row, number, row_label: expected[i] }))),
      );
      await expect(
        current.query(
          `INSERT INTO seats (performance_id, position, section, "row", "number", grade, price)
           VALUES ($1, 999, 'Floor', 9, 1, 'R', 1000)`,
          [performance.id],
        ),
      ).rejects.toThrow(/row_label/);

      await current.undoLastMigration({ transaction: 'each' });
      expect(await columnsOf(current, 'seats')).not.toContain('row_label');
      expect(
        await current.query('SELECT count(*)::int AS n FROM seats WHERE performance_id = $1', [performance.id]),
      ).toEqual([{ n: rows.length * 2 }]);
    } finally {
      await current.destroy();
    }
  });
});
