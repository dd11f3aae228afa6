import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, dropDatabase, migrationDataSource, TestEnv } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PurchaseRefundsPurchaseFk1799670000000 } from './1799670000000-PurchaseRefundsPurchaseFk';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchaseRefundsPurchaseFk1799670000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchaseRefundsPurchaseFk1799670000000) + 1);

const PURCHASE = '00000000-0000-4000-8000-000000000001';
const NO_PURCHASE = '00000000-0000-4000-8000-000000000009';
const REFUND = '00000000-0000-4000-8000-0000000000a1';

/**
 * Migration PurchaseRefundsPurchaseFk on real PostgreSQL: its bounded lock wait, a partial refund
 * from before kept (and validated), a refund of no purchase refused from then on, and down.
 */
describe('migration PurchaseRefundsPurchaseFk (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    await ensureDatabase(env.DATABASE_URL);
    const old = await migrationDataSource(env, BEFORE).initialize();
    await runMigrations(old);
    const [{ id: userId }] = await old.query(
      `INSERT INTO users (email, email_key, name, password_hash) VALUES ('a@example.test', 'a@example.test', 'A', 'x')
       RETURNING id`,
    );
    const [event] = await old.query(
      `INSERT INTO events (title, venue, currency) VALUES ('S', 'H', 'KRW') RETURNING id`,
    );
    const [{ id: performanceId }] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats) VALUES ($1, now() + interval '1 day', now(), 2)
       RETURNING id`,
      [event.id],
    );
    // A purchase and a partial refund of it, written before the upgrade.
    await old.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
       VALUES ($1, gen_random_uuid(), $2, $3, 1000, 'KRW', now())`,
      [PURCHASE, userId, performanceId],
    );
    await refund(old, REFUND, PURCHASE);
    await old.destroy();
    db = await migrationDataSource(env, UP_TO).initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

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
    const other = await migrationDataSource(env, []).initialize();
    const holding = other.createQueryRunner();
    try {
      await holding.startTransaction();
      // A flush in flight: its writes hold ROW EXCLUSIVE on purchases.
      await holding.query(`UPDATE purchases SET amount = amount WHERE id = $1`, [PURCHASE]);
      const failure: unknown = await runMigrations(db).then(
        () => 'migrated',
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/rolled back, nothing changed: .*"purchases".*Retry/);
      expect(await key()).toEqual([]);
    } finally {
      if (holding.isTransactionActive) await holding.rollbackTransaction();
      await holding.release();
      await other.destroy();
    }
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
