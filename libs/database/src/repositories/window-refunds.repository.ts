import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { BoxOfficePaymentMethod } from '../entities/purchase.entity';
import { recordAuditIn, NewAdminAudit } from './admin-audit.repository';

/** Where a window refund stands: `OWED` (not given back yet) or `PAID` (given back at the window). */
export type WindowRefundStatus = 'OWED' | 'PAID';

/**
 * The refund of a box office sale that the bulk refund of its canceled performance canceled: owed at
 * the window until an operator gives the money back there (see migration WindowRefunds1799720000000).
 */
export interface WindowRefund {
  purchaseId: string;
  performanceId: number;
  /** What goes back: an integer in minor units of `currency` (the sale less its partial refunds). */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  /** How it goes back: as the sale was paid, in cash or to the card on the terminal. */
  refundMethod: BoxOfficePaymentMethod;
  status: WindowRefundStatus;
  /** When the bulk refund canceled the sale (its cancellation written to PostgreSQL). */
  owedAt: Date;
  /** When an operator marked it paid; null while owed. */
  paidAt: Date | null;
  /** Who marked it paid; null while owed. */
  paidBy: { id: string; email: string } | null;
  /** Whom to pay: the sale's delivery address and name when it has them, else its owning account's. */
  buyerEmail: string;
  buyerName: string;
}

interface WindowRefundRow {
  purchase_id: string;
  performance_id: number;
  amount: string;
  currency: string;
  payment_method: BoxOfficePaymentMethod;
  status: WindowRefundStatus;
  owed_at: Date;
  paid_at: Date | null;
  paid_by_id: string | null;
  paid_by_email: string | null;
  buyer_email: string;
  buyer_name: string;
}

const SELECTED = `w.purchase_id, w.performance_id, w.amount::text AS amount, w.currency, w.payment_method, w.status,
       w.owed_at, w.paid_at, w.paid_by_id, w.paid_by_email, COALESCE(p.delivery_email, u.email) AS buyer_email,
       COALESCE(p.delivery_name, p.delivery_email, u.name) AS buyer_name`;

/**
 * What marking a window refund paid came to: `paid` (this call did, the refund as it is now),
 * `already-paid` (someone did before: the refund as they left it), `not-found` (no refund owed at
 * the window for that purchase).
 */
export type MarkWindowRefundPaid =
  | { outcome: 'paid'; refund: WindowRefund }
  | { outcome: 'already-paid'; refund: WindowRefund }
  | { outcome: 'not-found' };

/** Refunds owed at the box office window (`window_refunds`) and their payment there. */
@Injectable()
export class WindowRefundsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Up to `limit` window refunds of the performance, oldest owed first (then by purchase id), after
   * the keyset `after` when given; only those of `status` when given. Ordered by `owedAt` to the
   * millisecond, as a cursor carries it, so a page boundary within one millisecond repeats nothing.
   */
  async page(
    performanceId: number,
    status: WindowRefundStatus | undefined,
    after: { owedAt: Date; purchaseId: string } | null,
    limit: number,
  ): Promise<WindowRefund[]> {
    const rows: WindowRefundRow[] = await this.dataSource.query(
      `SELECT ${SELECTED}
         FROM window_refunds w JOIN purchases p ON p.id = w.purchase_id JOIN users u ON u.id = p.user_id
        WHERE w.performance_id = $1 AND ($2::text IS NULL OR w.status = $2)
          AND ($3::timestamptz IS NULL
               OR (date_trunc('milliseconds', w.owed_at), w.purchase_id) > ($3::timestamptz, $4::uuid))
        ORDER BY date_trunc('milliseconds', w.owed_at), w.purchase_id
        LIMIT $5`,
      [performanceId, status ?? null, after?.owedAt ?? null, after?.purchaseId ?? null, limit],
    );
    return rows.map(toWindowRefund);
  }

  /** The purchase's window refund; null when none was owed at the window for it. */
  async find(purchaseId: string): Promise<WindowRefund | null> {
    const rows: WindowRefundRow[] = await this.dataSource.query(
      `SELECT ${SELECTED}
         FROM window_refunds w JOIN purchases p ON p.id = w.purchase_id JOIN users u ON u.id = p.user_id
        WHERE w.purchase_id = $1`,
      [purchaseId],
    );
    return rows[0] ? toWindowRefund(rows[0]) : null;
  }

  /**
   * Marks the purchase's owed window refund paid by `operator`, with the audit row `audit` (its
   * details completed with the refund's amount, currency, method and performance) in the same
   * transaction. Of concurrent marks one wins (the row's OWED → PAID update): the others answer
   * `already-paid`, and only the winner's audit row is written.
   */
  async markPaid(
    purchaseId: string,
    operator: { id: string; email: string },
    audit: Pick<NewAdminAudit, 'action'>,
  ): Promise<MarkWindowRefundPaid> {
    return this.dataSource.transaction(async (manager) => {
      const [updated]: [{ purchase_id: string }[], number] = await manager.query(
        `UPDATE window_refunds SET status = 'PAID', paid_at = clock_timestamp(), paid_by_id = $2, paid_by_email = $3
          WHERE purchase_id = $1 AND status = 'OWED'
          RETURNING purchase_id`,
        [purchaseId, operator.id, operator.email],
      );
      const rows: WindowRefundRow[] = await manager.query(
        `SELECT ${SELECTED}
           FROM window_refunds w JOIN purchases p ON p.id = w.purchase_id JOIN users u ON u.id = p.user_id
          WHERE w.purchase_id = $1`,
        [purchaseId],
      );
      if (!rows[0]) return { outcome: 'not-found' };
      const refund = toWindowRefund(rows[0]);
      if (updated.length === 0) return { outcome: 'already-paid', refund };
      await recordAuditIn(manager, {
        actorId: operator.id,
        actorEmail: operator.email,
        action: audit.action,
        subjectId: purchaseId,
        details: {
          performanceId: refund.performanceId,
          amount: refund.amount,
          currency: refund.currency,
          refundMethod: refund.refundMethod,
        },
      });
      return { outcome: 'paid', refund };
    });
  }
}

function toWindowRefund(row: WindowRefundRow): WindowRefund {
  return {
    purchaseId: row.purchase_id,
    performanceId: row.performance_id,
    amount: Number(row.amount),
    currency: row.currency.trim(),
    refundMethod: row.payment_method,
    status: row.status,
    owedAt: row.owed_at,
    paidAt: row.paid_at,
    paidBy: row.paid_by_id && row.paid_by_email ? { id: row.paid_by_id, email: row.paid_by_email } : null,
    buyerEmail: row.buyer_email,
    buyerName: row.buyer_name,
  };
}
