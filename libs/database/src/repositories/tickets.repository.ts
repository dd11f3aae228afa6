import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { TicketStatus } from '../entities/ticket.entity';

/** What a ticket code names: the ticket and the purchase, performance and seat it belongs to. */
export interface TicketIdentity {
  /** bigint identity, as a decimal string. */
  ticketId: string;
  purchaseId: string;
  performanceId: number;
  seatId: number;
  /** Version of the ticket's code (0 until its first transfer); a code naming another one is void. */
  codeVersion: number;
}

/** One ticket with its seat, as its buyer and the door see it. */
export interface TicketRecord extends TicketIdentity {
  status: TicketStatus;
  section: string;
  row: number;
  /** What the ticket calls the row ("A", "AA"). */
  rowLabel: string;
  number: number;
  checkedInAt: Date | null;
  /** Who holds it after a transfer (the account that accepted it); null: its purchase's buyer. */
  holderId: string | null;
}

/**
 * Who a check-in admits: the account that accepted the ticket by a transfer; else, for a box office
 * sale, the walk-up as the window took them (`delivery_name`, `delivery_email`: either may be null,
 * the selling clerk is never the holder); else the buyer's account.
 */
export interface CheckInHolder {
  name: string | null;
  email: string | null;
}

/**
 * The account that checked a ticket in (`tickets.checked_in_by`): the door's staff account (its
 * name is what the venue called that door, say "Gate 2") or an admin. Null where a check-in names
 * none: the account was deleted since.
 */
export interface CheckedInBy {
  id: string;
  email: string;
  name: string;
}

/** What one check-in did; exactly one of concurrent check-ins of a ticket is `CHECKED_IN`. */
export type CheckInResult =
  | { outcome: 'CHECKED_IN'; ticket: TicketRecord; holder: CheckInHolder }
  /** Checked in before: when, and by which account (the door), null once that account is gone. */
  | { outcome: 'ALREADY_CHECKED_IN'; checkedInAt: Date; checkedInBy: CheckedInBy | null }
  | { outcome: 'CANCELED' }
  | { outcome: 'PERFORMANCE_CANCELED' }
  /** The code names an older code version: the ticket was transferred since, and this code is void. */
  | { outcome: 'TRANSFERRED' }
  /**
   * `at` lay outside the performance's check-in window: the window the UPDATE compared it with
   * (`opensAt` included, `closesAt` excluded) around `startsAt`, all as that statement read them.
   */
  | { outcome: 'OUTSIDE_WINDOW'; startsAt: Date; opensAt: Date; closesAt: Date }
  | { outcome: 'NOT_FOUND' };

/**
 * When a check-in happens and the window it must fall in: from `opensBeforeMinutes` before the
 * performance's start (included) to `closesAfterMinutes` after it (excluded), each unless the
 * performance has its own (check_in_opens_before_minutes, check_in_closes_after_minutes).
 */
export interface CheckInWindowBounds {
  at: Date;
  opensBeforeMinutes: number;
  closesAfterMinutes: number;
}

interface TicketRow {
  id: string;
  purchase_id: string;
  performance_id: number;
  seat_id: number;
  status: TicketStatus;
  section: string;
  row: number;
  row_label: string;
  number: number;
  checked_in_at: Date | null;
  code_version: number;
  holder_id: string | null;
  check_in_mark?: string | null;
}

const TICKET_COLUMNS = `t.id::text AS id, t.purchase_id, t.performance_id, t.seat_id, t.status, s.section, s."row", s.row_label,
  s."number", t.checked_in_at, t.code_version, t.holder_id, t.check_in_mark`;

/**
 * The identity of the check-in of ticket row `t` (checked in): the token of its scan's Redis mark,
 * or, for a check-in made before tokens were recorded, `at:` and its instant in epoch microseconds.
 * Each check-in of a ticket has its own: an undo records it in Redis, and a cancel that read the
 * check-in from PostgreSQL before the undo leaves it out (cancel-purchase.lua).
 */
const CHECK_IN_IDENTITY = `COALESCE(t.check_in_mark, 'at:' || (extract(epoch FROM t.checked_in_at) * 1000000)::bigint)`;

