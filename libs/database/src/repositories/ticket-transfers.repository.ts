import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import { TicketTransferStatus } from '../entities/ticket-transfer.entity';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import type { TicketIdentity } from './tickets.repository';

/** Routing key of the transfer e-mails' messages (ROUTING.ticketTransfer of @app/messaging/contracts). */
const TRANSFER_ROUTING_KEY = 'ticket.transfer';

/** A transfer as its sender and recipient see it; `status` EXPIRED for a PENDING one past `expiresAt`. */
export interface TicketTransferRecord {
  id: string;
  /** bigint, as a decimal string. */
  ticketId: string;
  senderId: string;
  recipientEmail: string;
  status: TicketTransferStatus;
  createdAt: Date;
  /**
   * When it expires (expired) while pending: the expiry it was made with, or the performance's start
   * as it is now if that is sooner (a reschedule may have moved it before the expiry), as the
   * accept decides (EFFECTIVE_EXPIRY).
   */
  expiresAt: Date;
  acceptedAt: Date | null;
  canceledAt: Date | null;
  declinedAt: Date | null;
  /**
   * Why a CANCELED one was (see TransferCancelReason); null otherwise (and for one canceled before
   * reasons were recorded).
   */
  cancelReason: TransferCancelReason | null;
}

/**
 * Why a transfer was canceled: its sender withdrew it (`SENDER`); its purchase was canceled or
 * refunded (`PURCHASE_CANCELED`); its ticket was checked in at the door while it was pending
 * (`CHECKED_IN`, also an accept that found it so); its seat was refunded by a partial refund, or an
 * accept found the ticket canceled (`TICKET_CANCELED`); an accept found its performance canceled
 * (`PERFORMANCE_CANCELED`).
 */
export type TransferCancelReason =
  'SENDER' | 'PURCHASE_CANCELED' | 'CHECKED_IN' | 'TICKET_CANCELED' | 'PERFORMANCE_CANCELED';

/** What an offer needs: who offers which ticket to which address, until when at the latest. */
export interface NewTicketTransfer {
  id: string;
  ticketId: string;
  senderId: string;
  recipientEmail: string;
  recipientEmailKey: string;
  /** The offer's time (the api's clock). */
  now: Date;
  /** How long an offer lasts, in ms; the performance's start ends it earlier. */
  ttlMs: number;
  /**
   * Offers the sender may make in the hour before `now`, and different senders the address may be
   * sent offers by in that hour.
   */
  maxOffersPerHour: number;
  /** Offers, by any senders, the address may be sent in the hour before `now`. */
  maxOffersToAddressPerHour: number;
  /**
   * Offers to the address each sender may make in the hour before `now` whatever the address's
   * offers in all (`maxOffersToAddressPerHour` refuses only a sender that made this many to it):
   * its share, which no other senders can use up.
   */
  offersToAddressPerSender: number;
}

/**
 * What an offer did. Refusals in the order checked: NOT_FOUND (no such ticket, or the sender does
 * not hold it), SELF, TICKET_CANCELED, CHECKED_IN, PERFORMANCE_CANCELED, PERFORMANCE_STARTED,
 * PENDING (another offer of the ticket is pending), CODE_VERSIONS_USED_UP, TOO_MANY_OFFERS.
 */
export type OfferResult =
  | { outcome: 'CREATED'; transfer: TicketTransferRecord; ticket: TicketIdentity }
  | { outcome: 'NOT_FOUND' }
  | { outcome: 'SELF' }
  | { outcome: 'TICKET_CANCELED' }
  | { outcome: 'CHECKED_IN' }
  | { outcome: 'PERFORMANCE_CANCELED' }
  | { outcome: 'PERFORMANCE_STARTED' }
  | { outcome: 'PENDING' }
  | { outcome: 'CODE_VERSIONS_USED_UP' }
  /**
   * The sender made `maxOffersPerHour` offers in the last hour, or the address was sent offers by
   * that many other senders, or `maxOffersToAddressPerHour` offers in all and this sender's share
   * of them (`offersToAddressPerSender`) is used up.
   */
  | { outcome: 'TOO_MANY_OFFERS' };

/**
 * What an accept did. NOT_FOUND: no such transfer, or the caller's confirmed address is not its
 * recipient's; NOT_PENDING with what it is now (ACCEPTED, CANCELED, EXPIRED); TICKET_CANCELED,
 * CHECKED_IN, PERFORMANCE_CANCELED: the ticket can no longer change hands (the offer is canceled
 * with it, in the same transaction).
 */
export type AcceptResult =
  | { outcome: 'ACCEPTED'; transfer: TicketTransferRecord; ticket: TicketIdentity }
  | { outcome: 'NOT_FOUND' }
  /** `cancelReason`: why, for a CANCELED one whose reason is known (absent otherwise). */
  | { outcome: 'NOT_PENDING'; status: TicketTransferStatus; cancelReason?: TransferCancelReason | null }
  | { outcome: 'TICKET_CANCELED' }
  | { outcome: 'CHECKED_IN' }
  | { outcome: 'PERFORMANCE_CANCELED' };

/**
 * Which tickets' accept marks to look at (TicketTransfersRepository.seatsNoAcceptCanReach): the
 * ticket of one transfer, or seats of one purchase.
 */
export type AcceptMarkScope = { transferId: string } | { purchaseId: string; seatIds: readonly number[] };

/** Seats of one purchase, of performance `performanceId`, whose ticket no accept can reach. */
export interface AcceptUnreachableSeats {
  performanceId: number;
  purchaseId: string;
  /** Ascending; never empty. */
  seatIds: number[];
}

