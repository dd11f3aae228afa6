import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PurchaseCompNote1799610000000 } from './1799610000000-PurchaseCompNote';

const SALE = '00000000-0000-4000-8000-000000000001';
const COMP = '00000000-0000-4000-8000-000000000002';

/** Migration PurchaseCompNote on real PostgreSQL: its bounded lock wait, the note of a comp, and down. */
describe('migration PurchaseCompNote (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PurchaseCompNote1799610000000, async (old) => {
      ({ userId, performanceId } = await insertAccountAndPerformance(old));
      // A sale written before the upgrade: it stays a sale.
      await purchase(old, SALE, 1000);
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  function purchase(on: DataSource, id: string, amount: number, compNote?: string): Promise<unknown> {
    return compNote === undefined
      ? on.query(
          `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
           VALUES ($1, gen_random_uuid(), $2, $3, $4, 'KRW', now())`,
          [id, userId, performanceId, amount],
        )
      : on.query(
          `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at, comp_note)
           VALUES ($1, gen_random_uuid(), $2, $3, $4, 'KRW', now(), $5)`,
          [id, userId, performanceId, amount, compNote],
        );
  }

  it('gives up within its lock_timeout while another transaction holds purchases, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'purchases',
      migration: PurchaseCompNote1799610000000,
      unchanged: async (other) => {
        expect(
          await other.query(
            `SELECT 1 FROM information_schema.columns WHERE table_name = 'purchases' AND column_name = 'comp_note'`,
          ),
        ).toEqual([]);
      },
    });
  }, 60_000);

  it('adds the note: a sale from before has none, a comp keeps its own', async () => {
    expect(await runMigrations(db)).toContain(PurchaseCompNote1799610000000.name);
    await purchase(db, COMP, 0, 'press: Daily Planet');
    expect(await db.query(`SELECT id, amount::int, comp_note FROM purchases ORDER BY id`)).toEqual([
      { id: SALE, amount: 1000, comp_note: null },
      { id: COMP, amount: 0, comp_note: 'press: Daily Planet' },
    ]);
  });

  it('goes back down: the column gone, the purchases kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(
      await db.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'purchases' AND column_name = 'comp_note'`,
      ),
    ).toEqual([]);
    expect(await db.query(`SELECT id FROM purchases ORDER BY id`)).toEqual([{ id: SALE }, { id: COMP }]);
  });
});
