import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGivesUpOnLockedTable, MigratedDatabase, openDatabaseBefore } from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TicketTransfers1799400000000 } from './1799400000000-TicketTransfers';

describe('migration TicketTransfers (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, TicketTransfers1799400000000, async (old) => {
      // A delivery of each kind the check allowed before: they stay allowed.
      await old.query(
        `INSERT INTO email_deliveries (message_id, purchase_id, recipient)
         VALUES ('password-reset:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f', NULL, 'a@example.com'),
                ('email-verification:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f', NULL, 'a@example.com')`,
      );
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const columns = async (table: string): Promise<Record<string, { nullable: string; default: string | null }>> =>
    Object.fromEntries(
      (
        await db.query(
          `SELECT column_name, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1`,
          [table],
        )
      ).map((c: { column_name: string; is_nullable: string; column_default: string | null }) => [
        c.column_name,
        { nullable: c.is_nullable, default: c.column_default },
      ]),
    );
  const deliver = (messageId: string) =>
    db.query(`INSERT INTO email_deliveries (message_id, purchase_id, recipient) VALUES ($1, NULL, 'a@example.com')`, [
      messageId,
    ]);

  it('gives up within its lock_timeout while another transaction holds tickets, changes nothing, and says to retry', async () => {
    // A long transaction reading tickets (a report, a stuck session): an ALTER waiting behind it
    // would queue every check-in, ticket read and flush behind itself until that transaction ends.
    const scratch = await openDatabaseBefore(MIGRATIONS, TicketTransfers1799400000000);
    try {
      await expectGivesUpOnLockedTable(scratch.env, scratch.db, {
        table: 'tickets',
        migration: TicketTransfers1799400000000,
        unchanged: async (other) => {
          expect(
            await other.query(
              `SELECT 1 FROM information_schema.columns WHERE table_name = 'tickets' AND column_name = 'code_version'`,
            ),
          ).toEqual([]);
        },
      });
      // A retry once tickets is free goes through.
      expect(await runMigrations(scratch.db)).toContain(TicketTransfers1799400000000.name);
    } finally {
      await scratch.close();
    }
  }, 90_000);

  it('gives tickets a holder (none: the buyer) and a code version 0, and adds ticket_transfers', async () => {
    await runMigrations(db);
    const tickets = await columns('tickets');
    expect(tickets.holder_id).toEqual({ nullable: 'YES', default: null });
    expect(tickets.code_version).toEqual({ nullable: 'NO', default: '0' });
    expect(Object.keys(await columns('ticket_transfers')).sort()).toEqual(
      [
        'accepted_at',
        'cancel_reason',
        'canceled_at',
        'created_at',
        'expires_at',
        'id',
        'recipient_email',
        'recipient_email_key',
        'recipient_id',
        'sender_id',
        'status',
        'ticket_id',
      ].sort(),
    );
    const indexes: { indexname: string; indexdef: string }[] = await db.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'ticket_transfers')`,
    );
    expect(indexes.find((i) => i.indexname === 'ticket_transfers_ticket_pending_key')?.indexdef).toMatch(
      /UNIQUE INDEX .* \(ticket_id\) WHERE \(\(status\)::text = 'PENDING'::text\)/,
    );
    expect(indexes.find((i) => i.indexname === 'tickets_holder_id_idx')?.indexdef).toMatch(
      /WHERE \(holder_id IS NOT NULL\)/,
    );
  });

  it('lets the transfer e-mails be recorded without a purchase, and nothing else new', async () => {
    await deliver('ticket-transfer-offered:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f');
    await expect(deliver('some-other:1')).rejects.toThrow(/email_deliveries_purchase_id_check/);
  });

  it('goes back down: no column, table or transfer delivery left, the older deliveries kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    const tickets = await columns('tickets');
    expect(tickets.holder_id).toBeUndefined();
    expect(tickets.code_version).toBeUndefined();
    expect(await columns('ticket_transfers')).toEqual({});
    const left: { message_id: string }[] = await db.query(
      'SELECT message_id FROM email_deliveries ORDER BY message_id',
    );
    expect(left.map((row) => row.message_id)).toEqual([
      'email-verification:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
      'password-reset:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
    ]);
    await expect(deliver('ticket-transfer-offered:1')).rejects.toThrow(/email_deliveries_purchase_id_check/);
  });
});
