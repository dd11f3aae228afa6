import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, dropDatabase, migrationDataSource, TestEnv } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TicketTransfers1799400000000 } from './1799400000000-TicketTransfers';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TicketTransfers1799400000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TicketTransfers1799400000000) + 1);

describe('migration TicketTransfers (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    await ensureDatabase(env.DATABASE_URL);
    const old = await migrationDataSource(env, BEFORE).initialize();
    await runMigrations(old);
    // A delivery of each kind the check allowed before: they stay allowed.
    await old.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient)
       VALUES ('password-reset:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f', NULL, 'a@example.com'),
              ('email-verification:0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f', NULL, 'a@example.com')`,
    );
    await old.destroy();
    db = await migrationDataSource(env, UP_TO).initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

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
    const scratch = createTestEnvWithoutDatabase();
    await ensureDatabase(scratch.DATABASE_URL);
    const before = await migrationDataSource(scratch, BEFORE).initialize();
    await runMigrations(before);
    await before.destroy();
    const migrating = await migrationDataSource(scratch, UP_TO).initialize();
    const other = await migrationDataSource(scratch, []).initialize();
    const holding = other.createQueryRunner();
    try {
      await holding.startTransaction();
      await holding.query('SELECT count(*) FROM tickets');
      const startedAt = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const failure: unknown = await Promise.race([
        runMigrations(migrating).then(
          () => 'migrated',
          (error: unknown) => error,
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve('still waiting after 40 s'), 40_000);
        }),
      ]);
      clearTimeout(timer);
      const waitedMs = performance.now() - startedAt;
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/rolled back, nothing changed: .*"tickets".*Retry/);
      expect((failure as Error).cause).toMatchObject({ code: '55P03' });
      expect(waitedMs).toBeGreaterThanOrEqual(4_900);
      // Rolled back whole: no column, the check as it was, the migration not recorded.
      const added = await other.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'tickets' AND column_name = 'code_version'`,
      );
      expect(added).toEqual([]);
      expect(
        await other.query('SELECT 1 FROM migrations WHERE name = $1', [TicketTransfers1799400000000.name]),
      ).toEqual([]);
      // A retry once tickets is free goes through.
      await holding.commitTransaction();
      expect(await runMigrations(migrating)).toContain(TicketTransfers1799400000000.name);
    } finally {
      if (holding.isTransactionActive) await holding.rollbackTransaction();
      await holding.release();
      await Promise.all([migrating.destroy(), other.destroy()]);
      await dropDatabase(scratch.DATABASE_URL);
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
