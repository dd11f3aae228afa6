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
import { WindowRefunds1799720000000 } from './1799720000000-WindowRefunds';

const WINDOW_SALE = '00000000-0000-4000-8000-000000000001';
const OTHER_SALE = '00000000-0000-4000-8000-000000000002';
const NO_PURCHASE = '00000000-0000-4000-8000-000000000009';
const OPERATOR = '00000000-0000-4000-8000-0000000000a1';

/**
 * Migration WindowRefunds on real PostgreSQL: its bounded lock wait (the foreign key to purchases
 * takes SHARE ROW EXCLUSIVE there, which a flush's writes hold off), a box office sale from before
 * owed a refund then paid, the table's checks and key, and down.
 */
describe('migration WindowRefunds (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let performanceId: number;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, WindowRefunds1799720000000, async (old) => {
      const account = await insertAccountAndPerformance(old);
      performanceId = account.performanceId;
      // Two box office sales written before the upgrade, canceled with their show.
      for (const id of [WINDOW_SALE, OTHER_SALE]) {
        await old.query(
          `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at, status,
                                  canceled_at, sale_channel, payment_method)
           VALUES ($1, gen_random_uuid(), $2, $3, 4550, 'EUR', now(), 'CANCELED', now(), 'BOX_OFFICE', 'CASH')`,
          [id, account.userId, performanceId],
        );
      }
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const table = () => db.query(`SELECT to_regclass('window_refunds') IS NOT NULL AS present`);
  const owe = (
    purchaseId: string,
    fields: { amount?: number; method?: string; status?: string; paidAt?: boolean } = {},
  ) =>
    db.query(
      `INSERT INTO window_refunds (purchase_id, performance_id, amount, currency, payment_method, status, paid_at)
       VALUES ($1, $2, $3, 'EUR', $4, $5, CASE WHEN $6 THEN clock_timestamp() END)`,
      [
        purchaseId,
        performanceId,
        fields.amount ?? 4550,
        fields.method ?? 'CASH',
        fields.status ?? 'OWED',
        fields.paidAt ?? false,
      ],
    );

  it('gives up within its lock_timeout while another transaction writes purchases, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'purchases',
      migration: WindowRefunds1799720000000,
      // A flush in flight: its writes hold ROW EXCLUSIVE on purchases.
      holdWith: `UPDATE purchases SET amount = amount WHERE id = '${WINDOW_SALE}'`,
      unchanged: async (other) =>
        expect(await other.query(`SELECT to_regclass('window_refunds') IS NOT NULL AS present`)).toEqual([
          { present: false },
        ]),
    });
  }, 60_000);

  it("records a sale from before owed at the window, then paid; refuses what the table's checks and keys refuse", async () => {
    expect(await runMigrations(db)).toContain(WindowRefunds1799720000000.name);
    await owe(WINDOW_SALE);
    await db.query(
      `UPDATE window_refunds SET status = 'PAID', paid_at = clock_timestamp(), paid_by_id = $2, paid_by_email = 'ops@example.test'
        WHERE purchase_id = $1 AND status = 'OWED'`,
      [WINDOW_SALE, OPERATOR],
    );
    expect(
      await db.query(
        `SELECT purchase_id, amount::int, currency, payment_method, status, paid_by_id, owed_at <= paid_at AS ordered
           FROM window_refunds`,
      ),
    ).toEqual([
      {
        purchase_id: WINDOW_SALE,
        amount: 4550,
        currency: 'EUR',
        payment_method: 'CASH',
        status: 'PAID',
        paid_by_id: OPERATOR,
        ordered: true,
      },
    ]);
    // One row a purchase: a replayed cancellation's insert conflicts.
    await expect(owe(WINDOW_SALE)).rejects.toMatchObject({ code: '23505' });
    // Only a purchase's refund.
    await expect(owe(NO_PURCHASE)).rejects.toMatchObject({ code: '23503' });
    for (const refused of [
      { amount: 0 },
      { method: 'CHEQUE' },
      { status: 'LOST' },
      { status: 'PAID' },
      { status: 'OWED', paidAt: true },
    ]) {
      await expect(owe(OTHER_SALE, refused)).rejects.toMatchObject({ code: '23514' });
    }
    // The list's index: a performance's refunds by status and owed time.
    expect(await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'window_refunds_performance'`)).toEqual([
      { indexdef: expect.stringContaining('(performance_id, status, owed_at, purchase_id)') },
    ]);
  });

  it('goes back down: the table gone, the purchases kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(await table()).toEqual([{ present: false }]);
    expect(await db.query(`SELECT id FROM purchases ORDER BY id`)).toEqual([{ id: WINDOW_SALE }, { id: OTHER_SALE }]);
  });
});
