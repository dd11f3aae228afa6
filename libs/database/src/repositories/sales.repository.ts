import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PerformanceStatus } from '../entities/performance.entity';
import { BoxOfficePaymentMethod, PurchaseStatus } from '../entities/purchase.entity';

/** One seat of a performance as a sales report counts it. */
export interface SalesSeat {
  id: number;
  section: string;
  /** An integer in minor units of the performance's currency. */
  price: number;
}

/** One purchase of a performance as PostgreSQL holds it, with the seats of its tickets. */
export interface SalesPurchase {
  id: string;
  status: PurchaseStatus;
  /** An integer in minor units of `currency`: the charge less its partial refunds. */
  amount: number;
  currency: string;
  /** Ascending: its tickets but those its partial refunds canceled. */
  seatIds: number[];
  /**
   * What each seat was sold at (`tickets.price`), in the order of `seatIds`, minor units of
   * `currency`; null when any of its tickets has none (sold before tickets recorded prices).
   */
  seatPrices: number[] | null;
  /** A comp (`purchases.comp_note` set): complimentary tickets, counted apart from sales. */
  comp: boolean;
  /** A box office sale's payment method (`purchases.payment_method`); null for an online sale. */
  paymentMethod: BoxOfficePaymentMethod | null;
  /** Made in a presale (`purchases.presale_id` set: its hold was let in by the presale's access code). */
  presale: boolean;
  /**
   * A box office sale the bulk refund of its canceled show canceled: its refund owed at the window
   * (`OWED`) or given back there since (`PAID`), as `window_refunds` has it; null for any other.
   */
  windowRefund: 'OWED' | 'PAID' | null;
  /**
   * A box office sale's partial refunds (`purchase_refunds`), each given back at the window as the
   * operator made it: its amount (minor units of `currency`) and the seats it took back, ascending,
   * with what each was sold at (`tickets.price`; null when not recorded). Empty for any other sale.
   */
  windowPartialRefunds: WindowPartialRefund[];
  /**
   * Ascending: of `seatIds`, those whose ticket is checked in at the door now (ACTIVE, with
   * `checked_in_at`; an undone check-in cleared it).
   */
  checkedInSeatIds: number[];
  /** The check-ins of `checkedInSeatIds`, in the same order: who scanned each and when. */
  checkIns: SalesCheckIn[];
}

/** A ticket's check-in as the sales report counts it per door (SalesPurchase.checkIns). */
export interface SalesCheckIn {
  seatId: number;
  /** The scanning account (`tickets.checked_in_by`); null when recorded without one. */
  accountId: string | null;
  /** That account's e-mail and name now; null when there is none (deleted since, or never recorded). */
  email: string | null;
  name: string | null;
  checkedInAt: Date;
}

/** A partial refund of a box office sale, given back at the window (see SalesPurchase.windowPartialRefunds). */
export interface WindowPartialRefund {
  /** An integer in minor units of the purchase's currency. */
  amount: number;
  /** Ascending by seat id; `price` in minor units, null when the ticket recorded none. */
  seats: { seatId: number; price: number | null }[];
}

/** What a performance sales report reads from PostgreSQL: its currency, seats and persisted purchases. */
export interface PerformanceSalesRows {
  currency: string;
  /** What decides whether its seats are still for sale (the operator's status and the sales times). */
  lifecycle: { status: PerformanceStatus; salesOpenAt: Date; salesCloseAt: Date | null; startsAt: Date };
  /** Its own check-in window, minutes around `lifecycle.startsAt`; null: the global setting applies. */
  checkInWindow: { checkInOpensBeforeMinutes: number | null; checkInClosesAfterMinutes: number | null };
  seats: SalesSeat[];
  purchases: SalesPurchase[];
}

/**
 * What the door's live count excludes, read from Redis before PostgreSQL (the unflushed purchase
 * stream, as the sales report merges it): purchases canceled there, seats refunded there, and the
 * purchases there whose ids ask whether PostgreSQL has them yet.
 */
export interface DoorCountPending {
  canceledPurchaseIds: string[];
  refundedSeats: { purchaseId: string; seatId: number }[];
  purchaseIds: string[];
}

/** One door (the account that scanned) of a performance's check-ins now. */
export interface DoorCountRow {
  /** Null for check-ins recorded without their account. */
  accountId: string | null;
  email: string | null;
  name: string | null;
  admitted: number;
  lastCheckInAt: Date;
}

/** A performance's tickets as the door counts them (see SalesRepository.doorCounts). */
export interface DoorCountRows {
  /** Seats of purchases not canceled, PostgreSQL's (less the Redis cancellations and refunds given). */
  expected: number;
  /** Of the given pending purchase ids, those PostgreSQL has (written by a flush). */
  writtenPurchaseIds: string[];
  /** By email, an account without one last. */
  doors: DoorCountRow[];
}