/** What a sender's cancel did. */
export type CancelTransferResult =
  | { outcome: 'CANCELED'; transfer: TicketTransferRecord }
  | { outcome: 'NOT_FOUND' }
  | { outcome: 'NOT_PENDING'; status: TicketTransferStatus };

/** What a recipient's decline did. */
export type DeclineTransferResult =
  | { outcome: 'DECLINED'; transfer: TicketTransferRecord }
  | { outcome: 'NOT_FOUND' }
  | { outcome: 'NOT_PENDING'; status: TicketTransferStatus };

/** What a transfer e-mail says, read when it is sent. */
export interface TransferMailFacts {
  transfer: TicketTransferRecord;
  /** Why a CANCELED one was (`SENDER`, `PURCHASE_CANCELED`, an accept's refusal); null otherwise. */
  cancelReason: string | null;
  sender: { name: string; email: string };
  /** The account that accepted or declined it (and still exists); null before. */
  recipient: { name: string; email: string } | null;
  eventTitle: string;
  venue: string;
  timeZone: string;
  startsAt: Date;
  seat: { section: string; row: number; rowLabel: string; number: number };
  /**
   * The ticket as the code of its new holder names it, while the account that accepted this
   * transfer holds it by this transfer (the ticket ACTIVE, its code version the one this accept
   * issued); null otherwise (not accepted, canceled since, or passed on again).
   */
  heldTicket: TicketIdentity | null;
  /**
   * Whether the ticket can still be used: ACTIVE, not checked in, its performance not canceled (as
   * PostgreSQL has it now). What the "declined" e-mail tells the sender it may still do with it.
   */
  ticketUsable: boolean;
}

/**
 * What the new-date notice to an account holding tickets of a performance by accepted transfers
 * says, read when it is sent: the account, the performance as it is now, the seats of the active
 * tickets it holds of it (not as their buyer), and the transfers it holds them by (their
 * "received" e-mails are what it was told the start by).
 */
export interface HolderMailFacts {
  holder: { name: string; email: string };
  eventTitle: string;
  venue: string;
  timeZone: string;
  startsAt: Date;
  /** Whether the performance was canceled (its bulk refund may not have reached the tickets yet). */
  performanceCanceled: boolean;
  /** In seat order; never empty. */
  seats: { section: string; row: number; rowLabel: string; number: number }[];
  /** The accepted transfers (`ticket_transfers.id`) by which it holds them, in id order. */
  transferIds: string[];
}

interface TransferRow {
  id: string;
  ticket_id: string;
  sender_id: string;
  recipient_email: string;
  status: TicketTransferStatus;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  canceled_at: Date | null;
  declined_at: Date | null;
  cancel_reason: TransferCancelReason | null;
}

/**
 * When the pending transfer `tr` expires, in SQL: its own expiry, or the start of its ticket's
 * performance as it is now if that is sooner (an offer expires at the start it was made before, and
 * a reschedule may have moved the start before that expiry). What the accept, the decline, the
 * sender's cancel and every read of a transfer go by, so a listed expiry is the one the accept
 * applies.
 */
const EFFECTIVE_EXPIRY = `LEAST(tr.expires_at, (SELECT pf.starts_at FROM tickets t JOIN performances pf ON pf.id = t.performance_id
                                        WHERE t.id = tr.ticket_id))`;

/**
 * The account that holds ticket `t` of purchase `p`: who accepted it by a transfer, else the buyer
 * of an online purchase. A box office sale's ticket not transferred has none (NULL): the walk-up
 * holds it, and the clerk whose account stores the sale can never give it away.
 */
const HOLDER_ID = `COALESCE(t.holder_id, CASE WHEN p.sale_channel = 'ONLINE' THEN p.user_id END)`;

const TRANSFER_COLUMNS = `tr.id, tr.ticket_id::text AS ticket_id, tr.sender_id, tr.recipient_email, tr.status, tr.created_at,
  ${EFFECTIVE_EXPIRY} AS expires_at, tr.accepted_at, tr.canceled_at, tr.declined_at, tr.cancel_reason`;

/**
 * Ticket transfers (`ticket_transfers`) and the change of a ticket's holder they make. Every
 * change of a transfer and of its ticket happens in one transaction holding the rows it decides on
 * (`FOR UPDATE`), with the e-mail's outbox row and the account's `auth_events` row: so of an
 * accept and a cancel of one transfer, or two accepts, exactly one wins, and an accept and a
 * check-in of the ticket's old code are ordered by the ticket row (TicketsRepository.checkIn).
 */
