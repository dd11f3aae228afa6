import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { boundLockWaits, rethrowAsDatabaseError } from '../database-unavailable';
import { returnHouseSeats } from './comp-house-seats';
import { cancelPendingTransfersOfRefunds, queueReceivedTicketCanceledNotices } from './ticket-transfers.repository';

/**
 * A partial refund (an operator refunded some seats of a purchase, which stays paid with the
 * others), as refund-seats.lua decided it and its purchase stream entry carries it.
 */
export interface PurchaseRefund {
  /** Chosen by the api: the stream entry and the `purchase_refunds` row carry it, so a replay is one row. */
  refundId: string;
  purchaseId: string;
  /** The seats refunded: their tickets are canceled. */
  seatIds: number[];
  /** Of `seatIds`, the checked-in seats kept sold (never resold). */
  keptSeatIds: number[];
  /** The seats' prices summed: an integer in minor units of `currency`, what goes back to the buyer. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  /** The purchase's charge; '' when none (a free purchase). */
  chargeId: string;
  /** When Redis decided it (Redis TIME). */
  refundedAt: Date;
  /**
   * The operator's account that made it (for a box office sale, who gave the money back at the
   * window: the cash-up counts it by this): `purchase_refunds.refunded_by_id`. Absent or null for an
   * entry an older version wrote.
   */
  refundedById?: string | null;
}

/** An owed partial refund a reconciler claimed (`claimOwed`). */
export interface OwedPurchaseRefund {
  refundId: string;
  purchaseId: string;
  amount: number;
  currency: string;
  /** Null when the purchase noted none (data of an older version): it cannot be refunded by id. */
  chargeId: string | null;
}

/**
 * Who refunds the partial refunds written right after: 'api' (it wrote them, and refunds at once:
 * the reconciler waits PAYMENT_RECONCILE_AFTER_SECONDS) or 'batch' (the flush wrote them; owed at once).
 */
export type PartialRefundBy = 'api' | 'batch';

/**
 * Locks the rows of the purchases `ids` (those that exist; the others are skipped) FOR NO KEY
 * UPDATE, the lock a cancellation's UPDATE takes, in one statement in ascending id order: the one
 * global order every writer of several purchases (the flush's batch, the bulk refund's box office
 * cancels, a partial refund) takes them in before it changes any, so two of them never deadlock
 * (40P01). A writer that locked some first and others in a later statement would not be one order
 * overall. Waits as the transaction's lock_timeout allows.
 */
export async function lockPurchasesInIdOrder(manager: EntityManager, ids: readonly string[]): Promise<void> {
  await manager.query(`SELECT 1 FROM purchases WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`, [ids]);
}

/**
 * Writes partial refunds, once each (a replay changes nothing): the `purchase_refunds` row, OWED
 * (REFUNDED at once when its amount is 0: nothing was charged for those seats; and for a box office
 * sale, `purchases.payment_method` set: its money is given back at the window, never through the
 * gateway, so the payment reconciler never owes it), the buyer's notice
 * in the outbox (`purchase-refunded:<refund id>`, P5), and its seats'
 * tickets CANCELED with its id (`tickets.refund_id`; also one its purchase's whole cancellation, written
 * first, canceled already), so they admit no one, leave the door
 * list and every count of sold seats, and read AVAILABLE after a rebuild of the seat state (unless
 * checked in: a kept seat stays sold, as `activeSeatIds` says); their pending transfer offers end
 * (`cancelPendingTransfersOfRefunds`), and a voided ticket's holder by a transfer gets the "the ticket
 * you received was canceled" e-mail (`queueReceivedTicketCanceledNotices`). A refund owed at the window
 * (`window_refunds` OWED) by such a cancellation of a box office sale is lessened by its amount.
 */
