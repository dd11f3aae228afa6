import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { MIGRATIONS } from '../migrations';
import { EmailChangeAndAccountNotices1800000160000 } from './1800000160000-EmailChangeAndAccountNotices';

/** Records a delivery without a purchase under `messageId`. */
const delivered = (messageId: string) =>
  `INSERT INTO email_deliveries (message_id, recipient) VALUES ('${messageId}', 'ada@example.test')`;

/**
 * Migration EmailChangeAndAccountNotices on real PostgreSQL: the deliveries recorded before it
 * stay; after it, the e-mail-change and account-notice e-mails may be recorded without a purchase
 * (other kinds still may not), and `email_change_tokens` exists; down puts the check back, dropping
 * only the new kinds' rows.
 */
describe('migration EmailChangeAndAccountNotices (real PostgreSQL)', () => {
  let database: MigratedDatabase;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, EmailChangeAndAccountNotices1800000160000, async (old) => {
      await old.query(delivered('password-reset:00000000-0000-4000-8000-000000000001'));
      await expect(old.query(delivered('account-notice:1'))).rejects.toThrow(/email_deliveries_purchase_id_check/);
    });
  });
  afterAll(async () => database?.close());

  it('lets the new kinds of e-mail be recorded without a purchase, keeps the rows before, and undoes cleanly', async () => {
    const { db } = database;
    await db.runMigrations({ transaction: 'each' });
    await db.query(delivered('account-notice:1'));
    await db.query(delivered('email-change:00000000-0000-4000-8000-000000000002'));
    await expect(db.query(delivered('something-else:1'))).rejects.toThrow(/email_deliveries_purchase_id_check/);
    expect(await db.query(`SELECT count(*)::int AS n FROM email_change_tokens`)).toEqual([{ n: 0 }]);

    await db.undoLastMigration({ transaction: 'each' });
    const kept: { message_id: string }[] = await db.query('SELECT message_id FROM email_deliveries ORDER BY 1');
    expect(kept.map((row) => row.message_id)).toEqual(['password-reset:00000000-0000-4000-8000-000000000001']);
    await expect(db.query(delivered('account-notice:2'))).rejects.toThrow(/email_deliveries_purchase_id_check/);
    await expect(db.query('SELECT 1 FROM email_change_tokens')).rejects.toThrow(/does not exist/);
  });
});
