import { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  explainAnalyzed,
  MigratedDatabase,
  openMigratedDatabase,
  pagesTouched,
  PlanNode,
  rowsRead,
  scansOf,
} from '@app/testing';
import {
  PerformanceCancellationsRepository,
  REOPEN_WITH_PAID,
} from '../repositories/performance-cancellations.repository';

/** Purchases of the canceled, refunded show: all CANCELED. */
const REFUNDED_PURCHASES = 5000;

/**
 * The look for a completed cancellation with a paid purchase again (reopenWithPaid), which every
 * `batch` process runs every 5 s, read by EXPLAIN ANALYZE (rolled back) on a refunded show of
 * REFUNDED_PURCHASES purchases: through purchases_paid_performance it reads no purchase of it;
 * through purchases_performance (the index dropped inside the transaction) it read every one.
 */
describe('migration PurchasesPaidByPerformance: the reopen look reads no purchase of a refunded show (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  let refunded: number;
  let onSale: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    const [{ id: userId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('buyer@example.test', 'buyer@example.test', 'Buyer', 'not-a-hash') RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Show', 'Hall', 'KRW') RETURNING id`,
    );
    const performance = async (status: string): Promise<number> =>
      (
        await db.query(
          `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats, status)
           VALUES ($1, '2030-03-01T10:00:00Z', now(), 0, $2) RETURNING id`,
          [event.id, status],
        )
      )[0].id;
    refunded = await performance('CANCELED');
    onSale = await performance('ON_SALE');
    const purchases = (performanceId: number, count: number, status: string) =>
      db.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at, canceled_at)
         SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, 1000, 'KRW', 'ch', $4::purchase_status, now(),
                CASE WHEN $4 = 'CANCELED' THEN now() END
         FROM generate_series(1, $3)`,
        [userId, performanceId, count, status],
      );
    await purchases(refunded, REFUNDED_PURCHASES, 'CANCELED');
    await purchases(onSale, 2000, 'PAID');
    await db.query(
      `INSERT INTO performance_cancellations (performance_id, completed_at) VALUES ($1, clock_timestamp())`,
      [refunded],
    );
    // Statistics only: a busy server's open snapshots may keep VACUUM from the visibility map.
    await db.query('ANALYZE purchases');
    await db.query('ANALYZE performance_cancellations');
  });
  afterAll(() => close?.());

  /** The reopen statement's plan (with BUFFERS), run and rolled back, after `before` in the same transaction. */
  const plan = (before?: (manager: EntityManager) => Promise<unknown>): Promise<PlanNode> =>
    explainAnalyzed(db, REOPEN_WITH_PAID, { buffers: true, before });

  it('probes the partial index of paid purchases: no purchase of the refunded show read, a handful of pages', async () => {
    const scans = scansOf(await plan(), 'purchases');
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) {
      expect(scan['Index Name'], JSON.stringify(scan)).toBe('purchases_paid_performance');
      expect(scan['Actual Rows']).toBe(0);
      expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(pagesTouched(scan)).toBeLessThan(10);
    }
  });

  it('read every purchase of the refunded show through purchases_performance, before this index', async () => {
    const root = await plan((manager) => manager.query('DROP INDEX purchases_paid_performance'));
    expect(rowsRead(root, 'purchases')).toBeGreaterThanOrEqual(REFUNDED_PURCHASES);
  });

  it('still finds a paid purchase of a completed cancellation and opens it again', async () => {
    const cancellations = new PerformanceCancellationsRepository(db);
    expect(await cancellations.reopenWithPaid()).toEqual([]);
    await db.query(
      `UPDATE purchases SET status = 'PAID', canceled_at = NULL WHERE id = (
      SELECT id FROM purchases WHERE performance_id = $1 LIMIT 1)`,
      [refunded],
    );
    expect(await cancellations.reopenWithPaid()).toEqual([refunded]);
    expect((await cancellations.find(refunded))?.completedAt).toBeNull();
  });
});