/** A checked-in seat of a purchase, as a cancel reads it: the seat and the identity of its check-in. */
export interface CheckedInSeat {
  seatId: number;
  /** The check-in's identity: its scan's mark token, or `at:<epoch µs>` for one made before tokens. */
  checkIn: string;
}

/** A ticket and its check-in, as an undo of the check-in reads them (TicketsRepository.checkInOf). */
export interface TicketCheckInState {
  ticket: TicketRecord;
  /** Its purchase is CANCELED in PostgreSQL (a cancellation only in Redis is not seen here). */
  purchaseCanceled: boolean;
  /** Its performance was canceled (a row of performance_cancellations). */
  performanceCanceled: boolean;
  /** Its check-in; null while it is not checked in. */
  checkIn: {
    at: Date;
    /** The account that scanned it; null once that account was deleted. */
    byId: string | null;
    byEmail: string | null;
    /** That account's name (what the venue called the door); null once it was deleted. */
    byName: string | null;
    /** See {@link CheckedInSeat}.checkIn. */
    identity: string;
    /** Its scan's mark token; null for a check-in made before tokens were recorded. */
    markToken: string | null;
    /** PostgreSQL's clock is still within the staff's undo minutes of `at`. */
    withinStaffWindow: boolean;
  } | null;
}

/** A check-in a moved performance clears (TicketsRepository.lockCheckInsBefore). */
export interface CheckInToClear {
  ticketId: string;
  purchaseId: string;
  seatId: number;
  codeVersion: number;
  /** See {@link CheckedInSeat}.checkIn. */
  identity: string;
  /** Its scan's mark token; null for a check-in made before tokens were recorded. */
  markToken: string | null;
}

/**
 * CTEs of the check-in statement (after its `w` and `admitted`) that end the pending transfer offer
 * of the ticket it admitted, at once (one past its expiry is left to read EXPIRED, as ever):
 * CANCELED with `cancel_reason` CHECKED_IN (its holder came in on it: nothing is left to give), and
 * the recipient's "withdrawn" e-mail in the outbox (`ticket-transfer-withdrawn:<id>`, routed as
 * every transfer e-mail; the mailer sends it only if the offer's went out). In the same statement
 * as the check-in, so a scan costs no round trip more; a ticket without a pending offer writes
 * nothing here (the partial unique index of pending offers finds none). The ticket row is locked
 * first, then the offer's, the order an accept takes them in: of a check-in and an accept of its
 * offer exactly one goes through (the accept then finds the offer CANCELED, or the check-in the old
 * code TRANSFERRED).
 */
/**
 * The holder's name and e-mail (CheckInHolder) of ticket `t` of purchase `p` bought by account `u`:
 * who accepted it by a transfer, else a box office sale's walk-up, else the buyer.
 */
const HOLDER_NAME = `CASE WHEN t.holder_id IS NOT NULL THEN (SELECT h.name FROM users h WHERE h.id = t.holder_id)
                          WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_name ELSE u.name END`;
const HOLDER_EMAIL = `CASE WHEN t.holder_id IS NOT NULL THEN (SELECT h.email FROM users h WHERE h.id = t.holder_id)
                           WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_email ELSE u.email END`;

const END_OFFERS_OF_ADMITTED = `ended_offers AS (
         UPDATE ticket_transfers tr SET status = 'CANCELED', canceled_at = clock_timestamp(), cancel_reason = 'CHECKED_IN'
           FROM admitted, w
          WHERE tr.ticket_id = admitted.id::bigint AND tr.status = 'PENDING'
            AND LEAST(tr.expires_at, w.starts_at) > clock_timestamp()
          RETURNING tr.id
       ), withdrawn_mail AS (
         INSERT INTO outbox (message_id, routing_key, payload)
         SELECT 'ticket-transfer-withdrawn:' || ended_offers.id, 'ticket.transfer',
                jsonb_build_object('type', 'ticket-transfer', 'transferId', ended_offers.id::text, 'event', 'withdrawn')
           FROM ended_offers
         ON CONFLICT (message_id) DO NOTHING
       )`;

/** Tries of a check-in whose UPDATE misses a ticket that admits by the read after it (see `checkIn`). */
const CHECK_IN_ATTEMPTS = 3;