export async function writePartialRefunds(
  manager: EntityManager,
  refunds: readonly PurchaseRefund[],
  refundBy: PartialRefundBy,
): Promise<void> {
  if (refunds.length === 0) return;
  // Their purchases' rows first, in a statement of its own (FOR NO KEY UPDATE, the lock a cancellation's
  // UPDATE takes, in id order): the bulk refund's cancel of a box office sale in flight commits before
  // the statement below reads what that cancel owes at the window (window_rest), and one that comes
  // after waits for this refund before reading the refunds (writeWindowSaleShowCancels takes this lock).
  await lockPurchasesInIdOrder(
    manager,
    refunds.map((refund) => refund.purchaseId),
  );
  const received = (await manager.query(
    `WITH input AS (
       SELECT * FROM json_to_recordset($1::json) AS ("refundId" uuid, "purchaseId" uuid, "seatIds" int[],
                                                     "keptSeatIds" int[], amount bigint, currency char(3),
                                                     "chargeId" varchar, "refundedAt" timestamptz,
                                                     "refundedById" uuid)
     ), inserted AS (
       INSERT INTO purchase_refunds (id, purchase_id, seat_ids, kept_seat_ids, amount, currency, charge_id, status,
                                     refunded_at, refunded_by_id, resolved_at, touched_at)
       SELECT "refundId", "purchaseId", "seatIds", "keptSeatIds", amount, currency, NULLIF("chargeId", ''),
              CASE WHEN settled THEN 'REFUNDED' ELSE 'OWED' END, "refundedAt", "refundedById",
              CASE WHEN settled THEN clock_timestamp() END,
              CASE WHEN $2::text = 'api' THEN clock_timestamp() ELSE '-infinity'::timestamptz END
         FROM (SELECT input.*,
                      amount = 0 OR EXISTS (SELECT 1 FROM purchases p
                                             WHERE p.id = input."purchaseId" AND p.payment_method IS NOT NULL) AS settled
                 FROM input) AS r
       ON CONFLICT (id) DO NOTHING
       RETURNING id, purchase_id, seat_ids
     ), voided AS (
       -- A ticket of its seats already CANCELED with no refund is this refund's all the same: Redis gave
       -- the seat to this refund before the purchase's whole cancellation took the rest (a cancellation
       -- refuses a refund after it), and that cancellation reached PostgreSQL first, canceling every
       -- ticket still ACTIVE. Left unclaimed, the seat would read canceled with the rest, not refunded.
       UPDATE tickets t SET status = 'CANCELED', refund_id = i.id
         FROM inserted i
        WHERE t.purchase_id = i.purchase_id AND t.seat_id = ANY (i.seat_ids)
          AND t.refund_id IS NULL
       RETURNING t.id::text AS id, t.holder_id
     ), notice AS (
       -- The buyer's notice (PurchaseRefundedMessage of @app/messaging/contracts), once a refund: on the
       -- urgent mail queue, as an operator's refund of a whole purchase.
       INSERT INTO outbox (message_id, routing_key, payload)
       SELECT 'purchase-refunded:' || i.id, 'purchase.canceled',
              jsonb_strip_nulls(jsonb_build_object(
                'type', 'purchase.refunded', 'purchaseId', i.purchase_id, 'refundId', i.id,
                'refundedAt', p."refundedAt", 'seatIds', to_jsonb(p."seatIds"),
                'keptSeatIds', CASE WHEN cardinality(p."keptSeatIds") > 0 THEN to_jsonb(p."keptSeatIds") END,
                'amount', p.amount, 'currency', p.currency))
         FROM inserted i JOIN input p ON p."refundId" = i.id
       ON CONFLICT (message_id) DO NOTHING
     ), window_rest AS (
       -- A box office sale the bulk refund of its show canceled, written first, owes at the window what
       -- was left then; this refund's seats were given back at the window already (Redis gave them to it
       -- before that cancel took the rest): owed no more. Nothing left owed, no row (as that cancel writes).
       UPDATE window_refunds w SET amount = w.amount - p.amount
         FROM inserted i JOIN input p ON p."refundId" = i.id
        WHERE w.purchase_id = i.purchase_id AND w.status = 'OWED' AND w.amount > p.amount
     ), window_none AS (
       DELETE FROM window_refunds w
        USING inserted i JOIN input p ON p."refundId" = i.id
        WHERE w.purchase_id = i.purchase_id AND w.status = 'OWED' AND w.amount <= p.amount
     )
     SELECT id, holder_id FROM voided WHERE holder_id IS NOT NULL`,
    [JSON.stringify(refunds), refundBy],
  )) as { id: string; holder_id: string }[];
  // A voided ticket someone received by a transfer: its holder is told, as for a whole refund (a
  // ticket the purchase's cancellation voided first was told of then: one message id a transfer).
  await queueReceivedTicketCanceledNotices(
    manager,
    received.map((ticket) => ({ id: ticket.id, holderId: ticket.holder_id, bulk: false })),
  );
  // A void ticket changes hands no more: its pending offers end with it (their recipients told).
  await cancelPendingTransfersOfRefunds(
    manager,
    refunds.map((refund) => refund.purchaseId),
    refunds.map((refund) => refund.refundId),
  );
  // A comp's refunded house seats go back to their blocks, as refund-seats.lua made them BLOCKED in Redis.
  await returnHouseSeats(
    manager,
    refunds.map((refund) => refund.purchaseId),
  );
}

