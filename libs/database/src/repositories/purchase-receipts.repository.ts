import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PurchaseStatus } from '../entities/purchase.entity';

/** Everything the buyer's e-mail says about one purchase. */
export interface PurchaseReceipt {
  purchaseId: string;
  /** `CANCELED` when the buyer canceled before the purchase was written to PostgreSQL. */
  status: PurchaseStatus;
  /** Where its e-mails go: a box office sale's delivery address when it has one, else the buyer's account's. */
  buyerEmail: string;
  /** The name they are addressed to, taken alike (the delivery name, else the account's). */
  buyerName: string;
  eventTitle: string;
  venue: string;
  /** IANA name of the venue's time zone: the e-mail shows times on its wall clock. */
  timeZone: string;
  performanceStartsAt: Date;
  /** Until when the buyer may cancel the purchase themselves (`cancelUntil`); null: no self-service cancel. */
  performanceCancelUntil: Date | null;
  /** An integer in minor units of `currency`: the charge less what its partial refunds gave back. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  purchasedAt: Date;
  /**
   * Every seat of the purchase but those its partial refunds took off it, in seat order; `seatId`
   * matches a cancellation's `keptSeatIds`.
   */
  seats: ReceiptSeat[];
  /** The seats its partial refunds took off it (an operator refunded them), in seat order. */
  refundedSeats: ReceiptSeat[];
  /** The purchase's active tickets in seat order, with what their signed codes are made of. */
  tickets: ReceiptTicket[];
  /** Whether a ticket of it was scanned in at the door: then the buyer can no longer cancel it. */
  checkedIn: boolean;
  /**
   * Seats of its active tickets someone else holds now by an accepted transfer (`tickets.holder_id`,
   * not the buyer), in seat order: the buyer's new-date notice leaves them out of its seats.
   */
  transferredSeats: { section: string; row: number; rowLabel: string; number: number }[];
  /**
   * Whether a ticket of it was ever accepted by a transfer (`holder_id` set, even if it came back
   * to the buyer): then the buyer can no longer cancel it (`409 PurchaseTransferred`).
   */
  transferred: boolean;
  /**
   * Set when the purchase's performance was canceled (performance_cancellations), with the
   * operator's reason (null when none was given) and when it was canceled; null otherwise.
   */
  performanceCancellation: { reason: string | null; requestedAt: Date } | null;
}

/** A seat of a receipt, as its e-mails name it. */
export interface ReceiptSeat {
  seatId: number;
  section: string;
  row: number;
  rowLabel: string;
  number: number;
}

/** One ticket of a receipt: its identity (for the code) and its seat. */
export interface ReceiptTicket {
  /** bigint identity, as a decimal string. */
  ticketId: string;
  purchaseId: string;
  performanceId: number;
  seatId: number;
  /** The ticket's code version (0 until a transfer; a ticket given away is not on its buyer's receipt). */
  codeVersion: number;
  section: string;
  row: number;
  rowLabel: string;
  number: number;
  /** When the ticket was checked in at the door (it admits no one again); null while unused. */
  checkedInAt: Date | null;
}

interface ReceiptRow {
  purchase_id: string;
  status: PurchaseStatus;
  buyer_email: string;
  buyer_name: string;
  event_title: string;
  venue: string;
  time_zone: string;
  starts_at: Date;
  cancel_until: Date | null;
  amount: string;
  currency: string;
  purchased_at: Date;
  seats: ReceiptSeat[] | null;
  refunded_seats: ReceiptSeat[] | null;
  tickets: (Omit<ReceiptTicket, 'checkedInAt'> & { checkedInAt: string | null })[] | null;
  checked_in: boolean;
  transferred_seats: { section: string; row: number; rowLabel: string; number: number }[] | null;
  transferred: boolean;
  performance_canceled: boolean;
  cancellation_reason: string | null;
  cancellation_requested_at: Date | null;
}

