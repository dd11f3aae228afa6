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
import { PurchaseRefundsPurchaseFk1799670000000 } from './1799670000000-PurchaseRefundsPurchaseFk';

const PURCHASE = '00000000-0000-4000-8000-000000000001';
const NO_PURCHASE = '00000000-0000-4000-8000-000000000009';
const REFUND = '00000000-0000-4000-8000-0000000000a1';

/**
 * Migration PurchaseRefundsPurchaseFk on real PostgreSQL: its bounded lock wait, a partial refund
 * from before kept (and validated), a refund of no purchase refused from then on, and down.
 */
describe('migration PurchaseRefundsPurchaseFk (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PurchaseRefundsPurchaseFk1799670000000, async (old) => {
      const { userId, performanceId } = await insertAccountAndPerformance(old);
      // A purchase and a partial refund of it, written before the upgrade.
      await old.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
         VALUES ($1, gen_random_uuid(), $2, $3, 1000, 'KRW', now())`,
        [PURCHASE, userId, performanceId],
      );
      await refund(old, REFUND, PURCHASE);
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  function refund(on: DataSource, id: string, purchaseId: string): Promise<unknown> {
    return on.query(
      `INSERT INTO purchase_refunds (id, purchase_id, seat_ids, amount, currency, status, refunded_at)
       VALUES ($1, $2, '{1}', 500, 'KRW', 'OWED', now())`,
      [id, purchaseId],
    );
  }
  const key = () =>
    db.query(
      `SELECT convalidated FROM pg_constraint WHERE conname = 'purchase_refunds_purchase_fk'
          AND conrelid = 'purchase_refunds'::regclass`,
    );

  it('gives up within its lock_timeout while another transaction writes purchases, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'purchases',
      migration: PurchaseRefundsPurchaseFk1799670000000,
      // A flush in flight: its writes hold ROW EXCLUSIVE on purchases.
      holdWith: `UPDATE purchases SET amount = amount WHERE id = '${PURCHASE}'`,
      unchanged: async () => expect(await key()).toEqual([]),
    });
  }, 60_000);

  it('keeps the refund from before under a validated key; refuses a refund of no purchase', async () => {
    expect(await runMigrations(db)).toContain(PurchaseRefundsPurchaseFk1799670000000.name);
    expect(await key()).toEqual([{ convalidated: true }]);
    expect(await db.query(`SELECT id, purchase_id FROM purchase_refunds`)).toEqual([
      { id: REFUND, purchase_id: PURCHASE },
    ]);
    await expect(refund(db, '00000000-0000-4000-8000-0000000000a2', NO_PURCHASE)).rejects.toMatchObject({
      code: '23503',
    });
    // Nor is a purchase with a refund deleted.
    await expect(db.query(`DELETE FROM purchases WHERE id = $1`, [PURCHASE])).rejects.toMatchObject({ code: '23503' });
  });

  it('goes back down: the key gone, the refund kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(await key()).toEqual([]);
    expect(await db.query(`SELECT id FROM purchase_refunds`)).toEqual([{ id: REFUND }]);
  });
});
