import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TicketStatus } from '../entities/ticket.entity';

/** What a ticket code names: the ticket and the purchase, performance and seat it belongs to. */
export interface TicketIdentity {
  /** bigint identity, as a decimal string. */
  ticketId: string;
  purchaseId: string;
  performanceId: number;
  seatId: number;
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
}

/** What one check-in did; exactly one of concurrent check-ins of a ticket is `CHECKED_IN`. */
export type CheckInResult =
  | { outcome: 'CHECKED_IN'; ticket: TicketRecord; holder: { name: string; email: string } }
  | { outcome: 'ALREADY_CHECKED_IN'; checkedInAt: Date }
  | { outcome: 'CANCELED' }
  | { outcome: 'PERFORMANCE_CANCELED' }
  /** `at` lay outside the performance's check-in window; `startsAt`: its start as PostgreSQL has it. */
  | { outcome: 'OUTSIDE_WINDOW'; startsAt: Date }
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
}

const TICKET_COLUMNS = `t.id::text AS id, t.purchase_id, t.performance_id, t.seat_id, t.status, s.section, s."row", s.row_label,
  s."number", t.checked_in_at`;

/** Tickets (written by the purchase flusher) and their check-in at the door. */
@Injectable()
export class TicketsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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

  /** When the ticket was checked in at the door; null when it was not, or there is no such ticket. */
  async checkedInAt(identity: TicketIdentity): Promise<Date | null> {
    const [row]: { checked_in_at: Date | null }[] = await this.dataSource.query(
      `SELECT checked_in_at FROM tickets
        WHERE id = $1 AND purchase_id = $2 AND performance_id = $3 AND seat_id = $4`,
      [identity.ticketId, identity.purchaseId, identity.performanceId, identity.seatId],
    );
    return row?.checked_in_at ?? null;
  }

  /** Seat ids of the purchase's tickets checked in at the door (none before it is written here). */
  async checkedInSeatIds(purchaseId: string): Promise<number[]> {
    const rows: { seat_id: number }[] = await this.dataSource.query(
      'SELECT seat_id FROM tickets WHERE purchase_id = $1 AND checked_in_at IS NOT NULL ORDER BY seat_id',
      [purchaseId],
    );
    return rows.map((row) => row.seat_id);
  }

  /**
   * Checks the ticket in, once: one conditional UPDATE … WHERE checked_in_at IS NULL, so of any
   * number of concurrent calls for one ticket exactly one row is updated (the others wait for its
   * row lock, then find checked_in_at set). Only on a miss a second read says why. `staffId`: the
   * account scanning. All four parts of `identity` must match the row. `window.at` must lie in the
   * performance's check-in window around its `starts_at` as this statement reads it, so a start
   * moved by a PATCH committed before it counts (OUTSIDE_WINDOW otherwise, nothing written).
   */
  async checkIn(identity: TicketIdentity, staffId: string, window: CheckInWindowBounds): Promise<CheckInResult> {
    const params = [identity.ticketId, identity.purchaseId, identity.performanceId, identity.seatId];
    const bounds = [window.at, window.opensBeforeMinutes, window.closesAfterMinutes];
    const updated: (TicketRow & { holder_name: string; holder_email: string })[] = await this.dataSource.query(
      // Wrapped in a SELECT: TypeORM answers a bare UPDATE with [rows, count] instead of the rows.
      `WITH admitted AS (
         UPDATE tickets t SET checked_in_at = clock_timestamp(), checked_in_by = $5
           FROM seats s, purchases p, users u, performances pf
          WHERE t.id = $1 AND t.purchase_id = $2 AND t.performance_id = $3 AND t.seat_id = $4
            AND t.status = 'ACTIVE' AND t.checked_in_at IS NULL
            AND s.id = t.seat_id AND p.id = t.purchase_id AND u.id = p.user_id
            AND NOT EXISTS (SELECT 1 FROM performance_cancellations pc WHERE pc.performance_id = t.performance_id)
            AND pf.id = t.performance_id
            AND $6::timestamptz >= pf.starts_at - make_interval(mins => COALESCE(pf.check_in_opens_before_minutes, $7::int))
            AND $6::timestamptz < pf.starts_at + make_interval(mins => COALESCE(pf.check_in_closes_after_minutes, $8::int))
          RETURNING ${TICKET_COLUMNS}, u.name AS holder_name, u.email AS holder_email
       )
       SELECT * FROM admitted`,
      [...params, staffId, ...bounds],
    );
    if (updated.length > 0) {
      const [row] = updated;
      return {
        outcome: 'CHECKED_IN',
        ticket: toRecord(row),
        holder: { name: row.holder_name, email: row.holder_email },
      };
    }
    const [current]: { status: TicketStatus; checked_in_at: Date | null }[] = await this.dataSource.query(
      `SELECT status, checked_in_at FROM tickets
        WHERE id = $1 AND purchase_id = $2 AND performance_id = $3 AND seat_id = $4`,
      params,
    );
    if (!current) return { outcome: 'NOT_FOUND' };
    const canceled: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM performance_cancellations WHERE performance_id = $1`,
      [identity.performanceId],
    );
    if (canceled.length > 0) return { outcome: 'PERFORMANCE_CANCELED' };
    // Checked in first and canceled later: the person is inside; "already checked in" says when.
    if (current.checked_in_at) return { outcome: 'ALREADY_CHECKED_IN', checkedInAt: current.checked_in_at };
    if (current.status !== TicketStatus.Active) return { outcome: 'CANCELED' };
    const [outside]: { starts_at: Date }[] = await this.dataSource.query(
      `SELECT starts_at FROM performances
        WHERE id = $1
          AND NOT ($2::timestamptz >= starts_at - make_interval(mins => COALESCE(check_in_opens_before_minutes, $3::int))
               AND $2::timestamptz < starts_at + make_interval(mins => COALESCE(check_in_closes_after_minutes, $4::int)))`,
      [identity.performanceId, ...bounds],
    );
    if (outside) return { outcome: 'OUTSIDE_WINDOW', startsAt: outside.starts_at };
    return { outcome: 'CANCELED' };
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
  };
}