/** Reads a persisted purchase with its buyer, event, performance and seats, in one query. */
@Injectable()
export class PurchaseReceiptsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The purchase's receipt, null when it is not in PostgreSQL. With `manager`, read in that
   * transaction (after a lock it took, say), else on a connection of its own.
   */
  async findByPurchaseId(purchaseId: string, manager?: EntityManager): Promise<PurchaseReceipt | null> {
    const rows: ReceiptRow[] = await (manager ?? this.dataSource).query(
      `SELECT p.id AS purchase_id, p.status, COALESCE(p.delivery_email, u.email) AS buyer_email,
              CASE WHEN p.delivery_email IS NULL THEN u.name ELSE COALESCE(p.delivery_name, p.delivery_email) END AS buyer_name, e.title AS event_title,
              e.venue, e.time_zone, pf.starts_at, pf.cancel_until, p.currency, p.created_at AS purchased_at,
              p.amount - coalesce((SELECT sum(r.amount) FROM purchase_refunds r WHERE r.purchase_id = p.id), 0) AS amount,
              (SELECT json_agg(json_build_object('seatId', s.id, 'section', s.section, 'row', s."row",
                                                 'rowLabel', s.row_label, 'number', s."number")
                               ORDER BY s.position)
                 FROM tickets t JOIN seats s ON s.id = t.seat_id
                WHERE t.purchase_id = p.id AND t.refund_id IS NULL) AS seats,
              (SELECT json_agg(json_build_object('seatId', s.id, 'section', s.section, 'row', s."row",
                                                 'rowLabel', s.row_label, 'number', s."number")
                               ORDER BY s.position)
                 FROM tickets t JOIN seats s ON s.id = t.seat_id
                WHERE t.purchase_id = p.id AND t.refund_id IS NOT NULL) AS refunded_seats,
              (SELECT json_agg(json_build_object('ticketId', t.id::text, 'purchaseId', t.purchase_id,
                                                 'performanceId', t.performance_id, 'seatId', t.seat_id,
                                                 'codeVersion', t.code_version, 'section', s.section, 'row', s."row", 'rowLabel', s.row_label,
                                                 'number', s."number", 'checkedInAt', t.checked_in_at)
                               ORDER BY s.position)
                 FROM tickets t JOIN seats s ON s.id = t.seat_id
                WHERE t.purchase_id = p.id AND t.status = 'ACTIVE' AND t.holder_id IS NULL) AS tickets,
              EXISTS (SELECT 1 FROM tickets t WHERE t.purchase_id = p.id AND t.checked_in_at IS NOT NULL) AS checked_in,
              (SELECT json_agg(json_build_object('section', s.section, 'row', s."row", 'rowLabel', s.row_label,
                                                 'number', s."number")
                               ORDER BY s.position)
                 FROM tickets t JOIN seats s ON s.id = t.seat_id
                WHERE t.purchase_id = p.id AND t.status = 'ACTIVE' AND t.holder_id IS NOT NULL
                  AND t.holder_id <> p.user_id) AS transferred_seats,
              EXISTS (SELECT 1 FROM tickets t WHERE t.purchase_id = p.id AND t.holder_id IS NOT NULL) AS transferred,
              pc.performance_id IS NOT NULL AS performance_canceled, pc.reason AS cancellation_reason,
              pc.requested_at AS cancellation_requested_at
         FROM purchases p
         JOIN users u ON u.id = p.user_id
         JOIN performances pf ON pf.id = p.performance_id
         JOIN events e ON e.id = pf.event_id
         LEFT JOIN performance_cancellations pc ON pc.performance_id = p.performance_id
        WHERE p.id = $1`,
      [purchaseId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      purchaseId: row.purchase_id,
      status: row.status,
      buyerEmail: row.buyer_email,
      buyerName: row.buyer_name,
      eventTitle: row.event_title,
      venue: row.venue,
      timeZone: row.time_zone,
      performanceStartsAt: row.starts_at,
      performanceCancelUntil: row.cancel_until,
      amount: Number(row.amount),
      currency: row.currency,
      purchasedAt: row.purchased_at,
      seats: row.seats ?? [],
      refundedSeats: row.refunded_seats ?? [],
      tickets: (row.tickets ?? []).map((ticket) => ({
        ...ticket,
        checkedInAt: ticket.checkedInAt === null ? null : new Date(ticket.checkedInAt),
      })),
      checkedIn: row.checked_in,
      transferredSeats: row.transferred_seats ?? [],
      transferred: row.transferred,
      performanceCancellation: row.performance_canceled
        ? { reason: row.cancellation_reason, requestedAt: row.cancellation_requested_at! }
        : null,
    };
  }
}
