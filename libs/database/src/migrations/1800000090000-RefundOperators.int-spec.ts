import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { RefundOperators1800000090000 } from './1800000090000-RefundOperators';

const NEW_COLUMNS = `SELECT column_name FROM information_schema.columns
  WHERE (table_name, column_name) IN (('purchases', 'canceled_by_id'), ('purchase_refunds', 'refunded_by_id'))`;

/** The operators of the audit rows: the clerk of the partial refunds, the admin of the whole refunds. */
const CLERK = '00000000-0000-4000-8000-0000000000c1';
const ADMIN = '00000000-0000-4000-8000-0000000000a1';

/** Purchases written before the upgrade. */
const P = {
  /** A window sale refunded in part: an audit row of a version before `refundId` (seats matched). */
  partialOld: '00000000-0000-4000-8000-000000000001',
  /** A window sale refunded in part: an audit row naming its refund's id. */
  partial: '00000000-0000-4000-8000-000000000002',
  /** A window sale refunded in part (seat 3, by the clerk), then whole (the rest, by the admin). */
  whole: '00000000-0000-4000-8000-000000000003',
  /** An online purchase an operator refunded whole: not the window's. */
  online: '00000000-0000-4000-8000-000000000004',
  /** A window sale refunded in part whose api died before its audit row. */
  unaudited: '00000000-0000-4000-8000-000000000005',
};
const R = {
  partialOld: '00000000-0000-4000-8000-0000000000f1',
  partial: '00000000-0000-4000-8000-0000000000f2',
  wholeBefore: '00000000-0000-4000-8000-0000000000f3',
  unaudited: '00000000-0000-4000-8000-0000000000f5',
};

/**
 * Migration RefundOperators on real PostgreSQL: the operator of each refund an audit row names is
 * written to the refund's own record (partial: `purchase_refunds.refunded_by_id`; whole, of a box
 * office sale: `purchases.canceled_by_id`), nothing else.
 */
describe('migration RefundOperators (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, RefundOperators1800000090000, async (old) => {
      const { userId, performanceId } = await insertAccountAndPerformance(old);
      for (const [id, status, boxOffice] of [
        [P.partialOld, 'PAID', true],
        [P.partial, 'PAID', true],
        [P.whole, 'CANCELED', true],
        [P.online, 'CANCELED', false],
        [P.unaudited, 'PAID', true],
      ] as const) {
        await old.query(
          `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, status, canceled_at, created_at,
                                  sale_channel, payment_method)
           VALUES ($1, gen_random_uuid(), $2, $3, 3000, 'KRW', $4, $5, now(), $6, $7)`,
          [
            id,
            userId,
            performanceId,
            status,
            status === 'CANCELED' ? new Date() : null,
            boxOffice ? 'BOX_OFFICE' : 'ONLINE',
            boxOffice ? 'CASH' : null,
          ],
        );
      }
      for (const [id, purchaseId, seatIds] of [
        [R.partialOld, P.partialOld, [2, 1]],
        [R.partial, P.partial, [2]],
        [R.wholeBefore, P.whole, [3]],
        [R.unaudited, P.unaudited, [1]],
      ] as const) {
        await old.query(
          `INSERT INTO purchase_refunds (id, purchase_id, seat_ids, amount, currency, status, refunded_at)
           VALUES ($1, $2, $3, 1000, 'KRW', 'REFUNDED', now())`,
          [id, purchaseId, seatIds],
        );
      }
      const audit = (actor: string, subject: string, details: object) =>
        old.query(
          `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details)
           VALUES ($1, 'op@example.test', 'purchase.refund', $2, $3)`,
          [actor, subject, JSON.stringify({ refundMethod: 'CASH', currency: 'KRW', ...details })],
        );
      // Seats in another order than the row's: the same refund.
      await audit(CLERK, P.partialOld, { seatIds: [1, 2], amount: 2000 });
      await audit(CLERK, P.partial, { seatIds: [2], amount: 1000, partial: true, refundId: R.partial });
      await audit(CLERK, P.whole, { seatIds: [3], amount: 1000 });
      await audit(ADMIN, P.whole, { seatIds: [1, 2], amount: 2000, partial: false });
      await audit(ADMIN, P.online, { seatIds: [1], amount: 3000, refundMethod: 'PAYMENT_GATEWAY', partial: false });
      // Another action on a purchase: not a refund.
      await old.query(
        `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details)
         VALUES ($1, 'op@example.test', 'purchase.note', $2, '{}')`,
        [ADMIN, P.unaudited],
      );
    });
  });
  afterAll(() => database?.close());

  it('gives up within its lock_timeout while another transaction holds purchase_refunds, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, database.db, {
      table: 'purchase_refunds',
      migration: RefundOperators1800000090000,
      unchanged: async (other) => expect(await other.query(NEW_COLUMNS)).toEqual([]),
    });
    expect(await runMigrations(database.db)).toContain(RefundOperators1800000090000.name);
  }, 60_000);

  it("writes each audited refund's operator to the refund's own record, and nothing for the others", async () => {
    expect(await database.db.query(`SELECT id, refunded_by_id FROM purchase_refunds ORDER BY id`)).toEqual([
      { id: R.partialOld, refunded_by_id: CLERK },
      { id: R.partial, refunded_by_id: CLERK },
      { id: R.wholeBefore, refunded_by_id: CLERK },
      { id: R.unaudited, refunded_by_id: null },
    ]);
    expect(await database.db.query(`SELECT id, canceled_by_id FROM purchases ORDER BY id`)).toEqual([
      { id: P.partialOld, canceled_by_id: null },
      { id: P.partial, canceled_by_id: null },
      { id: P.whole, canceled_by_id: ADMIN },
      { id: P.online, canceled_by_id: null },
      { id: P.unaudited, canceled_by_id: null },
    ]);
  });

  it('down drops the columns', async () => {
    const runner = database.db.createQueryRunner();
    try {
      await new RefundOperators1800000090000().down(runner);
    } finally {
      await runner.release();
    }
    expect(await database.db.query(NEW_COLUMNS)).toEqual([]);
  });
});