/** Partial refunds of purchases (see {@link PurchaseRefund}) and where their money stands. */
@Injectable()
export class PurchaseRefundsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Writes one partial refund now (as its flush would, `writePartialRefunds`), before its money is
   * given back: a Redis that lost it later cannot bring its seats back as sold. Waits for a row at
   * most ROW_LOCK_TIMEOUT_MS; throws DatabaseUnavailableError when that or the pool runs out.
   */
  async written(refund: PurchaseRefund): Promise<void> {
    await this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        await writePartialRefunds(manager, [refund], 'api');
      })
      .catch(rethrowAsDatabaseError);
  }

  /** Records that the gateway gave an owed partial refund back; false when it was not owed (any more). */
  async markRefunded(refundId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `UPDATE purchase_refunds SET status = 'REFUNDED', resolved_at = clock_timestamp()
        WHERE id = $1 AND status = 'OWED' RETURNING id`,
      [refundId],
    );
    return rows.length > 0;
  }

  /**
   * What the partial refunds of a purchase gave back (or owe), summed: an integer in minor units
   * (0 when none). Its whole refund (its cancel) gives back only the rest of the charge.
   */
  async refundedAmount(purchaseId: string, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const rows: { sum: string | null }[] = await manager.query(
      `SELECT sum(amount) AS sum FROM purchase_refunds WHERE purchase_id = $1`,
      [purchaseId],
    );
    return Number(rows[0]?.sum ?? 0);
  }

  /**
   * Claims the owed partial refund untouched longest, if untouched for `olderThanMs`: marks it
   * touched now in a statement of its own (rows another process holds are skipped), so no other
   * reconciler takes it for the next `olderThanMs`. Null when none is due.
   */
  async claimOwed(olderThanMs: number): Promise<OwedPurchaseRefund | null> {
    const { rows } = await this.pool().query<{
      id: string;
      purchase_id: string;
      amount: string;
      currency: string;
      charge_id: string | null;
    }>(
      `UPDATE purchase_refunds SET touched_at = clock_timestamp()
        WHERE id = (
          SELECT id FROM purchase_refunds
           WHERE status = 'OWED' AND touched_at < statement_timestamp() - $1 * interval '1 millisecond'
           ORDER BY touched_at LIMIT 1 FOR UPDATE SKIP LOCKED
        )
       RETURNING id, purchase_id, amount, currency, charge_id`,
      [olderThanMs],
    );
    const [row] = rows;
    if (!row) return null;
    return {
      refundId: row.id,
      purchaseId: row.purchase_id,
      amount: Number(row.amount),
      currency: row.currency.trim(),
      chargeId: row.charge_id,
    };
  }

  /** The DataSource's own pg pool: one round trip per statement. */
  private pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }
}
