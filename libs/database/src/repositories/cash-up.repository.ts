import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { BoxOfficePaymentMethod } from '../entities/purchase.entity';

/** A half-open time range [from, to) and the optional filters of a cash-up. */
export interface CashUpQuery {
  from: Date;
  to: Date;
  /** Only this clerk's sales and the refunds they paid out. */
  clerkId: string | null;
  /** Only this performance's sales and refunds. */
  performanceId: number | null;
}

/** A box office sale as the cash-up counts it: what the window took, when and by whom. */
export interface CashUpSale {
  id: string;
  /** The selling staff or admin account (`purchases.user_id`). */
  clerkId: string;
  performanceId: number;
  currency: string;
  paymentMethod: BoxOfficePaymentMethod;
  /** What was taken at the sale, minor units of `currency`: the whole charge, before any refund. */
  amount: number;
  /** Seats sold, refunded ones included. */
  seats: number;
  /** When it was sold (the Redis time of the purchase step). */
  soldAt: Date;
}

/**
 * Money given back at the window: an operator's refund of a box office sale (`REFUND`), partial
 * (its `purchase_refunds` row: `refunded_by_id` gave it back at `refunded_at`) or whole (the
 * purchase's cancellation by an operator: `canceled_by_id` gave back what was left, `canceled_amount`
 * (the amount less the partial refunds Redis had made before it, written to PostgreSQL or not), at
 * `canceled_at`), both written with the refund itself; or a refund owed
 * after the show's cancellation and marked paid (`OWED_PAID`, from `window_refunds`: who marked it, when).
 */
export interface CashUpRefund {
  purchaseId: string;
  kind: 'REFUND' | 'OWED_PAID';
  /** Who paid it out. */
  clerkId: string;
  performanceId: number;
  currency: string;
  paymentMethod: BoxOfficePaymentMethod;
  /** Minor units of `currency`, > 0. */
  amount: number;
  paidAt: Date;
}

/** An account as the cash-up names it (its e-mail and name now). */
export interface CashUpClerk {
  id: string;
  email: string;
  name: string;
}

/** What a cash-up reads from PostgreSQL, in one snapshot. */
export interface CashUpRows {
  sales: CashUpSale[];
  refunds: CashUpRefund[];
  /** Every account named by `sales`, `refunds` or the `alsoClerkIds` asked for (an account deleted since is left out). */
  clerks: CashUpClerk[];
}

/** The audit actions the cash-up reads (the rules name it: `box-office.sale`). */
export interface CashUpActions {
  /** A box office sale's row: its actor sold at the window. */
  sale: string;
}