@Injectable()
export class TicketTransfersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Offers `input.ticketId` to `input.recipientEmail`, when `input.senderId` holds it (its
   * `holder_id`, or its purchase's buyer while none) and it can change hands. The ticket row is
   * locked for the transaction; a PENDING offer of it past its expiry is written EXPIRED first. The
   * offer expires after `ttlMs` or at the performance's start, whichever is sooner. Writes the
   * offer e-mail's outbox row (`ticket-transfer-offered:<id>`) and TICKET_TRANSFER_OFFERED.
   */
  offer(input: NewTicketTransfer): Promise<OfferResult> {
    return this.dataSource.transaction(async (manager) => {
      const [ticket]: {
        id: string;
        purchase_id: string;
        performance_id: number;
        seat_id: number;
        code_version: number;
        status: string;
        checked_in_at: Date | null;
        holder: string;
        starts_at: Date;
        performance_canceled: boolean;
        sender_key: string;
      }[] = await manager.query(
        `SELECT t.id::text AS id, t.purchase_id, t.performance_id, t.seat_id, t.code_version, t.status, t.checked_in_at,
                ${HOLDER_ID} AS holder, pf.starts_at,
                (pf.status = 'CANCELED' OR EXISTS (SELECT 1 FROM performance_cancellations pc
                                                    WHERE pc.performance_id = t.performance_id)) AS performance_canceled,
                (SELECT email_key FROM users WHERE id = $2) AS sender_key
           FROM tickets t JOIN purchases p ON p.id = t.purchase_id JOIN performances pf ON pf.id = t.performance_id
          WHERE t.id = $1
          FOR UPDATE OF t`,
        [input.ticketId, input.senderId],
      );
      if (!ticket || ticket.holder !== input.senderId) return { outcome: 'NOT_FOUND' };
      if (ticket.sender_key === input.recipientEmailKey) return { outcome: 'SELF' };
      if (ticket.status !== 'ACTIVE') return { outcome: 'TICKET_CANCELED' };
      if (ticket.checked_in_at) return { outcome: 'CHECKED_IN' };
      if (ticket.performance_canceled) return { outcome: 'PERFORMANCE_CANCELED' };
      if (ticket.starts_at.getTime() <= input.now.getTime()) return { outcome: 'PERFORMANCE_STARTED' };
      if (ticket.code_version >= 0xffff) return { outcome: 'CODE_VERSIONS_USED_UP' };
      // Each offer e-mails an address the sender chose, so offers are bounded: per sender (its
      // offers of the hour, canceled ones included: a ticket offered and canceled over and over
      // mails no one without end), and per address by the different senders of the hour, so many
      // accounts cannot flood one inbox. The address's bound counts senders, not offers: one
      // sender's offers (at most its own bound) take one place, so no one sender can close an
      // address to everyone else's offers; a sender of the hour may go on within its own bound.
      // The address's offers in all are bounded too (maxOffersToAddressPerHour, a few times the
      // senders' bound): without it, its senders of the hour, each within its own bound, could
      // together mail it the square of that bound. That bound refuses only a sender that has had its
      // share of the address (offersToAddressPerSender): were it to refuse everyone, a few accounts
      // offering and canceling could use it up and close the address to a friend's first offer for
      // an hour. Each sender's share past the bound in all is at most that share, so the address
      // is still sent at most maxOffersToAddressPerHour + maxOffersPerHour × share offers an hour.
      // The two advisory locks, always taken in this order, make concurrent offers of one sender
      // or to one address count one after the other.
      await manager.query(
        `SELECT pg_advisory_xact_lock(hashtextextended('ticket-transfer-sender:' || $1, 0)),
                pg_advisory_xact_lock(hashtextextended('ticket-transfer-recipient:' || $2, 0))`,
        [input.senderId, input.recipientEmailKey],
      );
      const [recent]: { by_sender: number; other_senders: number; to_address: number; sender_to_address: number }[] =
        await manager.query(
          `SELECT (SELECT count(*) FROM ticket_transfers WHERE sender_id = $1 AND created_at > $3)::int AS by_sender,
                (SELECT count(DISTINCT sender_id) FROM ticket_transfers
                  WHERE recipient_email_key = $2 AND created_at > $3 AND sender_id <> $1)::int AS other_senders,
                (SELECT count(*) FROM ticket_transfers
                  WHERE recipient_email_key = $2 AND created_at > $3)::int AS to_address,
                (SELECT count(*) FROM ticket_transfers
                  WHERE recipient_email_key = $2 AND created_at > $3 AND sender_id = $1)::int AS sender_to_address`,
          [input.senderId, input.recipientEmailKey, new Date(input.now.getTime() - 3_600_000)],
        );
      if (
        recent.by_sender >= input.maxOffersPerHour ||
        recent.other_senders >= input.maxOffersPerHour ||
        (recent.to_address >= input.maxOffersToAddressPerHour &&
          recent.sender_to_address >= input.offersToAddressPerSender)
      ) {
        return { outcome: 'TOO_MANY_OFFERS' };
      }
      await manager.query(
        `UPDATE ticket_transfers SET status = 'EXPIRED'
          WHERE ticket_id = $1 AND status = 'PENDING' AND expires_at <= $2`,
        [input.ticketId, input.now],
      );
      const pending: unknown[] = await manager.query(
        `SELECT 1 FROM ticket_transfers WHERE ticket_id = $1 AND status = 'PENDING'`,
        [input.ticketId],
      );
      if (pending.length > 0) return { outcome: 'PENDING' };
      const expiresAt = new Date(Math.min(input.now.getTime() + input.ttlMs, ticket.starts_at.getTime()));
      const [row]: TransferRow[] = await manager.query(
        `INSERT INTO ticket_transfers AS tr (id, ticket_id, sender_id, recipient_email, recipient_email_key, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING ${TRANSFER_COLUMNS}`,
        [input.id, input.ticketId, input.senderId, input.recipientEmail, input.recipientEmailKey, input.now, expiresAt],
      );
      await this.queueMail(manager, input.id, 'offered');
      await this.recordEvent(manager, input.senderId, AuthEventType.TicketTransferOffered);
      return { outcome: 'CREATED', transfer: toRecord(row, input.now), ticket: identityOf(ticket) };
    });
  }

  /**
   * The ticket `transferId` would move, when `userId`'s confirmed address is its recipient's (the
   * accept's target, for the Redis mark taken before the accept itself), and whether the transfer
   * is still pending at `now` (not settled, before its expiry and the performance's start): one
   * that is not can never be again, so its accept needs no mark. Null otherwise, whatever the
   * transfer's state.
   */
  async acceptTarget(
    transferId: string,
    userId: string,
    now: Date,
  ): Promise<(TicketIdentity & { pending: boolean }) | null> {
    const [row]: (TicketIdentity & { ticket_id: string; pending: boolean })[] = await this.dataSource.query(
      `SELECT t.id::text AS ticket_id, t.purchase_id AS "purchaseId", t.performance_id AS "performanceId",
              t.seat_id AS "seatId", t.code_version AS "codeVersion",
              (tr.status = 'PENDING' AND ${EFFECTIVE_EXPIRY} > $3) AS pending
         FROM ticket_transfers tr JOIN tickets t ON t.id = tr.ticket_id JOIN users u ON u.id = $2
        WHERE tr.id = $1 AND u.email_verified_at IS NOT NULL AND u.email_key = tr.recipient_email_key`,
      [transferId, userId, now],
    );
    if (!row) return null;
    const { ticket_id: ticketId, ...rest } = row;
    return { ...rest, ticketId };
  }

  /**
   * Accepts `transferId` for `userId`, whose confirmed address must be the recipient's (NOT_FOUND
   * otherwise), while it is PENDING and before its EFFECTIVE_EXPIRY (`now`; EXPIRED after). One transaction: the ticket row,
   * then the transfer row locked `FOR UPDATE` (the order offers and cancellation writes take them in)
   * and the recipient's account row `FOR SHARE` (an account deleted meanwhile is NOT_FOUND); the ticket changed by one conditional UPDATE (still ACTIVE, not checked
   * in, held by the sender, its performance not canceled) that makes `userId` its holder and raises
   * its code version; the transfer ACCEPTED; the sender's e-mail (`ticket-transfer-accepted:<id>`)
   * and the new holder's, with the new code (`ticket-transfer-received:<id>`), in the outbox;
   * TICKET_TRANSFER_ACCEPTED. A ticket that can no longer move cancels the transfer in the same
   * transaction (its `cancel_reason` the refusal; no e-mail: the caller is answered why).
   */
  accept(transferId: string, userId: string, now: Date): Promise<AcceptResult> {
    return this.dataSource.transaction(async (manager) => {
      // Locks in the order every writer of both takes them, the ticket first, then its transfer
      // (an offer, the write of a purchase's cancellation): never a deadlock with them.
      const [head]: { ticket_id: string }[] = await manager.query(
        'SELECT ticket_id::text AS ticket_id FROM ticket_transfers WHERE id = $1',
        [transferId],
      );
      if (!head) return { outcome: 'NOT_FOUND' };
      await manager.query('SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE', [head.ticket_id]);
      // The recipient's row FOR SHARE too, read as it is once locked: a deletion of the account
      // (its row FOR UPDATE, what it holds read before its commit) is waited for and then refuses
      // the accept (no address matches), rather than the ticket moving to an account just deleted.
      const [transfer]: (TransferRow & { matches: boolean })[] = await manager.query(
        `SELECT ${TRANSFER_COLUMNS},
                (u.email_verified_at IS NOT NULL AND u.deleted_at IS NULL
                 AND u.email_key = tr.recipient_email_key) AS matches
           FROM ticket_transfers tr JOIN users u ON u.id = $2
          WHERE tr.id = $1
          FOR UPDATE OF tr FOR SHARE OF u`,
        [transferId, userId],
      );
      if (!transfer || !transfer.matches) return { outcome: 'NOT_FOUND' };
      const current = toRecord(transfer, now);
      if (current.status !== TicketTransferStatus.Pending) {
        const why = current.cancelReason ? { cancelReason: current.cancelReason } : {};
        return { outcome: 'NOT_PENDING', status: current.status, ...why };
      }
      const [moved]: (TicketIdentity & { id: string })[] = await updated(
        manager,
        `UPDATE tickets t SET holder_id = $2, code_version = t.code_version + 1
           FROM purchases p
          WHERE t.id = $1 AND p.id = t.purchase_id
            AND t.status = 'ACTIVE' AND t.checked_in_at IS NULL AND ${HOLDER_ID} = $3
            AND NOT EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id)
          RETURNING t.id::text AS id, t.purchase_id AS "purchaseId", t.performance_id AS "performanceId",
                    t.seat_id AS "seatId", t.code_version AS "codeVersion"`,
        [transfer.ticket_id, userId, transfer.sender_id],
      );
      if (!moved) {
        const refusal = await this.whyNotMovable(manager, transfer.ticket_id);
        await manager.query(
          `UPDATE ticket_transfers SET status = 'CANCELED', canceled_at = $2, cancel_reason = $3 WHERE id = $1`,
          [transferId, now, refusal],
        );
        return { outcome: refusal };
      }
      const [row]: TransferRow[] = await updated(
        manager,
        `UPDATE ticket_transfers tr SET status = 'ACCEPTED', accepted_at = $2, recipient_id = $3, code_version = $4
          WHERE tr.id = $1
          RETURNING ${TRANSFER_COLUMNS}`,
        [transferId, now, userId, moved.codeVersion],
      );
      await this.queueMail(manager, transferId, 'accepted');
      await this.queueMail(manager, transferId, 'received');
      await this.recordEvent(manager, userId, AuthEventType.TicketTransferAccepted);
      const { id, ...rest } = moved;
      return { outcome: 'ACCEPTED', transfer: toRecord(row, now), ticket: { ...rest, ticketId: id } };
    });
  }

  /**
   * The seats of `scope` whose accept marks (transfer-mark.lua) are dead: no accept of their ticket
   * has committed or can still commit. `scope` is the ticket of one transfer (`transferId`, once its
   * sender's cancel or its recipient's decline settled it) or seats `seatIds` of purchase
   * `purchaseId` (those whose marks refused the buyer's cancel). A ticket is unreachable when it has
   * no holder by an accepted transfer (`holder_id` NULL) and no offer of it is PENDING, once its
   * offers past their EFFECTIVE_EXPIRY (PostgreSQL's clock) are written EXPIRED, first, in the same
   * transaction.
   *
   * Safe against a concurrent accept: that UPDATE takes the row lock of each overdue offer, the lock
   * an accept takes (`FOR UPDATE`, after the ticket's) before it checks its offer is pending. An
   * accept holding it commits first: the UPDATE then finds the offer settled and leaves it, and the
   * SELECT, a statement of its own (READ COMMITTED: a snapshot after that commit), sees the new
   * holder, so the seat is kept. An accept coming after finds its offer EXPIRED and is refused. An
   * offer still before its expiry is PENDING, so its seat is kept while its accept may come.
   * An offer made and accepted after this read is the caller's to keep apart: DeadAcceptMarks takes
   * back only the marks it read in Redis before its last call of this (owned by transfers this call
   * found dead), never one a later accept set.
   *
   * Null when no seat is (or the transfer is unknown); seat ids ascending. Waits for a row lock at
   * most ROW_LOCK_TIMEOUT_MS, else throws DatabaseUnavailableError.
   */
  seatsNoAcceptCanReach(scope: AcceptMarkScope): Promise<AcceptUnreachableSeats | null> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        const target = 'transferId' in scope ? await seatOfTransfer(manager, scope.transferId) : scope;
        if (!target) return null;
        const { purchaseId, seatIds } = target;
        await manager.query(
          `UPDATE ticket_transfers tr SET status = 'EXPIRED'
             FROM tickets t
            WHERE t.id = tr.ticket_id AND t.purchase_id = $1 AND t.seat_id = ANY($2::int[])
              AND tr.status = 'PENDING' AND ${EFFECTIVE_EXPIRY} <= clock_timestamp()`,
          [purchaseId, seatIds],
        );
        const rows: { performance_id: number; seat_id: number }[] = await manager.query(
          `SELECT t.performance_id, t.seat_id FROM tickets t
            WHERE t.purchase_id = $1 AND t.seat_id = ANY($2::int[]) AND t.holder_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM ticket_transfers p WHERE p.ticket_id = t.id AND p.status = 'PENDING')
            ORDER BY t.seat_id`,
          [purchaseId, seatIds],
        );
        if (rows.length === 0) return null;
        return {
          performanceId: Number(rows[0].performance_id),
          purchaseId,
          seatIds: rows.map((row) => Number(row.seat_id)),
        };
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * The sender's cancel of its PENDING offer (before its EFFECTIVE_EXPIRY, `now`): one conditional
   * UPDATE, so of a cancel, a decline and an accept of one transfer exactly one changes it.
   * NOT_FOUND for anyone but the sender; NOT_PENDING with what it is now otherwise. Writes the
   * recipient's "withdrawn" e-mail to the outbox (`ticket-transfer-withdrawn:<id>`; the mailer sends
   * it only if the offer's went out) and TICKET_TRANSFER_CANCELED.
   */
  cancel(transferId: string, senderId: string, now: Date): Promise<CancelTransferResult> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: TransferRow[] = await updated(
        manager,
        `UPDATE ticket_transfers tr SET status = 'CANCELED', canceled_at = $3, cancel_reason = 'SENDER'
          WHERE tr.id = $1 AND tr.sender_id = $2 AND tr.status = 'PENDING' AND ${EFFECTIVE_EXPIRY} > $3
          RETURNING ${TRANSFER_COLUMNS}`,
        [transferId, senderId, now],
      );
      if (row) {
        await this.queueMail(manager, transferId, 'withdrawn');
        await this.recordEvent(manager, senderId, AuthEventType.TicketTransferCanceled);
        return { outcome: 'CANCELED', transfer: toRecord(row, now) };
      }
      const [current]: TransferRow[] = await manager.query(
        `SELECT ${TRANSFER_COLUMNS} FROM ticket_transfers tr WHERE tr.id = $1 AND tr.sender_id = $2`,
        [transferId, senderId],
      );
      if (!current) return { outcome: 'NOT_FOUND' };
      return { outcome: 'NOT_PENDING', status: toRecord(current, now).status };
    });
  }

  /**
   * The recipient's decline of a PENDING offer (before its EFFECTIVE_EXPIRY, `now`), by `userId`
   * whose confirmed address is the recipient's: one conditional UPDATE, so of a decline, an accept
   * and the sender's cancel of one transfer exactly one changes it (an accept holds the row lock
   * until it commits; this UPDATE then finds it ACCEPTED). NOT_FOUND for anyone else (the sender
   * too) and for an unknown id, whatever its state; NOT_PENDING with what it is now otherwise. The
   * transfer DECLINED, `declined_at` and `recipient_id` set; the sender's e-mail in the outbox
   * (`ticket-transfer-declined:<id>`); TICKET_TRANSFER_DECLINED.
   */
  decline(transferId: string, userId: string, now: Date): Promise<DeclineTransferResult> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: TransferRow[] = await updated(
        manager,
        `UPDATE ticket_transfers tr SET status = 'DECLINED', declined_at = $3, recipient_id = $2
           FROM users u
          WHERE tr.id = $1 AND u.id = $2 AND u.email_verified_at IS NOT NULL AND u.email_key = tr.recipient_email_key
            AND tr.status = 'PENDING' AND ${EFFECTIVE_EXPIRY} > $3
          RETURNING ${TRANSFER_COLUMNS}`,
        [transferId, userId, now],
      );
      if (row) {
        await this.queueMail(manager, transferId, 'declined');
        await this.recordEvent(manager, userId, AuthEventType.TicketTransferDeclined);
        return { outcome: 'DECLINED', transfer: toRecord(row, now) };
      }
      const [current]: TransferRow[] = await manager.query(
        `SELECT ${TRANSFER_COLUMNS}
           FROM ticket_transfers tr JOIN users u ON u.id = $2
          WHERE tr.id = $1 AND u.email_verified_at IS NOT NULL AND u.email_key = tr.recipient_email_key`,
        [transferId, userId],
      );
      if (!current) return { outcome: 'NOT_FOUND' };
      return { outcome: 'NOT_PENDING', status: toRecord(current, now).status };
    });
  }

  /**
   * Up to `limit` transfers `userId` sent, or received at its address while that address is
   * confirmed, newest first (by creation, then id), after the keyset `after` when given.
   */
  async listFor(
    userId: string,
    after: { createdAt: Date; id: string } | null,
    limit: number,
    now: Date,
  ): Promise<TicketTransferRecord[]> {
    const rows: TransferRow[] = await this.dataSource.query(
      `WITH me AS (
         SELECT id, CASE WHEN email_verified_at IS NOT NULL THEN email_key END AS key FROM users WHERE id = $1
       )
       SELECT ${TRANSFER_COLUMNS}
         FROM ticket_transfers tr, me
        WHERE (tr.sender_id = me.id OR tr.recipient_email_key = me.key)
          AND ($2::timestamptz IS NULL OR (tr.created_at, tr.id) < ($2::timestamptz, $3::uuid))
        ORDER BY tr.created_at DESC, tr.id DESC
        LIMIT $4`,
      [userId, after?.createdAt ?? null, after?.id ?? null, limit],
    );
    return rows.map((row) => toRecord(row, now));
  }

  /**
   * What the e-mails of `transferId` say, read now (in `manager`'s transaction when given, after a
   * lock it took); null when it no longer exists.
   */
  async mailFacts(transferId: string, now: Date, manager?: EntityManager): Promise<TransferMailFacts | null> {
    const [row]: (TransferRow & {
      sender_name: string;
      sender_email: string;
      recipient_name: string | null;
      recipient_account_email: string | null;
      event_title: string;
      venue: string;
      time_zone: string;
      starts_at: Date;
      section: string;
      row: number;
      row_label: string;
      number: number;
      purchase_id: string;
      performance_id: number;
      seat_id: number;
      code_version: number;
      held_by_it: boolean;
      ticket_usable: boolean;
    })[] = await (manager ?? this.dataSource).query(
      `SELECT ${TRANSFER_COLUMNS}, su.name AS sender_name, su.email AS sender_email,
              ru.name AS recipient_name, ru.email AS recipient_account_email,
              e.title AS event_title, e.venue, e.time_zone, pf.starts_at, s.section, s."row", s.row_label, s."number",
              t.purchase_id, t.performance_id, t.seat_id, t.code_version,
              (tr.status = 'ACCEPTED' AND t.status = 'ACTIVE' AND t.code_version = tr.code_version) AS held_by_it,
              (t.status = 'ACTIVE' AND t.checked_in_at IS NULL AND pf.status <> 'CANCELED'
               AND NOT EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id))
                AS ticket_usable
         FROM ticket_transfers tr
         JOIN users su ON su.id = tr.sender_id
         LEFT JOIN users ru ON ru.id = tr.recipient_id
         JOIN tickets t ON t.id = tr.ticket_id
         JOIN seats s ON s.id = t.seat_id
         JOIN performances pf ON pf.id = t.performance_id
         JOIN events e ON e.id = pf.event_id
        WHERE tr.id = $1`,
      [transferId],
    );
    if (!row) return null;
    return {
      transfer: toRecord(row, now),
      cancelReason: row.cancel_reason,
      sender: { name: row.sender_name, email: row.sender_email },
      recipient:
        row.recipient_name !== null && row.recipient_account_email !== null
          ? { name: row.recipient_name, email: row.recipient_account_email }
          : null,
      eventTitle: row.event_title,
      venue: row.venue,
      timeZone: row.time_zone,
      startsAt: row.starts_at,
      seat: { section: row.section, row: row.row, rowLabel: row.row_label, number: row.number },
      heldTicket: row.held_by_it
        ? {
            ticketId: row.ticket_id,
            purchaseId: row.purchase_id,
            performanceId: row.performance_id,
            seatId: row.seat_id,
            codeVersion: row.code_version,
          }
        : null,
      ticketUsable: row.ticket_usable,
    };
  }

  /**
   * What the new-date notice to `holderId` about performance `performanceId` says, read now (in
   * `manager`'s transaction, after the locks it took): null when the account holds no active ticket
   * of it by a transfer (passed on again, canceled, or the account is gone).
   */
  async holderMailFacts(
    holderId: string,
    performanceId: number,
    manager: EntityManager,
  ): Promise<HolderMailFacts | null> {
    const [row]: {
      name: string;
      email: string;
      event_title: string;
      venue: string;
      time_zone: string;
      starts_at: Date;
      performance_canceled: boolean;
      seats: HolderMailFacts['seats'];
      transfer_ids: (string | null)[];
    }[] = await manager.query(
      `SELECT u.name, u.email, e.title AS event_title, e.venue, e.time_zone, pf.starts_at,
              (pf.status = 'CANCELED' OR EXISTS (SELECT 1 FROM performance_cancellations pc
                                                  WHERE pc.performance_id = pf.id)) AS performance_canceled,
              json_agg(json_build_object('section', s.section, 'row', s."row", 'rowLabel', s.row_label,
                                         'number', s."number") ORDER BY s.position) AS seats,
              array_agg(DISTINCT tr.id::text) AS transfer_ids
         FROM tickets t
         JOIN purchases p ON p.id = t.purchase_id
         JOIN users u ON u.id = t.holder_id
         JOIN seats s ON s.id = t.seat_id
         JOIN performances pf ON pf.id = t.performance_id
         JOIN events e ON e.id = pf.event_id
         LEFT JOIN ticket_transfers tr ON tr.ticket_id = t.id AND tr.status = 'ACCEPTED'
                                      AND tr.recipient_id = t.holder_id AND tr.code_version = t.code_version
        WHERE t.holder_id = $1::uuid AND t.performance_id = $2 AND t.status = 'ACTIVE' AND t.holder_id <> p.user_id
        GROUP BY u.id, e.id, pf.id`,
      [holderId, performanceId],
    );
    if (!row) return null;
    return {
      holder: { name: row.name, email: row.email },
      eventTitle: row.event_title,
      venue: row.venue,
      timeZone: row.time_zone,
      startsAt: row.starts_at,
      performanceCanceled: row.performance_canceled,
      seats: row.seats,
      transferIds: row.transfer_ids.filter((id): id is string => id !== null).sort(),
    };
  }

  private async whyNotMovable(
    manager: EntityManager,
    ticketId: string,
  ): Promise<'TICKET_CANCELED' | 'CHECKED_IN' | 'PERFORMANCE_CANCELED'> {
    const [state]: { status: string; checked_in_at: Date | null; performance_canceled: boolean }[] =
      await manager.query(
        `SELECT t.status, t.checked_in_at,
                EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id)
                  AS performance_canceled
           FROM tickets t WHERE t.id = $1`,
        [ticketId],
      );
    if (!state) return 'TICKET_CANCELED';
    if (state.checked_in_at) return 'CHECKED_IN';
    if (state.performance_canceled) return 'PERFORMANCE_CANCELED';
    // Canceled, or (never while a transfer is pending: offers lock the ticket) held by someone else.
    return 'TICKET_CANCELED';
  }

  private async queueMail(
    manager: EntityManager,
    transferId: string,
    event: 'offered' | 'accepted' | 'received' | 'declined' | 'withdrawn',
  ): Promise<void> {
    await manager.query(
      `INSERT INTO outbox (message_id, routing_key, payload)
       VALUES ($1, $2, jsonb_build_object('type', 'ticket-transfer', 'transferId', $3::text, 'event', $4::text))
       ON CONFLICT (message_id) DO NOTHING`,
      [`ticket-transfer-${event}:${transferId}`, TRANSFER_ROUTING_KEY, transferId, event],
    );
  }

  private async recordEvent(manager: EntityManager, userId: string, type: AuthEventType): Promise<void> {
    await manager.query('INSERT INTO auth_events (user_id, type) VALUES ($1, $2)', [userId, type]);
  }
}

