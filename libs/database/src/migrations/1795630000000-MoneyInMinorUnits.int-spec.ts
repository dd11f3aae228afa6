import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { MoneyInMinorUnits1795630000000 } from './1795630000000-MoneyInMinorUnits';

const BEFORE_MONEY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(MoneyInMinorUnits1795630000000));
/** Up to this migration and no further, so that undoing the last one undoes this one. */
const UP_TO_MONEY = MIGRATIONS.slice(0, MIGRATIONS.indexOf(MoneyInMinorUnits1795630000000) + 1);

/** Column type of `table.column`, as information_schema names it (null when the column is gone). */
async function columnType(db: DataSource, table: string, column: string): Promise<string | null> {
  const rows: { data_type: string }[] = await db.query(
    'SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2',
    [table, column],
  );
  return rows[0]?.data_type ?? null;
}

/**
 * Rows as the code before money in minor units wrote them: an event without a currency, seats
 * priced 1050 (which that code called whole units), and a purchase of two of them stored as
 * `2100.00` with its purchase-completed message in the outbox.
 */
async function seedOldShape(db: DataSource, amount = '2100.00'): Promise<{ eventId: number; purchaseId: string }> {
  const [user] = await db.query(
    `INSERT INTO users (email, name, password_hash) VALUES ($1, 'Old Buyer', 'not-a-hash') RETURNING id`,
    [`${randomUUID()}@example.test`],
  );
  const [event] = await db.query(`INSERT INTO events (title, venue) VALUES ('Old show', 'Old hall') RETURNING id`);
  const [performance] = await db.query(
    `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
     VALUES ($1, '2027-03-01T10:00:00Z', now(), 2) RETURNING id`,
    [event.id],
  );
  await db.query(
    `INSERT INTO seats (performance_id, position, section, "row", "number", grade, price)
     VALUES ($1, 1, 'A', 1, 1, 'R', 1050), ($1, 2, 'A', 1, 2, 'R', 1050)`,
    [performance.id],
  );
  const purchaseId = randomUUID();
  await db.query(
    `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, created_at)
     VALUES ($1, $2, $3, $4, $5, now())`,
    [purchaseId, randomUUID(), user.id, performance.id, amount],
  );
  await db.query(`INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, 'purchase.completed', $2)`, [
    `purchase-completed:${purchaseId}`,
    {
      purchaseId,
      userId: user.id,
      performanceId: performance.id,
      seatIds: [1, 2],
      amount: 2100,
      createdAt: new Date().toISOString(),
    },
  ]);
  return { eventId: event.id, purchaseId };
}

describe('migration MoneyInMinorUnits (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE_MONEY));
  });
  afterAll(() => close?.());

  it('gives existing events KRW, keeps each amount as its integer in minor units, and goes back down', async () => {
    const { eventId, purchaseId } = await seedOldShape(old);
    const current = await migrationDataSource(env, UP_TO_MONEY).initialize();
    try {
      expect(await runMigrations(current)).toContain(MoneyInMinorUnits1795630000000.name);

      expect(await columnType(current, 'purchases', 'amount')).toBe('bigint');
      const [event] = await current.query('SELECT currency FROM events WHERE id = $1', [eventId]);
      expect(event.currency).toBe('KRW');
      const [purchase] = await current.query('SELECT amount, currency FROM purchases WHERE id = $1', [purchaseId]);
      // Two seats of 1050: 2100 minor units (₩2,100), not 210000.
      expect(purchase).toEqual({ amount: '2100', currency: 'KRW' });
      const [message] = await current.query('SELECT payload FROM outbox WHERE message_id = $1', [
        `purchase-completed:${purchaseId}`,
      ]);
      expect(message.payload).toMatchObject({ amount: 2100, currency: 'KRW' });
      const seatPrices = await current.query('SELECT DISTINCT price FROM seats');
      expect(seatPrices).toEqual([{ price: 1050 }]);
      // New events must name their currency: no default hides a forgotten one.
      await expect(current.query(`INSERT INTO events (title, venue) VALUES ('x', 'y')`)).rejects.toThrow(/currency/);

      await current.undoLastMigration({ transaction: 'each' });
      expect(await columnType(current, 'purchases', 'amount')).toBe('numeric');
      expect(await columnType(current, 'purchases', 'currency')).toBeNull();
      expect(await columnType(current, 'events', 'currency')).toBeNull();
      const [back] = await current.query('SELECT amount FROM purchases WHERE id = $1', [purchaseId]);
      expect(back.amount).toBe('2100.00');
      const [oldMessage] = await current.query('SELECT payload FROM outbox WHERE message_id = $1', [
        `purchase-completed:${purchaseId}`,
      ]);
      expect(oldMessage.payload).not.toHaveProperty('currency');
    } finally {
      await current.destroy();
    }
  });

  it('stops, naming the purchase, rather than round an amount with a fraction', async () => {
    const { purchaseId } = await seedOldShape(old, '10.50');
    const current = await migrationDataSource(env, UP_TO_MONEY).initialize();
    try {
      await expect(runMigrations(current)).rejects.toThrow(new RegExp(`${purchaseId} \\(10\\.50\\)`));
      // Nothing changed: the migration is not recorded and the column keeps its type.
      expect(await columnType(current, 'purchases', 'amount')).toBe('numeric');
      expect(await columnType(current, 'events', 'currency')).toBeNull();
    } finally {
      await current.destroy();
    }
  });
});