/** Read-only queries of the box office cash-up (end-of-shift reconciliation). */
@Injectable()
export class CashUpRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The accounts whose Redis index of unflushed purchases may hold a box office sale of [from, to):
   * the staff and admin accounts now, and the accounts that sold at the window in the range (their
   * `actions.sale` audit rows), so one demoted since is not missed. Ids, in no particular order.
   */
  async sellingAccounts(from: Date, to: Date, actions: CashUpActions): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM users WHERE role IN ('STAFF', 'ADMIN')
       UNION
       SELECT actor_id FROM admin_audit_log WHERE action = $1 AND created_at >= $2 AND created_at < $3`,
      [actions.sale, from, to],
    );
    return rows.map((row) => row.id);
  }

  /**
   * The box office sales made in [from, to) (by `purchases.created_at`) and the refunds paid out at
   * the window in it, each filtered by `clerkId` (the seller; the one who paid out) and
   * `performanceId`, with the accounts they name and `alsoClerkIds`, in one repeatable-read
   * snapshot. Window refunds of box office sales are read from the refunds' own records
   * (`purchase_refunds.refunded_by_id`, `purchases.canceled_by_id`: migration RefundOperators1800000090000),
   * so they count once PostgreSQL has the refund, whether or not its audit row was written; sales
   * through `purchases_box_office_created` and paid owed refunds through `window_refunds_paid`
   * (migration CashUpIndexes1799760000000).
   */
  read(query: CashUpQuery, alsoClerkIds: readonly string[]): Promise<CashUpRows> {
    const { from, to, clerkId, performanceId } = query;
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const sales: (Omit<CashUpSale, 'amount'> & { amount: string })[] = await manager.query(
        `SELECT p.id, p.user_id AS "clerkId", p.performance_id AS "performanceId", p.currency,
                p.payment_method AS "paymentMethod", p.amount::text AS amount, p.created_at AS "soldAt",
                (SELECT count(*)::int FROM tickets t WHERE t.purchase_id = p.id) AS seats
           FROM purchases p
          WHERE p.sale_channel = 'BOX_OFFICE' AND p.created_at >= $1 AND p.created_at < $2
            -- A guest comp is stored as the venue's too, with no payment method: no money.
            AND p.payment_method IS NOT NULL
            AND ($3::uuid IS NULL OR p.user_id = $3) AND ($4::int IS NULL OR p.performance_id = $4)`,
        [from, to, clerkId, performanceId],
      );
      const refunds: (Omit<CashUpRefund, 'amount'> & { amount: string })[] = await manager.query(
        // A refund of a box office sale is given back at the window the way it was taken (its
        // payment method), by the operator who made it; a guest comp (no payment method) gives nothing back.
        `SELECT r.purchase_id::text AS "purchaseId", 'REFUND' AS kind, r.refunded_by_id AS "clerkId",
                p.performance_id AS "performanceId", r.currency, p.payment_method AS "paymentMethod",
                r.amount::text AS amount, r.refunded_at AS "paidAt"
           FROM purchase_refunds r JOIN purchases p ON p.id = r.purchase_id
          WHERE r.refunded_by_id IS NOT NULL AND r.refunded_at >= $1 AND r.refunded_at < $2 AND r.amount > 0
            AND p.sale_channel = 'BOX_OFFICE' AND p.payment_method IS NOT NULL
            AND ($3::uuid IS NULL OR r.refunded_by_id = $3) AND ($4::int IS NULL OR p.performance_id = $4)
         UNION ALL
         -- An operator's whole refund gave back what the partial refunds before it left, as Redis
         -- decided it with the cancel (canceled_amount): an earlier partial refund may not be in
         -- PostgreSQL yet. Computed here only for a cancellation written before it was recorded.
         SELECT p.id::text, 'REFUND', p.canceled_by_id, p.performance_id, p.currency, p.payment_method,
                whole.amount::text, p.canceled_at
           FROM purchases p
          CROSS JOIN LATERAL (SELECT coalesce(p.canceled_amount,
                                              p.amount - coalesce((SELECT sum(r.amount) FROM purchase_refunds r
                                                                    WHERE r.purchase_id = p.id), 0)) AS amount) whole
          WHERE p.canceled_by_id IS NOT NULL AND p.canceled_at >= $1 AND p.canceled_at < $2 AND whole.amount > 0
            AND p.sale_channel = 'BOX_OFFICE' AND p.payment_method IS NOT NULL
            AND ($3::uuid IS NULL OR p.canceled_by_id = $3) AND ($4::int IS NULL OR p.performance_id = $4)
         UNION ALL
         SELECT w.purchase_id::text, 'OWED_PAID', w.paid_by_id, w.performance_id, w.currency, w.payment_method,
                w.amount::text, w.paid_at
           FROM window_refunds w
          WHERE w.status = 'PAID' AND w.paid_at >= $1 AND w.paid_at < $2
            AND ($3::uuid IS NULL OR w.paid_by_id = $3) AND ($4::int IS NULL OR w.performance_id = $4)`,
        [from, to, clerkId, performanceId],
      );
      const ids = new Set<string>([
        ...sales.map((sale) => sale.clerkId),
        ...refunds.map((refund) => refund.clerkId),
        ...alsoClerkIds,
      ]);
      const clerks: CashUpClerk[] =
        ids.size === 0
          ? []
          : await manager.query(`SELECT id, email, name FROM users WHERE id = ANY($1::uuid[])`, [[...ids]]);
      return {
        sales: sales.map((sale) => ({ ...sale, currency: sale.currency.trim(), amount: Number(sale.amount) })),
        refunds: refunds.map((refund) => ({
          ...refund,
          currency: refund.currency.trim(),
          amount: Number(refund.amount),
        })),
        clerks,
      };
    });
  }
}