/**
 * Queues the "the ticket you received was canceled" e-mail (`ticket-transfer-canceled:<transfer
 * id>`, through the transfer its holder accepted last) for each ticket the caller's transaction
 * canceled or refunded while someone held it by a transfer (ACTIVE → CANCELED, or a partial refund's
 * claim of a ticket its purchase's cancellation reached first): the buyer, whom the purchase's own
 * notice tells, is not its holder. The mail is keyed by the transfer, so a ticket passed here by both
 * writes is told once. `tickets[i].bulk`: on the bulk mail queue
 * (`purchase.canceled.performance`, a canceled show's), else the urgent one. Run it as a statement
 * of its own after the one that canceled them: an accept holding a ticket's row makes that UPDATE
 * wait and then read the new holder, but a transfer read in the same statement would come from its
 * snapshot, taken before that accept committed (READ COMMITTED); this statement's snapshot sees it.
 */
export async function queueReceivedTicketCanceledNotices(
  manager: EntityManager,
  tickets: readonly { id: string; holderId: string; bulk: boolean }[],
): Promise<void> {
  if (tickets.length === 0) return;
  await manager.query(
    `INSERT INTO outbox (message_id, routing_key, payload)
     SELECT 'ticket-transfer-canceled:' || tr.id,
            CASE WHEN canceled.bulk THEN 'purchase.canceled.performance' ELSE $4 END,
            jsonb_build_object('type', 'ticket-transfer', 'transferId', tr.id::text, 'event', 'canceled')
       FROM unnest($1::bigint[], $2::uuid[], $3::boolean[]) AS canceled(id, holder_id, bulk)
       JOIN LATERAL (SELECT x.id FROM ticket_transfers x
                      WHERE x.ticket_id = canceled.id AND x.status = 'ACCEPTED' AND x.recipient_id = canceled.holder_id
                      ORDER BY x.accepted_at DESC LIMIT 1) tr ON true
      ORDER BY tr.id
     ON CONFLICT (message_id) DO NOTHING`,
    [tickets.map((t) => t.id), tickets.map((t) => t.holderId), tickets.map((t) => t.bulk), TRANSFER_ROUTING_KEY],
  );
}

