import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase, waitUntil, writePaidPurchase } from '@app/testing';
import { AccountDeletionsRepository } from './account-deletions.repository';
import { TicketTransfersRepository } from './ticket-transfers.repository';

/**
 * An accept of a ticket offer racing the deletion of the recipient's account (AccountDeletionService:
 * the row locked FOR UPDATE, what the account holds read, the account anonymised, one transaction).
 * The deletion read no ticket of a show to come, so the accept must not make the deleted account the
 * ticket's holder once it commits: a ticket of a show still to come held by an account no one can
 * sign in to (the seat paid for, its code unusable), which the deletion promises never to leave.
 */
describe('ticket transfer accept racing the recipient account deletion (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let buyerId: string;
  let recipientId: string;
  let performanceId: number;
  let seatId: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    buyerId = await insertUser(db, 'buyer@example.test', 'Buyer', true);
    recipientId = await insertUser(db, 'leaving@example.test', 'Leaving', true);
    ({
      performanceId,
      seatIds: [seatId],
    } = await insertShow(db, { seats: 1 }));
  });
  afterAll(() => close?.());

  it('refuses the accept once the deletion commits: the deleted account holds no ticket', async () => {
    const {
      ticketIds: [ticketId],
    } = await writePaidPurchase(db, { userId: buyerId, performanceId, seatIds: [seatId] });
    const transferId = randomUUID();
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
       VALUES ($1, $2, $3, 'leaving@example.test', 'leaving@example.test', now() + interval '1 day')`,
      [transferId, ticketId, buyerId],
    );

    const deletions = new AccountDeletionsRepository(db);
    const deletion = db.createQueryRunner();
    await deletion.connect();
    await deletion.startTransaction();
    try {
      // The deletion's transaction up to its commit: nothing to keep the account (the offer is pending).
      await deletions.lock(recipientId, deletion.manager);
      await deletions.anonymise(recipientId, 'not-a-hash', deletion.manager);
      expect((await deletions.obligations(recipientId, deletion.manager)).ticketIds).toEqual([]);

      const accepting = new TicketTransfersRepository(db).accept(transferId, recipientId, new Date());
      accepting.catch(() => undefined);
      await waitUntil(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          ).length > 0,
        'the accept waiting for the account row',
      );
      await deletion.commitTransaction();
      expect((await accepting).outcome).not.toBe('ACCEPTED');
    } finally {
      if (deletion.isTransactionActive) await deletion.rollbackTransaction();
      await deletion.release();
    }
    const [ticket] = await db.query(`SELECT holder_id FROM tickets WHERE id = $1`, [ticketId]);
    expect(ticket).toEqual({ holder_id: null });
  });
});
