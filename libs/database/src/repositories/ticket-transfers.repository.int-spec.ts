import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertShow, insertUser, openMigratedDatabase, waitUntil, writePaidPurchase } from '@app/testing';
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
  let db: DataSource;
  let close: () => Promise<void>;
  let buyerId: string;
  let holderId: string;
  let performanceId: number;
  let seatId: number;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    buyerId = await insertUser(db, 'buyer@example.test', 'Buyer');
    holderId = await insertUser(db, 'friend@example.test', 'Friend', true);
    ({
      performanceId,
      seatIds: [seatId],
    } = await insertShow(db, { seats: 1 }));
  });
  afterAll(() => close?.());

  /** A paid purchase of the seat written to PostgreSQL, its ticket's id, and a pending offer of it to the friend. */
  const offeredTicket = async (): Promise<{ purchaseId: string; ticketId: string; transferId: string }> => {
    const {
      purchaseId,
      ticketIds: [ticketId],
    } = await writePaidPurchase(db, { userId: buyerId, performanceId, seatIds: [seatId] });
    const transferId = randomUUID();
    await db.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, expires_at)
       VALUES ($1, $2, $3, 'friend@example.test', 'friend@example.test', now() + interval '1 day')`,
      [transferId, ticketId, buyerId],
    );
    return { purchaseId, ticketId, transferId };
  };

  /**
   * The accept of `transferId` by the friend, as TicketTransfersRepository.accept writes it (the
   * ticket's row, then the transfer's, locked; the holder and the status changed), left open.
   */
  const openAccept = async (ticketId: string, transferId: string): Promise<QueryRunner> => {
    const accept = db.createQueryRunner();
    await accept.connect();
    await accept.startTransaction();
    await accept.query('SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE', [ticketId]);
    await accept.query('SELECT 1 FROM ticket_transfers WHERE id = $1 FOR UPDATE', [transferId]);
    await accept.query(`UPDATE tickets SET holder_id = $2, code_version = code_version + 1 WHERE id = $1`, [
      ticketId,
      holderId,
    ]);
    await accept.query(
      `UPDATE ticket_transfers SET status = 'ACCEPTED', accepted_at = now(), recipient_id = $2 WHERE id = $1`,
      [transferId, holderId],
    );
    return accept;
  };

  /** Waits until a session of this database waits for a lock (`what` names it for the timeout). */
  const someoneWaitsForALock = (what: string): Promise<void> =>
    waitUntil(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).length > 0,
      what,
    );

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
    const { purchaseId, ticketId, transferId } = await offeredTicket();

    const accept = await openAccept(ticketId, transferId);
    try {
      // An operator's refund written meanwhile: it waits for the ticket's row.
      const canceling = purchases.cancelWritten(purchaseId, new Date(), 'operator');
      canceling.catch(() => undefined);
      await someoneWaitsForALock('the cancellation waiting for the ticket row');
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

  describe('seatsNoAcceptCanReach: the seats whose accept marks are dead', () => {
    it('keeps a seat while its offer is pending; once it is past its expiry, writes it EXPIRED and answers the seat, by transfer or by purchase', async () => {
      const transfers = new TicketTransfersRepository(db);
      const { purchaseId, ticketId, transferId } = await offeredTicket();
      try {
        expect(await transfers.seatsNoAcceptCanReach({ transferId })).toBeNull();
        expect(await transfers.seatsNoAcceptCanReach({ purchaseId, seatIds: [seatId] })).toBeNull();

        await db.query(`UPDATE ticket_transfers SET expires_at = now() - interval '1 second' WHERE id = $1`, [
          transferId,
        ]);
        const dead = { performanceId, purchaseId, seatIds: [seatId] };
        expect(await transfers.seatsNoAcceptCanReach({ purchaseId, seatIds: [seatId, seatId + 10_000] })).toEqual(dead);
        expect(await db.query(`SELECT status FROM ticket_transfers WHERE id = $1`, [transferId])).toEqual([
          { status: 'EXPIRED' },
        ]);
        expect(await transfers.seatsNoAcceptCanReach({ transferId })).toEqual(dead);
        expect(await transfers.seatsNoAcceptCanReach({ transferId: randomUUID() })).toBeNull();
      } finally {
        await db.query(`UPDATE tickets SET status = 'CANCELED' WHERE id = $1`, [ticketId]);
      }
    });

    it('keeps the seat of an accept that holds its overdue offer: it waits for the commit and sees the new holder', async () => {
      const transfers = new TicketTransfersRepository(db);
      const { purchaseId, ticketId, transferId } = await offeredTicket();
      await db.query(`UPDATE ticket_transfers SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [
        transferId,
      ]);
      // The accept, its clock read before the offer's expiry, holds the offer's row past it.
      const accept = await openAccept(ticketId, transferId);
      try {
        await waitUntil(
          async () =>
            (await db.query(`SELECT 1 FROM ticket_transfers WHERE id = $1 AND expires_at <= now()`, [transferId]))
              .length > 0,
          'the offer past its expiry',
        );
        const reading = transfers.seatsNoAcceptCanReach({ purchaseId, seatIds: [seatId] });
        reading.catch(() => undefined);
        await someoneWaitsForALock('the read waiting for the offer row');
        await accept.commitTransaction();
        expect(await reading).toBeNull();
      } finally {
        if (accept.isTransactionActive) await accept.rollbackTransaction();
        await accept.release();
        await db.query(`UPDATE tickets SET status = 'CANCELED' WHERE id = $1`, [ticketId]);
      }
      expect(await db.query(`SELECT status FROM ticket_transfers WHERE id = $1`, [transferId])).toEqual([
        { status: 'ACCEPTED' },
      ]);
    });
  });

  it('bounds offers a sender makes, and the senders an address is sent offers by, in an hour: concurrent offers counted one after the other', async () => {
    // A sender of its own: the tests above made offers of the buyer's.
    const sellerId = await insertUser(db, 'seller@example.test', 'Seller');
    const { performanceId: showId, seatIds } = await insertShow(db, { title: 'Many', seats: 12 });
    const { ticketIds } = await writePaidPurchase(db, { userId: sellerId, performanceId: showId, seatIds });
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
        maxOffersToAddressPerHour: 3 * maxOffersPerHour,
        offersToAddressPerSender: 3,
      });

    // Eight offers of the seller's at once, to eight addresses, five an hour: exactly five made.
    const burst = await Promise.all(
      ticketIds.slice(0, 8).map((ticketId, i) => offer(ticketId, sellerId, `r${i}@example.test`, 5)),
    );
    expect(burst.filter((result) => result.outcome === 'CREATED')).toHaveLength(5);
    expect(burst.filter((result) => result.outcome === 'TOO_MANY_OFFERS')).toHaveLength(3);

    // An address sent three offers in the hour by one sender (canceled since) still takes an
    // offer from another: one sender never closes an address to the others.
    const victim = 'victim@example.test';
    const pastOffers = (senderId: string, recipient: string, count: number) =>
      db.query(
        `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, status, expires_at)
         SELECT gen_random_uuid(), $1, $2, $3, $3, 'CANCELED', now() + interval '1 day' FROM generate_series(1, $4::int)`,
        [ticketIds[11], senderId, recipient, count],
      );
    await pastOffers(sellerId, victim, 3);
    await db.query(`UPDATE tickets SET holder_id = $2 WHERE id = ANY($1::bigint[])`, [
      ticketIds.slice(9, 11),
      holderId,
    ]);
    expect(await offer(ticketIds[9], holderId, victim, 3)).toMatchObject({ outcome: 'CREATED' });
    // Offers by three different senders in the hour: a fourth sender gets none to the address (it
    // may offer elsewhere), while a sender of the hour goes on within its own bound.
    const crowded = 'crowded@example.test';
    const others = [
      await insertUser(db, 'other-1@example.test', 'Other'),
      await insertUser(db, 'other-2@example.test', 'Other'),
    ];
    await pastOffers(others[0], crowded, 1);
    await pastOffers(others[1], crowded, 1);
    await pastOffers(sellerId, crowded, 1);
    expect(await offer(ticketIds[10], holderId, crowded, 3)).toEqual({ outcome: 'TOO_MANY_OFFERS' });
    expect(await offer(ticketIds[10], holderId, 'someone@example.test', 3)).toMatchObject({ outcome: 'CREATED' });
    await db.query(`UPDATE tickets SET holder_id = $2 WHERE id = $1`, [ticketIds[8], others[0]]);
    expect(await offer(ticketIds[8], others[0], crowded, 3)).toMatchObject({ outcome: 'CREATED' });
    const mails: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM outbox WHERE message_id LIKE 'ticket-transfer-offered:%'`,
    );
    expect(mails[0].n).toBe(8);
  });

  describe('decline, withdrawal and the new holder, and the expiry a reschedule moves', () => {
    let startsAt: Date;

    /** A performance of its own starting `startsAt`, one seat bought by the buyer, and the ticket's id. */
    const boughtTicket = async (): Promise<{ purchaseId: string; ticketId: string; showId: number }> => {
      const {
        performanceId: showId,
        seatIds: [seat],
      } = await insertShow(db, { title: 'Decline', startsAt, seats: 1 });
      const {
        purchaseId,
        ticketIds: [ticketId],
      } = await writePaidPurchase(db, { userId: buyerId, performanceId: showId, seatIds: [seat] });
      return { purchaseId, ticketId, showId };
    };

    /** Offers the ticket to the friend, as the buyer, for a day. */
    const offerToFriend = async (ticketId: string, senderId = buyerId): Promise<string> => {
      const result = await new TicketTransfersRepository(db).offer({
        id: randomUUID(),
        ticketId,
        senderId,
        recipientEmail: 'friend@example.test',
        recipientEmailKey: 'friend@example.test',
        now: new Date(),
        ttlMs: 24 * 3_600_000,
        maxOffersPerHour: 1_000,
        maxOffersToAddressPerHour: 3_000,
        offersToAddressPerSender: 3,
      });
      if (result.outcome !== 'CREATED') throw new Error(`offer: ${result.outcome}`);
      return result.transfer.id;
    };

    const outbox = async (transferId: string): Promise<{ message_id: string; routing_key: string }[]> =>
      db.query(
        `SELECT message_id, routing_key FROM outbox WHERE payload->>'transferId' = $1::text ORDER BY message_id`,
        [transferId],
      );

    beforeAll(() => {
      startsAt = new Date(Date.now() + 30 * 24 * 3_600_000);
    });

    it('declines for the confirmed recipient only, once; the sender is mailed and the ticket may be offered again', async () => {
      const transfers = new TicketTransfersRepository(db);
      const { ticketId } = await boughtTicket();
      const transferId = await offerToFriend(ticketId);
      // The sender, a stranger, an unknown id: NOT_FOUND, nothing changed.
      expect(await transfers.decline(transferId, buyerId, new Date())).toEqual({ outcome: 'NOT_FOUND' });
      expect(await transfers.decline(randomUUID(), holderId, new Date())).toEqual({ outcome: 'NOT_FOUND' });

      const declined = await transfers.decline(transferId, holderId, new Date());
      expect(declined).toMatchObject({ outcome: 'DECLINED', transfer: { id: transferId, status: 'DECLINED' } });
      expect(declined.outcome === 'DECLINED' && declined.transfer.declinedAt).toBeInstanceOf(Date);
      expect(await transfers.decline(transferId, holderId, new Date())).toEqual({
        outcome: 'NOT_PENDING',
        status: 'DECLINED',
      });
      expect(await transfers.accept(transferId, holderId, new Date())).toEqual({
        outcome: 'NOT_PENDING',
        status: 'DECLINED',
      });
      expect(await transfers.cancel(transferId, buyerId, new Date())).toEqual({
        outcome: 'NOT_PENDING',
        status: 'DECLINED',
      });
      expect(await outbox(transferId)).toEqual([
        { message_id: `ticket-transfer-declined:${transferId}`, routing_key: 'ticket.transfer' },
        { message_id: `ticket-transfer-offered:${transferId}`, routing_key: 'ticket.transfer' },
      ]);
      const [event] = await db.query(
        `SELECT type FROM auth_events WHERE user_id = $1 AND type = 'TICKET_TRANSFER_DECLINED'`,
        [holderId],
      );
      expect(event).toEqual({ type: 'TICKET_TRANSFER_DECLINED' });
      const listed = await transfers.listFor(buyerId, null, 100, new Date());
      expect(listed.find((t) => t.id === transferId)).toMatchObject({ status: 'DECLINED' });
      // Declined is settled: the ticket's next offer is allowed.
      expect(await offerToFriend(ticketId)).not.toBe(transferId);
    });

    it("says in the declined e-mail's facts whether the sender's ticket can still be used (its show canceled meanwhile)", async () => {
      const transfers = new TicketTransfersRepository(db);
      const { ticketId, showId } = await boughtTicket();
      const transferId = await offerToFriend(ticketId);
      expect(await transfers.decline(transferId, holderId, new Date())).toMatchObject({ outcome: 'DECLINED' });
      expect((await transfers.mailFacts(transferId, new Date()))?.ticketUsable).toBe(true);
      // The show canceled while the offer waited (its bulk refund not there yet): the code admits no one.
      await db.query(`UPDATE performances SET status = 'CANCELED' WHERE id = $1`, [showId]);
      expect((await transfers.mailFacts(transferId, new Date()))?.ticketUsable).toBe(false);
    });

    it('of a decline, an accept and the sender cancel of one transfer at once, exactly one wins', async () => {
      const transfers = new TicketTransfersRepository(db);
      const wins = new Set<string>();
      for (let round = 0; round < 8; round += 1) {
        const { ticketId } = await boughtTicket();
        const transferId = await offerToFriend(ticketId);
        const now = new Date();
        const results = await Promise.all([
          transfers.decline(transferId, holderId, now),
          transfers.accept(transferId, holderId, now),
          transfers.cancel(transferId, buyerId, now),
          transfers.decline(transferId, holderId, now),
          transfers.accept(transferId, holderId, now),
        ]);
        const won = results.filter((r) => ['DECLINED', 'ACCEPTED', 'CANCELED'].includes(r.outcome));
        expect(won, JSON.stringify(results)).toHaveLength(1);
        const winner = won[0].outcome as 'DECLINED' | 'ACCEPTED' | 'CANCELED';
        wins.add(winner);
        const accepts: unknown[] = [results[1], results[4]];
        for (const loser of results.filter((r) => r !== won[0])) {
          // An accept that lost to the sender's cancel also says why.
          const why = winner === 'CANCELED' && accepts.includes(loser) ? { cancelReason: 'SENDER' } : {};
          expect(loser).toEqual({ outcome: 'NOT_PENDING', status: winner, ...why });
        }
        const [row] = await db.query(
          `SELECT t.holder_id, t.code_version, tr.status FROM tickets t JOIN ticket_transfers tr ON tr.ticket_id = t.id
            WHERE tr.id = $1`,
          [transferId],
        );
        expect(row).toEqual(
          winner === 'ACCEPTED'
            ? { holder_id: holderId, code_version: 1, status: 'ACCEPTED' }
            : { holder_id: null, code_version: 0, status: winner },
        );
        // Each settled transfer queued exactly its own e-mails.
        const mails = (await outbox(transferId)).map((m) => m.message_id.split(':')[0]).sort();
        expect(mails).toEqual(
          {
            ACCEPTED: ['ticket-transfer-accepted', 'ticket-transfer-offered', 'ticket-transfer-received'],
            DECLINED: ['ticket-transfer-declined', 'ticket-transfer-offered'],
            CANCELED: ['ticket-transfer-offered', 'ticket-transfer-withdrawn'],
          }[winner],
        );
      }
      expect(wins.size).toBeGreaterThanOrEqual(1);
    });

    it("queues the new holder's e-mail with the code version its accept issued, void once the ticket moves on", async () => {
      const transfers = new TicketTransfersRepository(db);
      const { ticketId } = await boughtTicket();
      const first = await offerToFriend(ticketId);
      expect(await transfers.accept(first, holderId, new Date())).toMatchObject({ outcome: 'ACCEPTED' });
      const facts = await transfers.mailFacts(first, new Date());
      expect(facts?.heldTicket).toMatchObject({ ticketId, codeVersion: 1 });
      expect(facts?.recipient).toEqual({ name: 'Friend', email: 'friend@example.test' });
      // Passed back to the buyer (the friend offers it on): the first accept's code is void.
      await db.query(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [buyerId]);
      const [{ email_key: buyerKey }] = await db.query(`SELECT email_key FROM users WHERE id = $1`, [buyerId]);
      try {
        const back = await transfers.offer({
          id: randomUUID(),
          ticketId,
          senderId: holderId,
          recipientEmail: buyerKey,
          recipientEmailKey: buyerKey,
          now: new Date(),
          ttlMs: 3_600_000,
          maxOffersPerHour: 1_000,
          maxOffersToAddressPerHour: 3_000,
          offersToAddressPerSender: 3,
        });
        if (back.outcome !== 'CREATED') throw new Error(back.outcome);
        expect(await transfers.accept(back.transfer.id, buyerId, new Date())).toMatchObject({ outcome: 'ACCEPTED' });
        expect((await transfers.mailFacts(first, new Date()))?.heldTicket).toBeNull();
        expect((await transfers.mailFacts(back.transfer.id, new Date()))?.heldTicket).toMatchObject({
          codeVersion: 2,
        });
        // Canceled since: no code to send.
        await db.query(`UPDATE tickets SET status = 'CANCELED' WHERE id = $1`, [ticketId]);
        expect((await transfers.mailFacts(back.transfer.id, new Date()))?.heldTicket).toBeNull();
      } finally {
        await db.query(`UPDATE users SET email_verified_at = NULL WHERE id = $1`, [buyerId]);
      }
    });

    it('tells the recipient once when the sender cancels or the ticket is canceled, on the bulk queue for a canceled show', async () => {
      const transfers = new TicketTransfersRepository(db);
      const purchases = new PurchaseRepository(db);
      const byBuyer = await boughtTicket();
      const canceledBySender = await offerToFriend(byBuyer.ticketId);
      expect(await transfers.cancel(canceledBySender, buyerId, new Date())).toMatchObject({ outcome: 'CANCELED' });
      const withPurchase = await offerToFriend(byBuyer.ticketId);
      expect(await purchases.cancelWritten(byBuyer.purchaseId, new Date(), 'buyer')).toBe('canceled');
      // A replay of the cancellation: nothing again.
      await purchases.cancelWritten(byBuyer.purchaseId, new Date(), 'buyer');

      const show = await boughtTicket();
      const withShow = await offerToFriend(show.ticketId);
      expect(await purchases.cancelWritten(show.purchaseId, new Date(), 'performance')).toBe('canceled');
      // An offer already past its expiry when the ticket is canceled: no one is waiting for it.
      const late = await boughtTicket();
      const expired = await offerToFriend(late.ticketId);
      await db.query(`UPDATE ticket_transfers SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired]);
      expect(await purchases.cancelWritten(late.purchaseId, new Date(), 'operator')).toBe('canceled');

      const withdrawn = await db.query(
        `SELECT message_id, routing_key FROM outbox WHERE message_id LIKE 'ticket-transfer-withdrawn:%'
            AND payload->>'transferId' = ANY($1::text[]) ORDER BY message_id`,
        [[canceledBySender, withPurchase, withShow, expired]],
      );
      expect(withdrawn).toEqual(
        [
          { message_id: `ticket-transfer-withdrawn:${canceledBySender}`, routing_key: 'ticket.transfer' },
          { message_id: `ticket-transfer-withdrawn:${withPurchase}`, routing_key: 'ticket.transfer' },
          { message_id: `ticket-transfer-withdrawn:${withShow}`, routing_key: 'purchase.canceled.performance' },
        ].sort((a, b) => a.message_id.localeCompare(b.message_id)),
      );
      const reasons = await db.query(
        `SELECT id, status, cancel_reason FROM ticket_transfers WHERE id = ANY($1::uuid[]) ORDER BY id`,
        [[canceledBySender, withPurchase, withShow, expired]],
      );
      expect(new Map(reasons.map((r: { id: string; cancel_reason: string }) => [r.id, r.cancel_reason]))).toEqual(
        new Map([
          [canceledBySender, 'SENDER'],
          [withPurchase, 'PURCHASE_CANCELED'],
          [withShow, 'PURCHASE_CANCELED'],
          [expired, 'PURCHASE_CANCELED'],
        ]),
      );
    });

    it('lists the expiry the accept goes by: the start, once a reschedule moved it before the offer expiry', async () => {
      const transfers = new TicketTransfersRepository(db);
      const { ticketId, showId } = await boughtTicket();
      const transferId = await offerToFriend(ticketId);
      const [{ expires_at: own }] = await db.query(`SELECT expires_at FROM ticket_transfers WHERE id = $1`, [
        transferId,
      ]);
      const listed = async () =>
        (await transfers.listFor(holderId, null, 100, new Date())).find((t) => t.id === transferId);
      expect((await listed())?.expiresAt).toEqual(own);

      // Brought forward to an hour from now: before the offer's own expiry (a day on).
      await db.query(
        `UPDATE performances SET starts_at = date_trunc('milliseconds', now() + interval '1 hour') WHERE id = $1`,
        [showId],
      );
      const [{ starts_at: sooner }] = await db.query(`SELECT starts_at FROM performances WHERE id = $1`, [showId]);
      expect(await listed()).toMatchObject({ status: 'PENDING', expiresAt: sooner });
      expect((await transfers.mailFacts(transferId, new Date()))?.transfer.expiresAt).toEqual(sooner);
      // Past that start it reads EXPIRED, as the accept and the decline answer.
      const after = new Date(sooner.getTime() + 1);
      expect((await transfers.listFor(holderId, null, 100, after)).find((t) => t.id === transferId)?.status).toBe(
        'EXPIRED',
      );
      expect(await transfers.decline(transferId, holderId, after)).toEqual({
        outcome: 'NOT_PENDING',
        status: 'EXPIRED',
      });
      expect(await transfers.cancel(transferId, buyerId, after)).toEqual({ outcome: 'NOT_PENDING', status: 'EXPIRED' });
      expect(await transfers.accept(transferId, holderId, after)).toEqual({
        outcome: 'NOT_PENDING',
        status: 'EXPIRED',
      });

      // Postponed past the offer's expiry: the offer's own expiry stands.
      await db.query(`UPDATE performances SET starts_at = $2 WHERE id = $1`, [showId, startsAt]);
      expect((await listed())?.expiresAt).toEqual(own);
    });
  });
});