/**
 * The persisted purchases of a performance ($1) as SalesRepository.performanceSales reads them
 * (see SalesPurchase), with their tickets' seats, prices and check-ins (who scanned, when). A
 * partial refund's seats (tickets.refund_id) and money (purchase_refunds) are the purchase's no
 * more. Tickets are probed per purchase (a lateral subquery; OFFSET 0 keeps the planner from
 * flattening it into a join), through `tickets_purchase_seat_key`: a plain join was planned as a
 * hash join over a sequential scan of every performance's tickets (docs/performance.md, "Sales
 * report: tickets per purchase").
 */
export const PERFORMANCE_PURCHASES_SQL = `SELECT p.id, p.status, p.currency, p.comp_note IS NOT NULL AS comp,
                p.payment_method AS "paymentMethod", p.presale_id IS NOT NULL AS presale,
                (SELECT w.status FROM window_refunds w WHERE w.purchase_id = p.id) AS "windowRefund",
                (p.amount - coalesce((SELECT sum(r.amount) FROM purchase_refunds r WHERE r.purchase_id = p.id), 0))::text
                  AS amount,
                CASE WHEN p.payment_method IS NULL THEN '[]'::json ELSE coalesce(
                  (SELECT json_agg(json_build_object(
                            'amount', r.amount::text,
                            'seats', (SELECT coalesce(json_agg(json_build_object('seatId', rt.seat_id, 'price', rt.price::text)
                                                               ORDER BY rt.seat_id), '[]'::json)
                                        FROM tickets rt WHERE rt.purchase_id = p.id AND rt.refund_id = r.id))
                          ORDER BY r.refunded_at, r.id)
                     FROM purchase_refunds r WHERE r.purchase_id = p.id), '[]'::json) END AS "windowPartialRefunds",
                coalesce(array_agg(t.seat_id ORDER BY t.seat_id) FILTER (WHERE t.seat_id IS NOT NULL), '{}') AS "seatIds",
                CASE WHEN bool_and(t.price IS NOT NULL) THEN array_agg(t.price ORDER BY t.seat_id) END AS "seatPrices",
                coalesce(array_agg(t.seat_id ORDER BY t.seat_id)
                           FILTER (WHERE t.status = 'ACTIVE' AND t.checked_in_at IS NOT NULL), '{}') AS "checkedInSeatIds",
                coalesce(json_agg(json_build_object('seatId', t.seat_id, 'accountId', t.checked_in_by, 'email', u.email,
                                                    'name', u.name, 'checkedInAt', t.checked_in_at) ORDER BY t.seat_id)
                           FILTER (WHERE t.status = 'ACTIVE' AND t.checked_in_at IS NOT NULL), '[]'::json) AS "checkIns"
           FROM purchases p
           LEFT JOIN LATERAL (SELECT * FROM tickets t WHERE t.purchase_id = p.id AND t.refund_id IS NULL OFFSET 0) t ON true
           LEFT JOIN users u ON u.id = t.checked_in_by AND t.checked_in_at IS NOT NULL
          WHERE p.performance_id = $1
          GROUP BY p.id`;

