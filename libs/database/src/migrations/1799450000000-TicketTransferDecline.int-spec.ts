import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, dropDatabase, migrationDataSource, TestEnv } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TicketTransferDecline1799450000000 } from './1799450000000-TicketTransferDecline';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TicketTransferDecline1799450000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TicketTransferDecline1799450000000) + 1);

/** Migration TicketTransferDecline on real PostgreSQL: its bounded lock wait, the DECLINED state, and down. */
describe('migration TicketTransferDecline (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let ticketId: string;
  let userId: string;

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
    const [performance] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats) VALUES ($1, now() + interval '1 day', now(), 1)
       RETURNING id`,
      [event.id],
    );
    const [seat] = await old.query(
      `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
       VALUES ($1, 1, 'A', 1, '1', 1, 'R', 1000) RETURNING id`,
      [performance.id],
    );
    [{ id: ticketId }] = await old.query(
      `INSERT INTO tickets (purchase_id, performance_id, seat_id) VALUES (gen_random_uuid(), $1, $2) RETURNING id::text`,
      [performance.id, seat.id],
    );
    // A transfer of each state the old schema has: they stay as they are.
    await old.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at)
       VALUES ('00000000-0000-4000-8000-000000000001', $1, $2, 'b@example.test', 'b@example.test', 'CANCELED', now())`,
      [ticketId, userId],
    );
    await old.destroy();
    db = await migrationDataSource(env, UP_TO).initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  const transfer = (id: string, status: string, declinedAt: Date | null) =>
    db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at, declined_at)
       VALUES ($1, $2, $3, 'b@example.test', 'b@example.test', $4, now(), $5)`,
      [id, ticketId, userId, status, declinedAt],
    );

  it('gives up within its lock_timeout while another transaction holds ticket_transfers, changes nothing, and says to retry', async () => {
    const other = await migrationDataSource(env, []).initialize();
    const holding = other.createQueryRunner();
    try {
      await holding.startTransaction();
      await holding.query('SELECT count(*) FROM ticket_transfers');
      const startedAt = performance.now();
      const failure: unknown = await runMigrations(db).then(
        () => 'migrated',
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/rolled back, nothing changed: .*"ticket_transfers".*Retry/);
      expect((failure as Error).cause).toMatchObject({ code: '55P03' });
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(4_900);
      expect(
        await other.query(
          `SELECT 1 FROM information_schema.columns WHERE table_name = 'ticket_transfers' AND column_name = 'declined_at'`,
        ),
      ).toEqual([]);
    } finally {
      if (holding.isTransactionActive) await holding.rollbackTransaction();
      await holding.release();
      await other.destroy();
    }
  }, 60_000);

  it('adds DECLINED with its time, and the code version an accept issued; a DECLINED without its time is refused', async () => {
    expect(await runMigrations(db)).toContain(TicketTransferDecline1799450000000.name);
    await transfer('00000000-0000-4000-8000-000000000002', 'DECLINED', new Date());
    await expect(transfer('00000000-0000-4000-8000-000000000003', 'DECLINED', null)).rejects.toThrow(
      /ticket_transfers_declined_check/,
    );
    await expect(transfer('00000000-0000-4000-8000-000000000004', 'CANCELED', new Date())).rejects.toThrow(
      /ticket_transfers_declined_check/,
    );
    await expect(transfer('00000000-0000-4000-8000-000000000005', 'REJECTED', null)).rejects.toThrow(
      /ticket_transfers_status_check/,
    );
    await db.query(`UPDATE ticket_transfers SET code_version = 1 WHERE id = '00000000-0000-4000-8000-000000000001'`);
  });

  it('goes back down: a declined transfer reads as canceled, the columns gone, the old check back', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    const rows = await db.query(`SELECT id, status, cancel_reason FROM ticket_transfers ORDER BY id`);
    expect(rows).toEqual([
      { id: '00000000-0000-4000-8000-000000000001', status: 'CANCELED', cancel_reason: null },
      { id: '00000000-0000-4000-8000-000000000002', status: 'CANCELED', cancel_reason: 'DECLINED' },
    ]);
    expect(
      await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket_transfers'
            AND column_name IN ('declined_at', 'code_version')`,
      ),
    ).toEqual([]);
    await expect(
      db.query(`UPDATE ticket_transfers SET status = 'DECLINED' WHERE id = '00000000-0000-4000-8000-000000000001'`),
    ).rejects.toThrow(/ticket_transfers_status_check/);
  });
});