/**
 * Cancels the PENDING transfers of the tickets of the purchases canceled here (`cancel_reason`
 * PURCHASE_CANCELED), in the caller's transaction: the write of their cancellation (a buyer's
 * cancel, an operator's refund, a canceled performance's bulk refund). Each recipient of an offer
 * not expired yet gets the "withdrawn" e-mail through the outbox
 * (`ticket-transfer-withdrawn:<id>`): on the bulk mail queue (`purchase.canceled.performance`) for a
 * canceled show's bulk refund (`canceledBy` 'performance'), the urgent one otherwise, as the
 * holders' notices. `canceledBy[i]` is what canceled `purchaseIds[i]`. A replayed cancellation finds
 * no offer pending: nothing again.
 */
export async function cancelPendingTransfersOfPurchases(
  manager: EntityManager,
  purchaseIds: readonly string[],
  canceledBy: readonly (string | null)[],
): Promise<void> {
  if (purchaseIds.length === 0) return;
  await manager.query(
    `WITH cause AS (
       SELECT * FROM unnest($1::uuid[], $2::text[]) AS c(id, canceled_by)
     ), ended AS (
       UPDATE ticket_transfers tr SET status = 'CANCELED', canceled_at = clock_timestamp(), cancel_reason = 'PURCHASE_CANCELED'
         FROM tickets t JOIN performances pf ON pf.id = t.performance_id
        WHERE t.id = tr.ticket_id AND t.purchase_id = ANY($1::uuid[]) AND tr.status = 'PENDING'
        RETURNING tr.id, t.purchase_id, LEAST(tr.expires_at, pf.starts_at) > clock_timestamp() AS still_open
     )
     INSERT INTO outbox (message_id, routing_key, payload)
     SELECT 'ticket-transfer-withdrawn:' || ended.id,
            CASE WHEN cause.canceled_by = 'performance' THEN 'purchase.canceled.performance' ELSE $3 END,
            jsonb_build_object('type', 'ticket-transfer', 'transferId', ended.id::text, 'event', 'withdrawn')
       FROM ended LEFT JOIN cause ON cause.id = ended.purchase_id
      WHERE ended.still_open
      ORDER BY ended.id
     ON CONFLICT (message_id) DO NOTHING`,
    [purchaseIds, canceledBy, TRANSFER_ROUTING_KEY],
  );
}

