import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, dropDatabase, migrationDataSource, TestEnv } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PurchaseCompNote1799610000000 } from './1799610000000-PurchaseCompNote';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchaseCompNote1799610000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PurchaseCompNote1799610000000) + 1);

const SALE = '00000000-0000-4000-8000-000000000001';
const COMP = '00000000-0000-4000-8000-000000000002';

/** Migration PurchaseCompNote on real PostgreSQL: its bounded lock wait, the note of a comp, and down. */
describe('migration PurchaseCompNote (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    await ensureDatabase(env.DATABASE_URL);
    const old = await migrationDataSource(env, BEFORE).initialize();
    await runMigrations(old);
    [{ id: userId }] = await old.query(
      `INSERT INTO users (email, email_key, name, password_hash) VALUES ('a@example.test', 'a@example.test', 'A', 'x')
       RETURNING id`,
    );
    const [event] = await old.query(
      `INSERT INTO events (title, venue, currency) VALUES ('S', 'H', 'KRW') RETURNING id`,
    );
    [{ id: performanceId }] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats) VALUES ($1, now() + interval '1 day', now(), 1)
       RETURNING id`,
      [event.id],
    );
    // A sale written before the upgrade: it stays a sale.
    await purchase(old, SALE, 1000);
    await old.destroy();
    db = await migrationDataSource(env, UP_TO).initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

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
    const other = await migrationDataSource(env, []).initialize();
    const holding = other.createQueryRunner();
    try {
      await holding.startTransaction();
      await holding.query('SELECT count(*) FROM purchases');
      const failure: unknown = await runMigrations(db).then(
        () => 'migrated',
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/rolled back, nothing changed: .*"purchases".*Retry/);
      expect((failure as Error).cause).toMatchObject({ code: '55P03' });
      expect(
        await other.query(
          `SELECT 1 FROM information_schema.columns WHERE table_name = 'purchases' AND column_name = 'comp_note'`,
        ),
      ).toEqual([]);
    } finally {
      if (holding.isTransactionActive) await holding.rollbackTransaction();
      await holding.release();
      await other.destroy();
    }
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