/** Tickets (written by the purchase flusher) and their check-in at the door. */
@Injectable()
export class TicketsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes `count` ticket ids from the tickets' identity ahead of their rows (decimal strings,
   * ascending): a box office sale signs its tickets' codes with them before the flush writes its
   * tickets under them (PurchaseRepository's batch). An id taken and never used (the sale refused)
   * is a gap in the sequence, as a rolled-back insert leaves.
   */
  async reserveIds(count: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT nextval(pg_get_serial_sequence('tickets', 'id'))::text AS id FROM generate_series(1, $1)`,
      [count],
    );
    return rows.map((row) => row.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  }

  /**
   * The tickets of a persisted purchase in seat order, with its buyer's id; null when the purchase
   * is not in PostgreSQL (unknown, or not written behind yet).
   */
  async ofPurchase(purchaseId: string): Promise<{ userId: string; tickets: TicketRecord[] } | null> {
    const rows: (TicketRow & { user_id: string })[] = await this.dataSource.query(
      `SELECT p.user_id, ${TICKET_COLUMNS}
         FROM purchases p JOIN tickets t ON t.purchase_id = p.id JOIN seats s ON s.id = t.seat_id
        WHERE p.id = $1
        ORDER BY s.position`,
      [purchaseId],
    );
    // The flusher writes a purchase and its tickets in one statement: no purchase row has none.
    if (rows.length === 0) return null;
    return { userId: rows[0].user_id, tickets: rows.map(toRecord) };
  }

  /**
   * {@link ofPurchase} with each ticket's holder's name as the door names it (see CheckInHolder: who
   * accepted it by a transfer, else a box office sale's walk-up, else the buyer; null when not
   * known, e.g. a walk-up who gave none): what a printed ticket shows. Null when the purchase is not
   * in PostgreSQL (unknown, or not written behind yet).
   */
  async printableOf(
    purchaseId: string,
  ): Promise<{ userId: string; tickets: (TicketRecord & { holderName: string | null })[] } | null> {
    const rows: (TicketRow & { user_id: string; holder_name: string | null })[] = await this.dataSource.query(
      `SELECT p.user_id, ${HOLDER_NAME} AS holder_name, ${TICKET_COLUMNS}
         FROM purchases p JOIN tickets t ON t.purchase_id = p.id JOIN seats s ON s.id = t.seat_id
         LEFT JOIN users u ON u.id = p.user_id
        WHERE p.id = $1
        ORDER BY s.position`,
      [purchaseId],
    );
    if (rows.length === 0) return null;
    return {
      userId: rows[0].user_id,
      tickets: rows.map((row) => ({ ...toRecord(row), holderName: row.holder_name })),
    };
  }

  /** The purchase, performance and seat of ticket `ticketId` (a bigint, decimal); null when there is none. */
  async locate(ticketId: string): Promise<{ purchaseId: string; performanceId: number; seatId: number } | null> {
    const [row]: { purchase_id: string; performance_id: number; seat_id: number }[] = await this.dataSource.query(
      'SELECT purchase_id, performance_id, seat_id FROM tickets WHERE id = $1',
      [ticketId],
    );
    return row ? { purchaseId: row.purchase_id, performanceId: row.performance_id, seatId: row.seat_id } : null;
  }

  /**
   * Up to `limit` tickets `userId` holds, newest ticket first (by id, below `beforeTicketId` when
   * given): the tickets of its own purchases not transferred away (`holder_id` null) and those it
   * received (`holder_id` = it). A box office sale's tickets are the walk-up's, not the selling
   * account's: not among them. Tickets of purchases not written here yet are not among them.
   * Canceled ones are (status CANCELED).
   */
  async heldBy(userId: string, beforeTicketId: string | null, limit: number): Promise<TicketRecord[]> {
    const rows: TicketRow[] = await this.dataSource.query(
      `WITH held AS (
         (SELECT t.id FROM purchases p JOIN tickets t ON t.purchase_id = p.id
           WHERE p.user_id = $1 AND p.sale_channel = 'ONLINE' AND t.holder_id IS NULL
             AND ($2::bigint IS NULL OR t.id < $2::bigint)
           ORDER BY t.id DESC LIMIT $3)
         UNION ALL
         (SELECT t.id FROM tickets t
           WHERE t.holder_id = $1 AND ($2::bigint IS NULL OR t.id < $2::bigint)
           ORDER BY t.id DESC LIMIT $3)
       )
       SELECT ${TICKET_COLUMNS}
         FROM held JOIN tickets t ON t.id = held.id JOIN seats s ON s.id = t.seat_id
        ORDER BY t.id DESC LIMIT $3`,
      [userId, beforeTicketId, limit],
    );
    return rows.map(toRecord);
  }

  /**
   * Section, row, row label and number of `seatIds` of the performance, in layout order (seats unknown to
   * it are left out): the seats of a purchase whose tickets were never issued.
   */
  async seatsOf(
    performanceId: number,
    seatIds: number[],
  ): Promise<{ seatId: number; section: string; row: number; rowLabel: string; number: number }[]> {
    const rows: { id: number; section: string; row: number; row_label: string; number: number }[] =
      await this.dataSource.query(
        `SELECT id, section, "row", row_label, "number" FROM seats
         WHERE performance_id = $1 AND id = ANY($2::int[]) ORDER BY position`,
        [performanceId, seatIds],
      );
    return rows.map((row) => ({
      seatId: Number(row.id),
      section: row.section,
      row: row.row,
      rowLabel: row.row_label,
      number: row.number,
    }));
  }

  /**
   * The ticket's status, when it was checked in at the door (null: not yet) and by which account
   * (null: not checked in, or that account was deleted since), and its code version now, read
   * together in one statement; null when there is no such ticket (the ticket id, purchase,
   * performance and seat of `identity` must match; its code version is not compared).
   */
  async doorState(identity: TicketIdentity): Promise<{
    status: TicketStatus;
    checkedInAt: Date | null;
    checkedInBy: CheckedInBy | null;
    codeVersion: number;
  } | null> {
    const [row]: {
      status: TicketStatus;
      checked_in_at: Date | null;
      code_version: number;
      by_id: string | null;
      by_email: string | null;
      by_name: string | null;
    }[] = await this.dataSource.query(
      `SELECT t.status, t.checked_in_at, t.code_version, u.id AS by_id, u.email AS by_email, u.name AS by_name
         FROM tickets t LEFT JOIN users u ON u.id = t.checked_in_by AND t.checked_in_at IS NOT NULL
        WHERE t.id = $1 AND t.purchase_id = $2 AND t.performance_id = $3 AND t.seat_id = $4`,
      [identity.ticketId, identity.purchaseId, identity.performanceId, identity.seatId],
    );
    if (!row) return null;
    return {
      status: row.status,
      checkedInAt: row.checked_in_at,
      checkedInBy: row.by_id ? { id: row.by_id, email: row.by_email as string, name: row.by_name as string } : null,
      codeVersion: row.code_version,
    };
  }

  /**
   * Seat ids of the purchase's tickets ever transferred (held by an account through an accepted
   * transfer), refunded ones too: the buyer can no longer cancel the purchase while one of them is
   * still its seat (cancel-purchase.lua decides). None before it is written here.
   */
  async transferredSeatIds(purchaseId: string): Promise<number[]> {
    const rows: { seat_id: number }[] = await this.dataSource.query(
      'SELECT seat_id FROM tickets WHERE purchase_id = $1 AND holder_id IS NOT NULL ORDER BY seat_id',
      [purchaseId],
    );
    return rows.map((row) => row.seat_id);
  }

  /**
   * The purchase's tickets checked in at the door (none before it is written here), each seat with
   * the identity of its check-in (see {@link CheckedInSeat}), in seat id order.
   */
  async checkedInSeats(purchaseId: string): Promise<CheckedInSeat[]> {
    const rows: { seat_id: number; check_in: string }[] = await this.dataSource.query(
      `SELECT seat_id, ${CHECK_IN_IDENTITY} AS check_in FROM tickets t
        WHERE purchase_id = $1 AND checked_in_at IS NOT NULL ORDER BY seat_id`,
      [purchaseId],
    );
    return rows.map((row) => ({ seatId: row.seat_id, checkIn: row.check_in }));
  }

  /**
   * The ticket `ticketId` (a bigint, decimal) as an undo of its check-in needs it: its seat, status,
   * code version, its purchase's status in PostgreSQL, whether its performance was canceled, and its
   * check-in (when, by whom, its identity, and whether PostgreSQL's clock is still within
   * `staffUndoMinutes` of it); null when there is no such ticket.
   */
  async checkInOf(ticketId: string, staffUndoMinutes: number): Promise<TicketCheckInState | null> {
    const [row]: (TicketRow & {
      purchase_status: string;
      performance_canceled: boolean;
      checked_in_by: string | null;
      checked_in_by_email: string | null;
      checked_in_by_name: string | null;
      check_in: string | null;
      within_staff_window: boolean | null;
    })[] = await this.dataSource.query(
      `SELECT ${TICKET_COLUMNS}, p.status AS purchase_status, t.checked_in_by, u.email AS checked_in_by_email,
              u.name AS checked_in_by_name,
              CASE WHEN t.checked_in_at IS NOT NULL THEN ${CHECK_IN_IDENTITY} END AS check_in,
              clock_timestamp() < t.checked_in_at + make_interval(mins => $2::int) AS within_staff_window,
              EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id)
                AS performance_canceled
         FROM tickets t JOIN seats s ON s.id = t.seat_id JOIN purchases p ON p.id = t.purchase_id
         LEFT JOIN users u ON u.id = t.checked_in_by
        WHERE t.id = $1`,
      [ticketId, staffUndoMinutes],
    );
    if (!row) return null;
    return {
      ticket: toRecord(row),
      purchaseCanceled: row.purchase_status === 'CANCELED',
      performanceCanceled: row.performance_canceled,
      checkIn:
        row.checked_in_at && row.check_in
          ? {
              at: row.checked_in_at,
              byId: row.checked_in_by,
              byEmail: row.checked_in_by_email,
              byName: row.checked_in_by_name,
              identity: row.check_in,
              markToken: row.check_in_mark ?? null,
              withinStaffWindow: row.within_staff_window === true,
            }
          : null,
    };
  }

  /**
   * Takes back the check-in `checkIn` (its identity, see {@link CheckedInSeat}) of ticket
   * `ticketId` in the transaction of `manager`: one conditional UPDATE that clears it only while it
   * is still that check-in, so of concurrent undos of one check-in exactly one clears it, and a
   * check-in made after another undo is never cleared by a stale one. The ticket's status is not
   * compared: the caller decided in Redis before (check-in-undo.lua) that no cancel had kept its
   * seat as checked in. Answers whether the row was changed.
   */
  async clearCheckIn(manager: EntityManager, ticketId: string, checkIn: string): Promise<boolean> {
    // A SELECT over the UPDATE: the driver answers an UPDATE's RETURNING with its row count beside.
    const rows: unknown[] = await manager.query(
      `WITH cleared AS (
         UPDATE tickets t SET checked_in_at = NULL, checked_in_by = NULL, check_in_mark = NULL
          WHERE t.id = $1 AND t.checked_in_at IS NOT NULL AND ${CHECK_IN_IDENTITY} = $2
          RETURNING t.id
       )
       SELECT id FROM cleared`,
      [ticketId, checkIn],
    );
    return rows.length === 1;
  }

  /**
   * Up to `limit` checked-in tickets of the performance whose check-in PostgreSQL stamped before
   * `before`, by ticket id above `afterTicketId` (null: from the first), each locked `FOR UPDATE` in
   * the transaction of `manager` until its commit, as an undo of one check-in locks its row: a
   * concurrent undo of one of them waits, and finds it cleared. Only tickets whose check-in an undo
   * could take back: ACTIVE, of a purchase not CANCELED in PostgreSQL (a refund that kept the seat
   * sold keeps its check-in). In ticket id order.
   */
  async lockCheckInsBefore(
    manager: EntityManager,
    performanceId: number,
    before: Date,
    afterTicketId: string | null,
    limit: number,
  ): Promise<CheckInToClear[]> {
    const rows: {
      id: string;
      purchase_id: string;
      seat_id: number;
      code_version: number;
      check_in: string;
      check_in_mark: string | null;
    }[] = await manager.query(
      `SELECT t.id, t.purchase_id, t.seat_id, t.code_version, ${CHECK_IN_IDENTITY} AS check_in, t.check_in_mark
         FROM tickets t JOIN purchases p ON p.id = t.purchase_id
        WHERE t.performance_id = $1 AND t.checked_in_at IS NOT NULL AND t.checked_in_at < $2
          AND t.status = 'ACTIVE' AND p.status <> 'CANCELED' AND ($3::bigint IS NULL OR t.id > $3::bigint)
        ORDER BY t.id LIMIT $4
        FOR UPDATE OF t`,
      [performanceId, before, afterTicketId, limit],
    );
    return rows.map((row) => ({
      ticketId: String(row.id),
      purchaseId: row.purchase_id,
      seatId: Number(row.seat_id),
      codeVersion: row.code_version,
      identity: row.check_in,
      markToken: row.check_in_mark ?? null,
    }));
  }

  /**
   * Clears the check-ins `checkIns` (ticket id and check-in identity, see {@link CheckedInSeat}) in
   * the transaction of `manager`, as `clearCheckIn` clears one: each only while it is still that
   * check-in. Answers how many rows were changed.
   */
  async clearCheckIns(
    manager: EntityManager,
    checkIns: readonly { ticketId: string; identity: string }[],
  ): Promise<number> {
    if (checkIns.length === 0) return 0;
    const rows: unknown[] = await manager.query(
      `WITH cleared AS (
         UPDATE tickets t SET checked_in_at = NULL, checked_in_by = NULL, check_in_mark = NULL
           FROM unnest($1::bigint[], $2::text[]) AS c(id, check_in)
          WHERE t.id = c.id AND t.checked_in_at IS NOT NULL AND ${CHECK_IN_IDENTITY} = c.check_in
          RETURNING t.id
       )
       SELECT id FROM cleared`,
      [checkIns.map((c) => c.ticketId), checkIns.map((c) => c.identity)],
    );
    return rows.length;
  }

  /**
   * Checks the ticket in, once: one conditional UPDATE … WHERE checked_in_at IS NULL, so of any
   * number of concurrent calls for one ticket exactly one row is updated (the others wait for its
   * row lock, then find checked_in_at set). Only on a miss a second read says why. `staffId`: the
   * account scanning. All four parts of `identity` must match the row. `window.at` must lie in the
   * performance's check-in window around its `starts_at` as this statement reads it, so a start
   * moved by a PATCH committed before it counts (OUTSIDE_WINDOW otherwise, nothing written).
   * `identity.codeVersion` must be the row's (TRANSFERRED otherwise: a code signed before an
   * accepted transfer): an accept raises it with a conditional UPDATE of the same row, so of an
   * accept and a check-in of the old code exactly one changes the row. The holder answered is the
   * ticket's (`holder_id`, else its purchase's buyer). `markToken`: the token of this scan's Redis
   * mark (check-in-mark.lua), kept as `check_in_mark` so an undo takes back that mark alone. The
   * same statement ends a pending transfer offer of the ticket it admits (END_OFFERS_OF_ADMITTED);
   * an undo of the check-in does not bring the offer back.
   */
  async checkIn(
    identity: TicketIdentity,
    staffId: string,
    window: CheckInWindowBounds,
    markToken: string,
  ): Promise<CheckInResult> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.checkInOnce(identity, staffId, window, markToken);
      if (result) return result;
      // Refused by the UPDATE, yet admitting by the read after it: the row was checked in when the
      // UPDATE read it and that check-in was undone (DELETE /check-in/:ticketId) before the read.
      // The ticket admits now: asked again. A miss nothing explains stays the refusal it was.
      if (attempt === CHECK_IN_ATTEMPTS) return { outcome: 'CANCELED' };
    }
  }

  /** One try of `checkIn`; null when the UPDATE missed and the read after it finds nothing that refuses. */
  private async checkInOnce(
    identity: TicketIdentity,
    staffId: string,
    window: CheckInWindowBounds,
    markToken: string,
  ): Promise<CheckInResult | null> {
    const params = [identity.ticketId, identity.purchaseId, identity.performanceId, identity.seatId];
    const bounds = [window.at, window.opensBeforeMinutes, window.closesAfterMinutes];
    // One statement: the window the UPDATE compares with is the one answered (w), so a miss outside
    // it names the window as PostgreSQL applied it, whatever a PATCH changes afterwards. FOR KEY
    // SHARE waits for a PATCH holding the row (FOR UPDATE) and reads its new starts_at, so a start
    // moved while scans run never lets a check-in at the old time slip past its clearing. Every row
    // carries the window; the ticket's columns only when it was admitted (a LEFT JOIN).
    const rows: (Partial<TicketRow> & {
      holder_name: string | null;
      holder_email: string | null;
      window_starts_at: Date;
      window_opens_at: Date;
      window_closes_at: Date;
    })[] = await this.dataSource.query(
      `WITH w AS (
         SELECT pf.id, pf.starts_at,
                pf.starts_at - make_interval(mins => COALESCE(pf.check_in_opens_before_minutes, $7::int)) AS opens_at,
                pf.starts_at + make_interval(mins => COALESCE(pf.check_in_closes_after_minutes, $8::int)) AS closes_at
           FROM performances pf WHERE pf.id = $3 FOR KEY SHARE
       ), admitted AS (
         UPDATE tickets t SET checked_in_at = clock_timestamp(), checked_in_by = $5, check_in_mark = $10
           FROM seats s, purchases p, users u, w
          WHERE t.id = $1 AND t.purchase_id = $2 AND t.performance_id = $3 AND t.seat_id = $4
            AND t.status = 'ACTIVE' AND t.checked_in_at IS NULL AND t.code_version = $9
            AND s.id = t.seat_id AND p.id = t.purchase_id AND u.id = p.user_id
            AND NOT EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id)
            AND w.id = t.performance_id
            AND $6::timestamptz >= w.opens_at AND $6::timestamptz < w.closes_at
          RETURNING ${TICKET_COLUMNS}, ${HOLDER_NAME} AS holder_name, ${HOLDER_EMAIL} AS holder_email
       ), ${END_OFFERS_OF_ADMITTED}
       SELECT admitted.*, w.starts_at AS window_starts_at, w.opens_at AS window_opens_at, w.closes_at AS window_closes_at
         FROM w LEFT JOIN admitted ON true`,
      [...params, staffId, ...bounds, identity.codeVersion, markToken],
    );
    const [first] = rows;
    if (first?.id != null) {
      const row = first as TicketRow & { holder_name: string | null; holder_email: string | null };
      return {
        outcome: 'CHECKED_IN',
        ticket: toRecord(row),
        holder: { name: row.holder_name, email: row.holder_email },
      };
    }
    const current = await this.doorState(identity);
    // No performance row (w empty): a signed code names one that existed, and one with tickets is
    // never deleted, so neither is the ticket.
    if (!current || !first) return { outcome: 'NOT_FOUND' };
    const canceled: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM performance_cancellations WHERE performance_id = $1`,
      [identity.performanceId],
    );
    if (canceled.length > 0) return { outcome: 'PERFORMANCE_CANCELED' };
    // A code from before a transfer is void whatever became of the ticket since.
    if (current.codeVersion !== identity.codeVersion) return { outcome: 'TRANSFERRED' };
    // Checked in first and canceled later: the person is inside; "already checked in" says when.
    if (current.checkedInAt) {
      return { outcome: 'ALREADY_CHECKED_IN', checkedInAt: current.checkedInAt, checkedInBy: current.checkedInBy };
    }
    if (current.status !== TicketStatus.Active) return { outcome: 'CANCELED' };
    const at = window.at.getTime();
    if (at < first.window_opens_at.getTime() || at >= first.window_closes_at.getTime()) {
      return {
        outcome: 'OUTSIDE_WINDOW',
        startsAt: first.window_starts_at,
        opensAt: first.window_opens_at,
        closesAt: first.window_closes_at,
      };
    }
    return null;
  }
}

function toRecord(row: TicketRow): TicketRecord {
  return {
    ticketId: row.id,
    purchaseId: row.purchase_id,
    performanceId: row.performance_id,
    seatId: row.seat_id,
    status: row.status,
    section: row.section,
    row: row.row,
    rowLabel: row.row_label,
    number: row.number,
    checkedInAt: row.checked_in_at,
    codeVersion: row.code_version,
    holderId: row.holder_id,
  };
}
