import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TicketTransferDecline1799450000000 } from './1799450000000-TicketTransferDecline';

/** Migration TicketTransferDecline on real PostgreSQL: its bounded lock wait, the DECLINED state, and down. */
describe('migration TicketTransferDecline (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let ticketId: string;
  let userId: string;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, TicketTransferDecline1799450000000, async (old) => {
      let performanceId: number;
      ({ userId, performanceId } = await insertAccountAndPerformance(old));
      const [seat] = await old.query(
        `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
         VALUES ($1, 1, 'A', 1, '1', 1, 'R', 1000) RETURNING id`,
        [performanceId],
      );
      [{ id: ticketId }] = await old.query(
        `INSERT INTO tickets (purchase_id, performance_id, seat_id) VALUES (gen_random_uuid(), $1, $2) RETURNING id::text`,
        [performanceId, seat.id],
      );
      // A transfer of each state the old schema has: they stay as they are.
      await old.query(
        `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at)
         VALUES ('00000000-0000-4000-8000-000000000001', $1, $2, 'b@example.test', 'b@example.test', 'CANCELED', now())`,
        [ticketId, userId],
      );
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const transfer = (id: string, status: string, declinedAt: Date | null) =>
    db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at, declined_at)
       VALUES ($1, $2, $3, 'b@example.test', 'b@example.test', $4, now(), $5)`,
      [id, ticketId, userId, status, declinedAt],
    );

  it('gives up within its lock_timeout while another transaction holds ticket_transfers, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'ticket_transfers',
      migration: TicketTransferDecline1799450000000,
      unchanged: async (other) => {
        expect(
          await other.query(
            `SELECT 1 FROM information_schema.columns WHERE table_name = 'ticket_transfers' AND column_name = 'declined_at'`,
          ),
        ).toEqual([]);
      },
    });
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
