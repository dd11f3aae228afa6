import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { MIGRATIONS } from '../migrations';
import { PaymentRefundedNotices1800000180000 } from './1800000180000-PaymentRefundedNotices';

/** Records a delivery without a purchase under `messageId`. */
const delivered = (messageId: string) =>
  `INSERT INTO email_deliveries (message_id, recipient) VALUES ('${messageId}', 'ada@example.test')`;

const REFUND_NOTICE = 'payment-refunded:00000000-0000-4000-8000-000000000003';

/**
 * Migration PaymentRefundedNotices on real PostgreSQL: the deliveries recorded before it stay;
 * after it, a refund notice may be recorded without a purchase (other kinds still may not); down
 * puts the check back, dropping only the refund notices' rows.
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
});
