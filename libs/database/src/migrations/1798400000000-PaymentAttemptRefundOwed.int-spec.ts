import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDataSource, openDatabaseWith, TestEnv } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PaymentAttemptRefundOwed1798400000000 } from './1798400000000-PaymentAttemptRefundOwed';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PaymentAttemptRefundOwed1798400000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(PaymentAttemptRefundOwed1798400000000) + 1);

describe('migration PaymentAttemptRefundOwed (real PostgreSQL)', () => {
  let env: TestEnv;
  let old: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ env, db: old, close } = await openDatabaseWith(BEFORE));
  });
  afterAll(() => close?.());

  it('owes the refund of every canceled purchase completed before it, indexes REFUND_OWED; down undoes both', async () => {
    const [user] = await old.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('old@example.test', 'old@example.test', 'Old', 'not-a-hash') RETURNING id`,
    );
    const [event] = await old.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Old', 'Hall', 'KRW') RETURNING id`,
    );
    const [performance] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 0) RETURNING id`,
      [event.id],
    );
    /** A purchase (`purchaseStatus`, or none) with its attempt (`status`, no charge noted). */
    const attempt = async (status: string, purchaseStatus: 'PAID' | 'CANCELED' | null) => {
      const id = randomUUID();
      const holdId = randomUUID();
      if (purchaseStatus) {
        await old.query(
          `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, canceled_at, created_at)
           VALUES ($1, $2, $3, $4, 1000, 'KRW', $6, $5, $7, now())`,
          [
            id,
            holdId,
            user.id,
            performance.id,
            purchaseStatus,
            `ch_${id}`,
            purchaseStatus === 'CANCELED' ? new Date() : null,
          ],
        );
      }
      await old.query(
        `INSERT INTO payment_attempts
           (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status, resolved_at)
         VALUES ($1, $2, $3, $4, 1000, 'KRW', $6, $5, now())`,
        [id, holdId, user.id, performance.id, status, id],
      );
      return id;
    };
    const canceled = await attempt('COMPLETED', 'CANCELED');
    const paid = await attempt('COMPLETED', 'PAID');
    const refunded = await attempt('REFUNDED', null);
    const statusOf = async (db: DataSource, id: string) =>
      (await db.query(`SELECT status, charge_id, resolved_at FROM payment_attempts WHERE purchase_id = $1`, [id]))[0];

    const current = await migrationDataSource(env, UP_TO).initialize();
    try {
      expect(await runMigrations(current)).toContain(PaymentAttemptRefundOwed1798400000000.name);
      expect(await statusOf(current, canceled)).toEqual({
        status: 'REFUND_OWED',
        charge_id: `ch_${canceled}`,
        resolved_at: null,
      });
      expect((await statusOf(current, paid)).status).toBe('COMPLETED');
      expect((await statusOf(current, refunded)).status).toBe('REFUNDED');
      const [index] = await current.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'payment_attempts_open'`);
      expect(index.indexdef).toContain('REFUND_OWED');

      await current.undoLastMigration({ transaction: 'each' });
      expect((await statusOf(current, canceled)).status).toBe('COMPLETED');
      const [before] = await current.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'payment_attempts_open'`);
      expect(before.indexdef).not.toContain('REFUND_OWED');
    } finally {
      await current.destroy();
    }
  });
});