/**
 * Cancels the PENDING transfers of the tickets partial refunds voided (`tickets.refund_id` one of
 * `refundIds`; `purchaseIds` their purchases, which find the tickets by index), in the caller's
 * transaction: the write of the refunds, after its tickets were voided. `cancel_reason`
 * TICKET_CANCELED (the ticket went, its purchase stands: an accept's 409 and the transfer list say
 * so, not "canceled with its purchase"); as `cancelPendingTransfersOfPurchases` for a whole cancel,
 * the recipient of an offer not expired yet gets the "withdrawn" e-mail (urgent queue). A replayed
 * refund finds no offer pending: nothing again.
 */
export async function cancelPendingTransfersOfRefunds(
  manager: EntityManager,
  purchaseIds: readonly string[],
  refundIds: readonly string[],
): Promise<void> {
  if (refundIds.length === 0) return;
  await manager.query(
    `WITH ended AS (
       UPDATE ticket_transfers tr SET status = 'CANCELED', canceled_at = clock_timestamp(), cancel_reason = 'TICKET_CANCELED'
         FROM tickets t JOIN performances pf ON pf.id = t.performance_id
        WHERE t.id = tr.ticket_id AND t.purchase_id = ANY($1::uuid[]) AND t.refund_id = ANY($2::uuid[])
          AND tr.status = 'PENDING'
        RETURNING tr.id, LEAST(tr.expires_at, pf.starts_at) > clock_timestamp() AS still_open
     )
     INSERT INTO outbox (message_id, routing_key, payload)
     SELECT 'ticket-transfer-withdrawn:' || ended.id, $3,
            jsonb_build_object('type', 'ticket-transfer', 'transferId', ended.id::text, 'event', 'withdrawn')
       FROM ended
      WHERE ended.still_open
      ORDER BY ended.id
     ON CONFLICT (message_id) DO NOTHING`,
    [purchaseIds, refundIds, TRANSFER_ROUTING_KEY],
  );
}

