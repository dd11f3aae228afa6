import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnv, dropDatabase, TestEnv, waitUntil } from '@app/testing';
import { dataSourceOptions } from '../data-source.options';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { PurchaseStatus } from '../entities/purchase.entity';
import { PurchaseRepository } from './purchase.repository';
import { TicketTransfersRepository } from './ticket-transfers.repository';

/**
 * Ticket transfers against the rest of PostgreSQL. An accept honours the performance's start as it
 * is now. The write of a purchase's cancellation queues a notice to the holder of each transferred ticket
 * it cancels. An accept of a transfer of one of its tickets that commits while that write waits
 * for the ticket's row (the accept holds it) must still get its holder the notice: the ticket is
 * canceled in the holder's hands.
 */
describe('ticket transfers: accepts against reschedules and cancellation writes (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let buyerId: string;
  let holderId: string;
  let performanceId: number;
  let seatId: number;

  beforeAll(async () => {
    env = await createTestEnv();
    await ensureDatabase(env.DATABASE_URL);
    db = await new DataSource(dataSourceOptions(parseEnv(env))).initialize();
    await runMigrations(db);
    [{ id: buyerId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('buyer@example.test', 'buyer@example.test', 'Buyer', 'not-a-hash') RETURNING id`,
    );
    [{ id: holderId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
       VALUES ('friend@example.test', 'friend@example.test', 'Friend', 'not-a-hash', now()) RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Show', 'Hall', 'KRW') RETURNING id`,
    );
    [{ id: performanceId }] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 1) RETURNING id`,
      [event.id],
    );
    [{ id: seatId }] = await db.query(
      `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
       VALUES ($1, 1, 'A', 1, '1', 1, 'R', 1000) RETURNING id`,
      [performanceId],
    );
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  /** A paid purchase of the seat written to PostgreSQL, its ticket's id, and a pending offer of it to the friend. */
  const offeredTicket = async (): Promise<{ purchaseId: string; ticketId: string; transferId: string }> => {
    const purchaseId = randomUUID();
    await new PurchaseRepository(db).writeBatch(
      {
        purchases: [
          {
            id: purchaseId,
            reservationId: randomUUID(),
            userId: buyerId,
            performanceId,
            seatIds: [seatId],
            amount: 1000,
            currency: 'KRW',
            chargeId: `charge-${purchaseId}`,
            status: PurchaseStatus.Paid,
            createdAt: new Date(),
            canceledAt: null,
          },
        ],
        cancellations: [],
      },
      { statementTimeoutMs: 30_000 },
    );
    const [{ id: ticketId }] = await db.query(`SELECT id::text AS id FROM tickets WHERE purchase_id = $1`, [
      purchaseId,
    ]);
    const transferId = randomUUID();
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
       VALUES ($1, $2, $3, 'friend@example.test', 'friend@example.test', now() + interval '1 day')`,
      [transferId, ticketId, buyerId],
    );
    return { purchaseId, ticketId, transferId };
  };

  it('refuses an accept once the performance started, also when a reschedule moved the start before the offer expiry', async () => {
    const { ticketId, transferId } = await offeredTicket();
    // Rescheduled to have started a minute ago: the offer's own expiry (a day on) is later.
    await db.query(`UPDATE performances SET starts_at = now() - interval '1 minute' WHERE id = $1`, [performanceId]);
    try {
      const result = await new TicketTransfersRepository(db).accept(transferId, holderId, new Date());
      expect(result).toEqual({ outcome: 'NOT_PENDING', status: 'EXPIRED' });
      const [ticket] = await db.query(`SELECT holder_id, code_version FROM tickets WHERE id = $1`, [ticketId]);
      expect(ticket).toEqual({ holder_id: null, code_version: 0 });
    } finally {
      await db.query(`UPDATE performances SET starts_at = '2030-03-01T10:00:00Z' WHERE id = $1`, [performanceId]);
      await db.query(`UPDATE tickets SET status = 'CANCELED' WHERE id = $1`, [ticketId]);
    }
  });

  it("queues the holder's notice when the accept commits while the cancellation waits for the ticket", async () => {
    const purchases = new PurchaseRepository(db);
    const purchaseId = randomUUID();
    await purchases.writeBatch(
      {
        purchases: [
          {
            id: purchaseId,
            reservationId: randomUUID(),
            userId: buyerId,
            performanceId,
            seatIds: [seatId],
            amount: 1000,
            currency: 'KRW',
            chargeId: `charge-${purchaseId}`,
            status: PurchaseStatus.Paid,
            createdAt: new Date(),
            canceledAt: null,
          },
        ],
        cancellations: [],
      },
      { statementTimeoutMs: 30_000 },
    );
    const [{ id: ticketId }] = await db.query(`SELECT id::text AS id FROM tickets WHERE purchase_id = $1`, [
      purchaseId,
    ]);
    const transferId = randomUUID();
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
       VALUES ($1, $2, $3, 'friend@example.test', 'friend@example.test', now() + interval '1 day')`,
      [transferId, ticketId, buyerId],
    );

    // The accept's transaction, as TicketTransfersRepository.accept writes it, left open.
    const accept = db.createQueryRunner();
    await accept.connect();
    try {
      await accept.startTransaction();
      await accept.query('SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE', [ticketId]);
      await accept.query(`UPDATE tickets SET holder_id = $2, code_version = code_version + 1 WHERE id = $1`, [
        ticketId,
        holderId,
      ]);
      await accept.query(
        `UPDATE ticket_transfers SET status = 'ACCEPTED', accepted_at = now(), recipient_id = $2 WHERE id = $1`,
        [transferId, holderId],
      );
      // An operator's refund written meanwhile: it waits for the ticket's row.
      const canceling = purchases.cancelWritten(purchaseId, new Date(), 'operator');
      canceling.catch(() => undefined);
      await waitUntil(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          ).length > 0,
        'the cancellation waiting for the ticket row',
      );
      await accept.commitTransaction();
      expect(await canceling).toBe('canceled');
    } finally {
      if (accept.isTransactionActive) await accept.rollbackTransaction();
      await accept.release();
    }
    const [ticket] = await db.query(`SELECT status, holder_id FROM tickets WHERE id = $1`, [ticketId]);
    expect(ticket).toEqual({ status: 'CANCELED', holder_id: holderId });
    const notices: { message_id: string; routing_key: string }[] = await db.query(
      `SELECT message_id, routing_key FROM outbox WHERE message_id LIKE 'ticket-transfer-canceled:%'`,
    );
    expect(notices).toEqual([{ message_id: `ticket-transfer-canceled:${transferId}`, routing_key: 'ticket.transfer' }]);
  });
  it('bounds offers a sender makes, and an address is sent, in an hour: concurrent offers counted one after the other', async () => {
    // A sender of its own: the tests above made offers of the buyer's.
    const [{ id: sellerId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('seller@example.test', 'seller@example.test', 'Seller', 'not-a-hash') RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Many', 'Hall', 'KRW') RETURNING id`,
    );
    const [{ id: showId }] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 12) RETURNING id`,
      [event.id],
    );
    const seatIds: number[] = (
      await db.query(
        `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
         SELECT $1, n, 'A', 1, '1', n, 'R', 1000 FROM generate_series(1, 12) n RETURNING id`,
        [showId],
      )
    ).map((row: { id: number }) => row.id);
    const purchaseId = randomUUID();
    await new PurchaseRepository(db).writeBatch(
      {
        purchases: [
          {
            id: purchaseId,
            reservationId: randomUUID(),
            userId: sellerId,
            performanceId: showId,
            seatIds,
            amount: 12_000,
            currency: 'KRW',
            chargeId: `charge-${purchaseId}`,
            status: PurchaseStatus.Paid,
            createdAt: new Date(),
            canceledAt: null,
          },
        ],
        cancellations: [],
      },
      { statementTimeoutMs: 30_000 },
    );
    const ticketIds: string[] = (
      await db.query(`SELECT id::text AS id FROM tickets WHERE purchase_id = $1 ORDER BY id`, [purchaseId])
    ).map((row: { id: string }) => row.id);
    const transfers = new TicketTransfersRepository(db);
    const offer = (ticketId: string, senderId: string, recipient: string, maxOffersPerHour: number) =>
      transfers.offer({
        id: randomUUID(),
        ticketId,
        senderId,
        recipientEmail: recipient,
        recipientEmailKey: recipient,
        now: new Date(),
        ttlMs: 3_600_000,
        maxOffersPerHour,
      });

    // Eight offers of the seller's at once, to eight addresses, five an hour: exactly five made.
    const burst = await Promise.all(
      ticketIds.slice(0, 8).map((ticketId, i) => offer(ticketId, sellerId, `r${i}@example.test`, 5)),
    );
    expect(burst.filter((result) => result.outcome === 'CREATED')).toHaveLength(5);
    expect(burst.filter((result) => result.outcome === 'TOO_MANY_OFFERS')).toHaveLength(3);

    // An address sent three offers in the hour (by the seller, canceled since) gets no fourth, from
    // a sender who made none; that sender may still offer to another address.
    const victim = 'victim@example.test';
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at)
       SELECT gen_random_uuid(), $1, $2, $3, $3, 'CANCELED', now() + interval '1 day' FROM generate_series(1, 3)`,
      [ticketIds[11], sellerId, victim],
    );
    await db.query(`UPDATE tickets SET holder_id = $2 WHERE id = ANY($1::bigint[])`, [
      ticketIds.slice(9, 11),
      holderId,
    ]);
    expect(await offer(ticketIds[9], holderId, victim, 3)).toEqual({ outcome: 'TOO_MANY_OFFERS' });
    expect(await offer(ticketIds[10], holderId, 'someone@example.test', 3)).toMatchObject({ outcome: 'CREATED' });
    const mails: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM outbox WHERE message_id LIKE 'ticket-transfer-offered:%'`,
    );
    expect(mails[0].n).toBe(6);
  });
});
