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
import { PurchaseSaleChannel1799650000000 } from './1799650000000-PurchaseSaleChannel';

const ONLINE = '00000000-0000-4000-8000-000000000001';
const WINDOW = '00000000-0000-4000-8000-000000000002';

/**
 * Migration PurchaseSaleChannel on real PostgreSQL: its bounded lock wait, a purchase from before
 * reading ONLINE, a box office sale with its method and delivery address, the CHECK, and down.
 */
describe('migration PurchaseSaleChannel (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PurchaseSaleChannel1799650000000, async (old) => {
      ({ userId, performanceId } = await insertAccountAndPerformance(old));
      // A purchase written before the upgrade: an online one.
      await old.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
         VALUES ($1, gen_random_uuid(), $2, $3, 1000, 'KRW', now())`,
        [ONLINE, userId, performanceId],
      );
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const windowSale = (id: string, channel: string, method: string | null) =>
    db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at,
                              sale_channel, payment_method, delivery_email, delivery_name)
       VALUES ($1, gen_random_uuid(), $2, $3, 500, 'KRW', now(), $4, $5, 'w@example.test', 'W')`,
      [id, userId, performanceId, channel, method],
    );

  it('gives up within its lock_timeout while another transaction holds purchases, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'purchases',
      migration: PurchaseSaleChannel1799650000000,
      unchanged: async (other) => {
        expect(
          await other.query(
            `SELECT 1 FROM information_schema.columns WHERE table_name = 'purchases' AND column_name = 'sale_channel'`,
          ),
        ).toEqual([]);
      },
    });
  }, 60_000);

  it('reads a purchase from before as ONLINE; keeps a box office sale with its method; refuses a channel and method that disagree', async () => {
    expect(await runMigrations(db)).toContain(PurchaseSaleChannel1799650000000.name);
    await windowSale(WINDOW, 'BOX_OFFICE', 'CASH');
    expect(
      await db.query(`SELECT id, sale_channel, payment_method, delivery_email FROM purchases ORDER BY id`),
    ).toEqual([
      { id: ONLINE, sale_channel: 'ONLINE', payment_method: null, delivery_email: null },
      { id: WINDOW, sale_channel: 'BOX_OFFICE', payment_method: 'CASH', delivery_email: 'w@example.test' },
    ]);
    for (const [channel, method] of [
      ['BOX_OFFICE', null],
      ['ONLINE', 'CASH'],
      ['BOX_OFFICE', 'CHEQUE'],
      ['PHONE', null],
    ]) {
      await expect(windowSale('00000000-0000-4000-8000-000000000009', channel!, method)).rejects.toMatchObject({
        code: '23514',
      });
    }
  });

  it('goes back down: the columns gone, the purchases kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(
      await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'purchases'
           AND column_name IN ('sale_channel', 'payment_method', 'delivery_email', 'delivery_name')`,
      ),
    ).toEqual([]);
    expect(await db.query(`SELECT id FROM purchases ORDER BY id`)).toEqual([{ id: ONLINE }, { id: WINDOW }]);
  });
});