/**
 * The rows an `UPDATE … RETURNING` gave back: TypeORM's PostgreSQL driver answers an UPDATE with
 * `[rows, rowCount]`, not the rows alone.
 */
async function updated<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const result: unknown = await manager.query(sql, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

/** The purchase and seat of transfer `transferId`'s ticket (one seat); null for an unknown transfer. */
async function seatOfTransfer(
  manager: EntityManager,
  transferId: string,
): Promise<{ purchaseId: string; seatIds: number[] } | null> {
  const [ticket]: { purchase_id: string; seat_id: number }[] = await manager.query(
    `SELECT t.purchase_id, t.seat_id FROM ticket_transfers tr JOIN tickets t ON t.id = tr.ticket_id WHERE tr.id = $1`,
    [transferId],
  );
  return ticket ? { purchaseId: ticket.purchase_id, seatIds: [Number(ticket.seat_id)] } : null;
}

function identityOf(ticket: {
  id: string;
  purchase_id: string;
  performance_id: number;
  seat_id: number;
  code_version: number;
}): TicketIdentity {
  return {
    ticketId: ticket.id,
    purchaseId: ticket.purchase_id,
    performanceId: ticket.performance_id,
    seatId: ticket.seat_id,
    codeVersion: ticket.code_version,
  };
}

function toRecord(row: TransferRow, now: Date): TicketTransferRecord {
  const expired = row.status === TicketTransferStatus.Pending && row.expires_at.getTime() <= now.getTime();
  return {
    id: row.id,
    ticketId: row.ticket_id,
    senderId: row.sender_id,
    recipientEmail: row.recipient_email,
    status: expired ? TicketTransferStatus.Expired : row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    canceledAt: row.canceled_at,
    declinedAt: row.declined_at,
    cancelReason: row.status === TicketTransferStatus.Canceled ? row.cancel_reason : null,
  };
}
