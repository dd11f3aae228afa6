import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGivesUpOnLockedTable, MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PaymentRefundedNotices1800000180000 } from './1800000180000-PaymentRefundedNotices';

/** Records a delivery without a purchase under `messageId`. */
const delivered = (messageId: string) =>
  `INSERT INTO email_deliveries (message_id, recipient) VALUES ('${messageId}', 'ada@example.test')`;

const REFUND_NOTICE = 'payment-refunded:00000000-0000-4000-8000-000000000003';

/**
 * Migration PaymentRefundedNotices on real PostgreSQL: the deliveries recorded before it stay;
 * after it, a refund notice may be recorded without a purchase (other kinds still may not); down
 * puts the check back, dropping only the refund notices' rows; its ACCESS EXCLUSIVE lock on
 * `email_deliveries` (the mailer's every claim) is waited for only its lock_timeout, and its
 * validation scans after that lock is let go (a claim goes on meanwhile).
 */
describe('migration PaymentRefundedNotices (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PaymentRefundedNotices1800000180000, async (old) => {
      await old.query(delivered('account-notice:1'));
      await expect(old.query(delivered(REFUND_NOTICE))).rejects.toThrow(/email_deliveries_purchase_id_check/);
    });
  });
  afterAll(async () => database?.close());

  it('lets a refund notice be recorded without a purchase, keeps the rows before, and undoes cleanly', async () => {
    const { db } = database;
    await db.runMigrations({ transaction: 'each' });
    await db.query(delivered(REFUND_NOTICE));
    await expect(db.query(delivered('something-else:1'))).rejects.toThrow(/email_deliveries_purchase_id_check/);

    await db.undoLastMigration({ transaction: 'each' });
    const kept: { message_id: string }[] = await db.query('SELECT message_id FROM email_deliveries ORDER BY 1');
    expect(kept.map((row) => row.message_id)).toEqual(['account-notice:1']);
    await expect(db.query(delivered(REFUND_NOTICE))).rejects.toThrow(/email_deliveries_purchase_id_check/);
  });

  it('gives up within its lock_timeout while another transaction holds email_deliveries, changes nothing, and says to retry', async () => {
    const scratch = await openDatabaseBefore(MIGRATIONS, PaymentRefundedNotices1800000180000);
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'email_deliveries',
        migration: PaymentRefundedNotices1800000180000,
        unchanged: async (other) =>
          expect(other.query(delivered(REFUND_NOTICE))).rejects.toThrow(/email_deliveries_purchase_id_check/),
      });
      expect(await runMigrations(scratch.db)).toContain(PaymentRefundedNotices1800000180000.name);
    } finally {
      await scratch.close();
    }
  }, 60_000);

  it("validates the check without holding the lock that stops the mailer's claims", async () => {
    const scratch = await openDatabaseBefore(MIGRATIONS, PaymentRefundedNotices1800000180000);
    try {
      const seen: string[] = [];
      // Whether the validation ran inside the transaction whose DROP took ACCESS EXCLUSIVE.
      const runner = scratch.db.createQueryRunner();
      const query = runner.query.bind(runner);
      runner.query = (async (sql: string, parameters?: unknown[]) => {
        if (/VALIDATE CONSTRAINT/.test(sql)) seen.push(runner.isTransactionActive ? 'in transaction' : 'alone');
        return query(sql, parameters);
      }) as typeof runner.query;
      try {
        // As the migration runner runs it: in a transaction of its own unless it says otherwise.
        const migration = new PaymentRefundedNotices1800000180000() as PaymentRefundedNotices1800000180000 & {
          transaction?: boolean;
        };
        if (migration.transaction !== false) await runner.startTransaction();
        await migration.up(runner);
        if (runner.isTransactionActive) await runner.commitTransaction();
      } finally {
        await runner.release();
      }
      expect(seen).toEqual(['alone']);
      await scratch.db.query(delivered(REFUND_NOTICE));
      const [{ valid }] = await scratch.db.query(
        `SELECT convalidated AS valid FROM pg_constraint WHERE conname = 'email_deliveries_purchase_id_check'`,
      );
      expect(valid).toBe(true);
    } finally {
      await scratch.close();
    }
  });
});
