import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase, writePaidPurchase } from '@app/testing';
import { EmailDeliveriesRepository } from './email-deliveries.repository';
import { PerformanceReschedulesRepository } from './performance-reschedules.repository';
import { TicketTransfersRepository } from './ticket-transfers.repository';

const FIRST_START = new Date('2030-03-01T10:00:00Z');
const SECOND_START = new Date('2030-03-08T10:00:00Z');
const THIRD_START = new Date('2030-03-15T10:00:00Z');

/**
 * What the new-date e-mails of a moved performance go by, against PostgreSQL: the start a transfer
 * offer's recipient was told when its offer e-mail recorded none (sent by an earlier mailer),
 * inferred from the moves recorded after it; and the holders of transferred tickets, each queued
 * one notice per move by the fan-out, told from their "received" e-mails.
 */
describe('new-date e-mails to offer recipients and ticket holders (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let buyerId: string;
  let holderId: string;
  let performanceId: number;
  let seatIds: number[];
  const deliveries = () => new EmailDeliveriesRepository(db);

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    buyerId = await insertUser(db, 'buyer@example.test', 'Buyer');
    holderId = await insertUser(db, 'friend@example.test', 'Friend', true);
    ({ performanceId, seatIds } = await insertShow(db, { startsAt: FIRST_START, seats: 3 }));
  });
  afterAll(() => close?.());

  /** A paid purchase of `seats` by the buyer written to PostgreSQL; its ticket ids in seat order. */
  const bought = (seats: number[]) => writePaidPurchase(db, { userId: buyerId, performanceId, seatIds: seats });

  /** A transfer of `ticketId` to the friend, `status` as given (ACCEPTED: the friend holds the ticket). */
  const transfer = async (ticketId: string, status: 'PENDING' | 'ACCEPTED'): Promise<string> => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
       VALUES ($1, $2, $3, 'friend@example.test', 'friend@example.test', now() + interval '1 day')`,
      [id, ticketId, buyerId],
    );
    if (status === 'ACCEPTED') {
      await db.query(
        `UPDATE ticket_transfers SET status = 'ACCEPTED', recipient_id = $2, accepted_at = now(), code_version = 1
          WHERE id = $1`,
        [id, holderId],
      );
      await db.query(`UPDATE tickets SET holder_id = $2, code_version = 1 WHERE id = $1`, [ticketId, holderId]);
    }
    return id;
  };

  /** Moves the performance to `startsAt`, recorded as the PATCH records it; the move's id. */
  const move = async (startsAt: Date): Promise<string> => {
    const [row] = await db.query(
      `WITH old AS (SELECT starts_at FROM performances WHERE id = $1),
            moved AS (UPDATE performances SET starts_at = $2 WHERE id = $1)
       INSERT INTO performance_reschedules (performance_id, previous_starts_at, starts_at)
       SELECT $1, old.starts_at, $2 FROM old RETURNING id::text AS id`,
      [performanceId, startsAt],
    );
    return row.id;
  };

  /** A delivery row as a mailer of an earlier version wrote it: no start recorded. */
  const deliveredWithoutStart = (messageId: string) =>
    db.query(`INSERT INTO email_deliveries (message_id, purchase_id, recipient) VALUES ($1, NULL, 'x@example.test')`, [
      messageId,
    ]);

  const toldOffer = (transferId: string) =>
    db.transaction((manager) => deliveries().lastToldTransferStartsAt(manager, transferId));

  it('infers the start an offer e-mail without a recorded start told: the one before the first move after it, else the current one', async () => {
    await db.query(`UPDATE performances SET starts_at = $2 WHERE id = $1`, [performanceId, FIRST_START]);
    const { ticketIds } = await bought([seatIds[0]]);
    const before = await transfer(ticketIds[0], 'PENDING');
    await deliveredWithoutStart(`ticket-transfer-offered:${before}`);
    await move(SECOND_START);
    // Mailed before the move: it told the start of then.
    expect(await toldOffer(before)).toEqual(FIRST_START);
    // Mailed after every move: it told the start of now, so the move's new-date offer is news to no one.
    const { ticketIds: later } = await bought([seatIds[1]]);
    const after = await transfer(later[0], 'PENDING');
    await deliveredWithoutStart(`ticket-transfer-offered:${after}`);
    expect(await toldOffer(after)).toEqual(SECOND_START);
    // A recorded start still wins, and no offer e-mail at all tells nothing.
    await db.query(`UPDATE email_deliveries SET starts_at = $2 WHERE message_id = $1`, [
      `ticket-transfer-offered:${after}`,
      FIRST_START,
    ]);
    expect(await toldOffer(after)).toEqual(FIRST_START);
    expect(await toldOffer(randomUUID())).toBeNull();
    await db.query(`UPDATE performance_reschedules SET completed_at = now() WHERE performance_id = $1`, [
      performanceId,
    ]);
    await db.query(`UPDATE tickets SET status = 'CANCELED' WHERE performance_id = $1`, [performanceId]);
    await db.query(`UPDATE purchases SET status = 'CANCELED' WHERE performance_id = $1`, [performanceId]);
  });

  it("queues one notice per move to a holder of tickets of several purchases, and reads the holder's seats and what it was told", async () => {
    await db.query(`UPDATE performances SET starts_at = $2 WHERE id = $1`, [performanceId, FIRST_START]);
    await db.query(`DELETE FROM tickets WHERE performance_id = $1`, [performanceId]);
    const first = await bought([seatIds[0], seatIds[1]]);
    const second = await bought([seatIds[2]]);
    const kept = first.ticketIds[0];
    const viaFirst = await transfer(first.ticketIds[1], 'ACCEPTED');
    const viaSecond = await transfer(second.ticketIds[0], 'ACCEPTED');
    await db.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient, starts_at)
       VALUES ($1, NULL, 'friend@example.test', $2)`,
      [`ticket-transfer-received:${viaFirst}`, FIRST_START],
    );
    const moved = await move(SECOND_START);
    const reschedules = new PerformanceReschedulesRepository(db);
    // A purchase a page: the holder is met on both pages, queued once.
    const steps = [];
    for (let step = await reschedules.queueNextNotices(1); step; step = await reschedules.queueNextNotices(1)) {
      steps.push(step);
    }
    expect(steps.map((step) => step.holders)).toEqual([1, 1, 0]);
    const queued: { message_id: string; payload: unknown }[] = await db.query(
      `SELECT message_id, payload FROM outbox WHERE message_id LIKE 'ticket-transfer-holder-rescheduled:' || $1 || '.%'`,
      [moved],
    );
    expect(queued).toEqual([
      {
        message_id: `ticket-transfer-holder-rescheduled:${moved}.${holderId}`,
        payload: {
          type: 'ticket-holder.rescheduled',
          holderId,
          performanceId,
          rescheduleId: moved,
          previousStartsAt: FIRST_START.toISOString().replace('.000Z', '+00:00'),
        },
      },
    ]);
    // The buyer keeps the first seat: no notice of its own as a holder.
    expect(kept).toBeDefined();
    const facts = await db.transaction((manager) =>
      new TicketTransfersRepository(db).holderMailFacts(holderId, performanceId, manager),
    );
    expect(facts).toEqual({
      holder: { name: 'Friend', email: 'friend@example.test' },
      eventTitle: 'Show',
      venue: 'Hall',
      timeZone: 'UTC',
      startsAt: SECOND_START,
      performanceCanceled: false,
      seats: [
        { section: 'A', row: 1, rowLabel: '1', number: 2 },
        { section: 'A', row: 1, rowLabel: '1', number: 3 },
      ],
      transferIds: [viaFirst, viaSecond].sort(),
    });
    const told = () =>
      db.transaction((manager) =>
        deliveries().lastToldHolderStartsAt(manager, holderId, performanceId, facts!.transferIds),
      );
    expect(await told()).toEqual(FIRST_START);
    await db.query(
      `INSERT INTO email_deliveries (message_id, purchase_id, recipient, starts_at) VALUES ($1, NULL, 'friend@example.test', $2)`,
      [`ticket-transfer-holder-rescheduled:${moved}.${holderId}`, SECOND_START],
    );
    expect(await told()).toEqual(SECOND_START);
    // Passed back to its buyer: no longer the friend's to be told of.
    await db.query(`UPDATE tickets SET holder_id = $2 WHERE performance_id = $1`, [performanceId, buyerId]);
    expect(
      await db.transaction((manager) =>
        new TicketTransfersRepository(db).holderMailFacts(holderId, performanceId, manager),
      ),
    ).toBeNull();
  });

  it('infers the start a "received" e-mail without a recorded start told: the one before the first move after it, else the current one', async () => {
    // What the tests before left of this performance's moves and the holder's notices.
    await db.query(`DELETE FROM email_deliveries WHERE message_id LIKE 'ticket-transfer-holder-rescheduled:%'`);
    await db.query(`DELETE FROM performance_reschedules WHERE performance_id = $1`, [performanceId]);
    await db.query(`UPDATE performances SET starts_at = $2 WHERE id = $1`, [performanceId, FIRST_START]);
    await db.query(`DELETE FROM tickets WHERE performance_id = $1`, [performanceId]);
    const { ticketIds } = await bought([seatIds[0], seatIds[1]]);
    const early = await transfer(ticketIds[0], 'ACCEPTED');
    await deliveredWithoutStart(`ticket-transfer-received:${early}`);
    // Two moves after it, the holder told of neither (no holder notices before the upgrade): it
    // read the first start, not the one the second move left.
    await move(SECOND_START);
    await move(THIRD_START);
    const told = (transferIds: string[]) =>
      db.transaction((manager) => deliveries().lastToldHolderStartsAt(manager, holderId, performanceId, transferIds));
    expect(await told([early])).toEqual(FIRST_START);
    // A "received" e-mail sent after every move showed the start of now.
    const late = await transfer(ticketIds[1], 'ACCEPTED');
    await deliveredWithoutStart(`ticket-transfer-received:${late}`);
    expect(await told([early, late])).toEqual(THIRD_START);
    // None went out: nothing told.
    expect(await told([randomUUID()])).toBeNull();
  });
});
