import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BoxOfficePaymentMethod, PurchaseStatus } from '../entities/purchase.entity';
import { TicketStatus } from '../entities/ticket.entity';

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
  /**
   * A box office sale's payment method (`CASH` or `CARD_TERMINAL`: paid at the window, so its refunds
   * are given back there); null for an online sale (paid through the gateway).
   */
  paymentMethod: BoxOfficePaymentMethod | null;
  /**
   * A comp (`purchases.comp_note` set: complimentary tickets, to an account or a guest without one):
   * taken back by the box office only, never canceled by whoever holds it.
   */
  comp: boolean;
  purchasedAt: Date;
  /**
   * Every seat of the purchase but those its partial refunds took off it, in seat order; `seatId`
   * matches a cancellation's `keptSeatIds`.
   */
  seats: ReceiptSeat[];
  /** The seats its partial refunds took off it (an operator refunded them), in seat order. */
  refundedSeats: ReceiptSeat[];
  /**
   * The purchase's active tickets its buyer holds and never gave away (`tickets.holder_id` null),
   * in seat order, with what their signed codes are made of.
   */
  tickets: ReceiptTicket[];
  /**
   * The purchase's active tickets its buyer holds now, in seat order: those of `tickets` and those a
   * later transfer passed back to it (`tickets.holder_id` its own account), each with its current
   * code version (a returned one's confirmation code is void). A resend carries these.
   */
  heldTickets: ReceiptTicket[];
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
  payment_method: BoxOfficePaymentMethod | null;
  comp: boolean;
  purchased_at: Date;
  seats: ReceiptSeat[] | null;
  refunded_seats: ReceiptSeat[] | null;
  tickets: (Omit<ReceiptTicket, 'checkedInAt'> & { checkedInAt: string | null })[] | null;
  held_tickets: (Omit<ReceiptTicket, 'checkedInAt'> & { checkedInAt: string | null })[] | null;
  checked_in: boolean;
  transferred_seats: { section: string; row: number; rowLabel: string; number: number }[] | null;
  transferred: boolean;
  performance_canceled: boolean;
  cancellation_reason: string | null;
  cancellation_requested_at: Date | null;
}

/** One ticket and who holds it now, as a resend of that ticket to its holder reads it. */
export interface TicketHolderFacts {
  ticket: ReceiptTicket;
  /** ACTIVE, or CANCELED (its purchase canceled, or its seat refunded), as PostgreSQL has it. */
  status: TicketStatus;
  /** The purchase's buyer (its account). */
  buyerId: string;
  /**
   * The account holding it by an accepted transfer, when that is not its buyer; null while the
   * buyer holds it (never transferred, or come back to the buyer).
   */
  holder: { id: string; name: string; email: string } | null;
  /**
   * Where its e-mail goes now: the holder's address, else the purchase's (a box office sale's
   * delivery address, else the buyer's).
   */
  recipientEmail: string;
}

/**
 * The purchase `p`'s active tickets as ReceiptTicket JSON in seat order, of those the condition
 * appended (on `t`, a ticket) selects: `${RECEIPT_TICKETS} t.holder_id IS NULL)`.
 */
const RECEIPT_TICKETS = `(SELECT json_agg(json_build_object('ticketId', t.id::text, 'purchaseId', t.purchase_id,
                                                 'performanceId', t.performance_id, 'seatId', t.seat_id,
                                                 'codeVersion', t.code_version, 'section', s.section, 'row', s."row", 'rowLabel', s.row_label,
                                                 'number', s."number", 'checkedInAt', t.checked_in_at)
                               ORDER BY s.position)
                 FROM tickets t JOIN seats s ON s.id = t.seat_id
                WHERE t.purchase_id = p.id AND t.status = 'ACTIVE' AND`;

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
              e.venue, e.time_zone, pf.starts_at, pf.cancel_until, p.currency, p.payment_method, p.comp_note IS NOT NULL AS comp,
              p.created_at AS purchased_at,
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
              ${RECEIPT_TICKETS} t.holder_id IS NULL) AS tickets,
              ${RECEIPT_TICKETS} (t.holder_id IS NULL OR t.holder_id = p.user_id)) AS held_tickets,
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
      paymentMethod: row.payment_method,
      comp: row.comp,
      purchasedAt: row.purchased_at,
      seats: row.seats ?? [],
      refundedSeats: row.refunded_seats ?? [],
      tickets: (row.tickets ?? []).map(receiptTicket),
      heldTickets: (row.held_tickets ?? []).map(receiptTicket),
      checkedIn: row.checked_in,
      transferredSeats: row.transferred_seats ?? [],
      transferred: row.transferred,
      performanceCancellation: row.performance_canceled
        ? { reason: row.cancellation_reason, requestedAt: row.cancellation_requested_at! }
        : null,
    };
  }

  /**
   * Ticket `ticketId` (a bigint, decimal) with its seat and who holds it now (see
   * {@link TicketHolderFacts}); null when there is no such ticket. With `manager`, read in that
   * transaction (after the purchase's mail lock, say).
   */
  async ticketHolder(ticketId: string, manager?: EntityManager): Promise<TicketHolderFacts | null> {
    const [row]: {
      ticket_id: string;
      purchase_id: string;
      performance_id: number;
      seat_id: number;
      code_version: number;
      status: TicketStatus;
      checked_in_at: Date | null;
      section: string;
      row: number;
      row_label: string;
      number: number;
      buyer_id: string;
      holder_id: string | null;
      holder_name: string | null;
      holder_email: string | null;
      recipient_email: string;
    }[] = await (manager ?? this.dataSource).query(
      `SELECT t.id::text AS ticket_id, t.purchase_id, t.performance_id, t.seat_id, t.code_version, t.status,
              t.checked_in_at, s.section, s."row", s.row_label, s."number", p.user_id AS buyer_id,
              h.id AS holder_id, h.name AS holder_name, h.email AS holder_email,
              COALESCE(h.email, p.delivery_email, b.email) AS recipient_email
         FROM tickets t
         JOIN seats s ON s.id = t.seat_id
         JOIN purchases p ON p.id = t.purchase_id
         JOIN users b ON b.id = p.user_id
         LEFT JOIN users h ON h.id = t.holder_id AND t.holder_id <> p.user_id
        WHERE t.id = $1`,
      [ticketId],
    );
    if (!row) return null;
    return {
      ticket: {
        ticketId: row.ticket_id,
        purchaseId: row.purchase_id,
        performanceId: row.performance_id,
        seatId: row.seat_id,
        codeVersion: row.code_version,
        section: row.section,
        row: row.row,
        rowLabel: row.row_label,
        number: row.number,
        checkedInAt: row.checked_in_at,
      },
      status: row.status,
      buyerId: row.buyer_id,
      holder:
        row.holder_id !== null && row.holder_name !== null && row.holder_email !== null
          ? { id: row.holder_id, name: row.holder_name, email: row.holder_email }
          : null,
      recipientEmail: row.recipient_email,
    };
  }
}

/** A receipt ticket as the receipt's JSON has it, its check-in time parsed. */
function receiptTicket(ticket: Omit<ReceiptTicket, 'checkedInAt'> & { checkedInAt: string | null }): ReceiptTicket {
  return { ...ticket, checkedInAt: ticket.checkedInAt === null ? null : new Date(ticket.checkedInAt) };
}