/** Read-only queries of the sales reports (operators). */
@Injectable()
export class SalesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The performance's currency, seats (position order) and persisted purchases, in one
   * repeatable-read snapshot so seats and purchases agree; null when there is no such performance.
   */
  performanceSales(performanceId: number): Promise<PerformanceSalesRows | null> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const [performance]: {
        currency: string;
        status: PerformanceStatus;
        salesOpenAt: Date;
        salesCloseAt: Date | null;
        startsAt: Date;
        checkInOpensBeforeMinutes: number | null;
        checkInClosesAfterMinutes: number | null;
      }[] = await manager.query(
        `SELECT e.currency, p.status, p.sales_open_at AS "salesOpenAt", p.sales_close_at AS "salesCloseAt",
                p.starts_at AS "startsAt", p.check_in_opens_before_minutes AS "checkInOpensBeforeMinutes",
                p.check_in_closes_after_minutes AS "checkInClosesAfterMinutes"
           FROM performances p JOIN events e ON e.id = p.event_id WHERE p.id = $1`,
        [performanceId],
      );
      if (!performance) return null;
      const seats: SalesSeat[] = await manager.query(
        `SELECT id, section, price FROM seats WHERE performance_id = $1 ORDER BY position`,
        [performanceId],
      );
      const purchases: (Omit<SalesPurchase, 'amount' | 'windowPartialRefunds' | 'checkIns'> & {
        amount: string;
        windowPartialRefunds: { amount: string; seats: { seatId: number; price: string | null }[] }[];
        checkIns: (Omit<SalesCheckIn, 'checkedInAt'> & { checkedInAt: string })[];
      })[] = await manager.query(PERFORMANCE_PURCHASES_SQL, [performanceId]);
      return {
        currency: performance.currency.trim(),
        lifecycle: {
          status: performance.status,
          salesOpenAt: performance.salesOpenAt,
          salesCloseAt: performance.salesCloseAt,
          startsAt: performance.startsAt,
        },
        checkInWindow: {
          checkInOpensBeforeMinutes: performance.checkInOpensBeforeMinutes,
          checkInClosesAfterMinutes: performance.checkInClosesAfterMinutes,
        },
        seats,
        purchases: purchases.map((row) => ({
          ...row,
          amount: Number(row.amount),
          windowPartialRefunds: row.windowPartialRefunds.map((refund) => ({
            amount: Number(refund.amount),
            seats: refund.seats.map(({ seatId, price }) => ({ seatId, price: price === null ? null : Number(price) })),
          })),
          checkIns: row.checkIns.map((checkIn) => ({ ...checkIn, checkedInAt: new Date(checkIn.checkedInAt) })),
        })),
      };
    });
  }

  /**
   * The door's live count of a performance, by the sales report's rule (its `sold - kept` and
   * `checkedIn`): tickets of purchases not canceled, a partial refund's seats apart; admitted when
   * ACTIVE with `checked_in_at` (an undone check-in cleared it), grouped by `checked_in_by`. The
   * Redis cancellations and refunds in `pending` are left out as the report merges them. Two
   * queries in one repeatable-read snapshot, both reaching tickets through
   * `purchases_performance`, then `tickets_purchase_seat_key` per purchase; null when there is no
   * such performance.
   */
  doorCounts(performanceId: number, pending: DoorCountPending): Promise<DoorCountRows | null> {
    // A lateral probe per purchase (OFFSET 0 keeps the planner from flattening it): its cost follows
    // this performance's tickets, where a plain join was planned as a hash join over a sequential
    // scan of every performance's tickets (EXPLAIN, 2,000 of 240,000 tickets: 100-190 ms against 8 ms).
    const from = `FROM purchases p
             CROSS JOIN LATERAL (SELECT * FROM tickets t
                                  WHERE t.purchase_id = p.id AND t.refund_id IS NULL OFFSET 0) t`;
    const where = `p.performance_id = $1 AND p.status <> 'CANCELED' AND NOT (p.id = ANY($2::uuid[]))
                   AND (t.purchase_id, t.seat_id) NOT IN (SELECT * FROM unnest($3::uuid[], $4::int[]))`;
    const params = [
      performanceId,
      pending.canceledPurchaseIds,
      pending.refundedSeats.map((seat) => seat.purchaseId),
      pending.refundedSeats.map((seat) => seat.seatId),
    ];
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const [performance]: { expected: number; writtenPurchaseIds: string[] }[] = await manager.query(
        `SELECT (SELECT count(*)::int ${from} WHERE ${where}) AS expected,
                (SELECT coalesce(array_agg(w.id::text), '{}') FROM purchases w WHERE w.id = ANY($5::uuid[]))
                  AS "writtenPurchaseIds"
           FROM performances WHERE id = $1`,
        [...params, pending.purchaseIds],
      );
      if (!performance) return null;
      const doors: DoorCountRow[] = await manager.query(
        `SELECT t.checked_in_by AS "accountId", u.email, u.name, count(*)::int AS admitted,
                max(t.checked_in_at) AS "lastCheckInAt"
           ${from} LEFT JOIN users u ON u.id = t.checked_in_by
          WHERE ${where} AND t.status = 'ACTIVE' AND t.checked_in_at IS NOT NULL
          GROUP BY t.checked_in_by, u.email, u.name
          ORDER BY u.email NULLS LAST, t.checked_in_by NULLS LAST`,
        params,
      );
      return { ...performance, doors };
    });
  }

  /** The event's currency and the ids of its performances (ascending); null when there is no such event. */
  async eventPerformances(eventId: number): Promise<{ currency: string; performanceIds: number[] } | null> {
    const rows: { currency: string; id: number | null }[] = await this.dataSource.query(
      `SELECT e.currency, p.id FROM events e LEFT JOIN performances p ON p.event_id = e.id WHERE e.id = $1 ORDER BY p.id`,
      [eventId],
    );
    if (rows.length === 0) return null;
    return {
      currency: rows[0].currency.trim(),
      performanceIds: rows.filter((row) => row.id !== null).map((row) => row.id as number),
    };
  }
}
