import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { ReadTransaction } from './performance.repository';
import { CanceledBy, emailKey } from '@app/core';
import { boundLockWaits, rethrowAsDatabaseError, withQueryTimeout } from '../database-unavailable';
import { BoxOfficePaymentMethod, PurchaseStatus } from '../entities/purchase.entity';
import { cancelPendingTransfersOfPurchases, queueReceivedTicketCanceledNotices } from './ticket-transfers.repository';
import { clearedPaymentToken } from './payment-attempts.repository';
import { returnHouseSeats } from './comp-house-seats';
import { lockPurchasesInIdOrder, PurchaseRefund, writePartialRefunds } from './purchase-refunds.repository';

/** A purchase with its seats, as written behind from Redis and read back for its buyer. */
export interface PurchaseRecord {
  id: string;
  reservationId: string;
  userId: string;
  performanceId: number;
  /** The seats it holds: its tickets but those its partial refunds canceled. */
  seatIds: number[];
  /**
   * Sum of the seat prices, an integer in minor units of `currency`: what was charged (partial
   * refunds are not taken off it: see `refundedAmount`).
   */
  amount: number;
  /**
   * Read back only: the seats its partial refunds canceled (`tickets.refund_id`), by refund then
   * seat; absent when none.
   */
  refundedSeatIds?: number[];
  /** Read back only: what its partial refunds gave back, summed (`purchase_refunds`); absent when none. */
  refundedAmount?: number;
  /**
   * Each seat's price as bought (`tickets.price`), in the order of `seatIds`; absent (or null)
   * when any of its tickets has none (sold before tickets recorded prices).
   */
  seatPrices?: number[] | null;
  /** ISO 4217 code. */
  currency: string;
  /** The gateway's charge; '' when none (a free purchase, never charged): NULL in PostgreSQL. */
  chargeId: string;
  status: PurchaseStatus;
  createdAt: Date;
  canceledAt: Date | null;
  /**
   * Of one written CANCELED (canceled before its flush): what its cancel gave back, minor units
   * (`purchases.canceled_amount`), and the operator of an operator's cancel (`canceled_by_id`);
   * absent or null when not known (a buyer's cancel has no operator; an older version's none).
   */
  canceledAmount?: number | null;
  canceledById?: string | null;
  /**
   * The presale whose access code let its hold in before the on-sale (`purchases.presale_id`, a
   * decimal string: `performance_presales.id`, kept when the presale is deleted); absent (or null)
   * for a sale after the on-sale, a comp or a box office sale.
   */
  presaleId?: string | null;
  /**
   * A comp's note (complimentary tickets an operator issued: who and why, `purchases.comp_note`);
   * absent (or null) for a sale.
   */
  compNote?: string | null;
  /**
   * A box office sale's payment method at the window (`purchases.payment_method`, with
   * `sale_channel` BOX_OFFICE); absent (or null) for an online sale.
   */
  paymentMethod?: BoxOfficePaymentMethod | null;
  /**
   * Ticket ids taken ahead of the flush (decimal strings, in the order of `seatIds`): a box office
   * sale answers with its tickets' signed codes before it is written here, so the flush inserts
   * its tickets with these ids. Absent for every other purchase (ids given by the identity).
   */
  ticketIds?: string[] | null;
  /**
   * A box office sale's or a guest comp's delivery address and name for its e-mails (either is
   * `sale_channel` BOX_OFFICE, the venue's); absent (or null): the owner's.
   */
  deliveryEmail?: string | null;
  deliveryName?: string | null;
  /**
   * Read back only: a comp's seats lent from their blocks (`comp_house_seats`) and not given back
   * yet, ascending; absent when none. Its cancel or refund gives them back to their blocks.
   */
  houseSeatIds?: number[];
}

export interface PurchaseCancellation {
  purchaseId: string;
  canceledAt: Date;
  /**
   * Who canceled, as the cancel script recorded it: its cancellation notice is worded by it (and a
   * purchase canceled with its performance gets one even unconfirmed). Null for a cancellation
   * recorded before it carried it; the message then has none.
   */
  canceledBy: CanceledBy | null;
  /**
   * Seats of checked-in tickets the cancel kept sold (an operator's refund with
   * `resellCheckedInSeats: false`, or a canceled show's bulk refund): the notice names them as
   * kept. Absent or empty: none, or a cancellation recorded before it carried them; the message then has none.
   */
  keptSeatIds?: readonly number[];
  /**
   * What this cancellation gives back, as Redis decided it (the purchase's amount less every partial
   * refund Redis recorded before it), an integer in minor units of the purchase's currency: the
   * api's cancel gives it and the cancel entry carries it (cancel-purchase.lua, refund-seats.lua).
   * Written to `purchases.canceled_amount` (the cash-up counts an operator's whole refund by it) and
   * carried by the notice, so the mailer can tell a partial refund Redis made first but PostgreSQL
   * has not written yet. Absent: an entry an older version wrote (PostgreSQL's amount less its partial
   * refunds stands in for it).
   */
  amount?: number;
  /**
   * An operator's cancel: the operator's account (for a box office sale, who gave the money back at
   * the window: the cash-up counts it by this), written to `purchases.canceled_by_id` by the write
   * that cancels it. Absent or null: a buyer's cancel, a canceled show's bulk refund, or an entry an
   * older version wrote.
   */
  canceledById?: string | null;
}

/** What one flush writes, in one transaction. */
export interface PurchaseFlushBatch {
  purchases: PurchaseRecord[];
  cancellations: PurchaseCancellation[];
  /** Partial refunds (of purchases PostgreSQL has: refund-seats.lua refuses others); none when absent. */
  refunds?: PurchaseRefund[];
}

const SELECT_PURCHASE = `
  SELECT p.id, p.reservation_id, p.user_id, p.performance_id, p.amount, p.currency, p.charge_id, p.status,
         p.created_at, p.canceled_at, p.comp_note, p.payment_method, p.delivery_email, p.delivery_name,
         p.presale_id::text AS presale_id,
         COALESCE((SELECT array_agg(t.seat_id ORDER BY t.seat_id) FROM tickets t
                    WHERE t.purchase_id = p.id AND t.refund_id IS NULL), '{}') AS seat_ids,
         (SELECT CASE WHEN bool_and(t.price IS NOT NULL) THEN array_agg(t.price ORDER BY t.seat_id) END
            FROM tickets t WHERE t.purchase_id = p.id AND t.refund_id IS NULL) AS seat_prices,
         (SELECT array_agg(s.seat_id ORDER BY r.refunded_at, r.id, s.seat_id)
            FROM purchase_refunds r CROSS JOIN unnest(r.seat_ids) AS s(seat_id)
           WHERE r.purchase_id = p.id) AS refunded_seat_ids,
         (SELECT sum(r.amount) FROM purchase_refunds r WHERE r.purchase_id = p.id) AS refunded_amount,
         CASE WHEN p.comp_note IS NOT NULL THEN
           (SELECT array_agg(h.seat_id ORDER BY h.seat_id) FROM comp_house_seats h WHERE h.purchase_id = p.id)
         END AS house_seat_ids
  FROM purchases p`;

interface PurchaseQueryRow {
  id: string;
  reservation_id: string;
  user_id: string;
  performance_id: number;
  /** bigint, as pg returns it. */
  amount: string;
  currency: string;
  charge_id: string | null;
  status: PurchaseStatus;
  created_at: Date;
  canceled_at: Date | null;
  comp_note: string | null;
  payment_method: BoxOfficePaymentMethod | null;
  delivery_email: string | null;
  delivery_name: string | null;
  presale_id: string | null;
  seat_ids: number[];
  /** Null when a ticket has no price (or there are no tickets). */
  seat_prices: number[] | null;
  /** Null when it has no partial refund. */
  refunded_seat_ids: number[] | null;
  /** numeric, as pg returns a sum of bigint; null when it has no partial refund. */
  refunded_amount: string | null;
  /** Null unless a comp holds house seats lent from their blocks (comp_house_seats). */
  house_seat_ids: number[] | null;
}

/** Purchases, their tickets, and the outbox rows that announce them. */
@Injectable()
export class PurchaseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findById(id: string): Promise<PurchaseRecord | null> {
    const rows: PurchaseQueryRow[] = await this.dataSource.query(`${SELECT_PURCHASE} WHERE p.id = $1`, [id]);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /**
   * A user's purchases, newest first, after the keyset `before` (exclusive): those it bought online
   * (and comps given to it); box office sales it sold at the window are the venue's, not its own.
   */
  async pageOfUser(
    userId: string,
    before: { createdAt: Date; id: string } | null,
    limit: number,
  ): Promise<PurchaseRecord[]> {
    const rows: PurchaseQueryRow[] = before
      ? await this.dataSource.query(
          `${SELECT_PURCHASE} WHERE p.user_id = $1 AND p.sale_channel = 'ONLINE' AND (p.created_at, p.id) < ($2, $3)
           ORDER BY p.created_at DESC, p.id DESC LIMIT $4`,
          [userId, before.createdAt, before.id, limit],
        )
      : await this.dataSource.query(
          `${SELECT_PURCHASE} WHERE p.user_id = $1 AND p.sale_channel = 'ONLINE' ORDER BY p.created_at DESC, p.id DESC LIMIT $2`,
          [userId, limit],
        );
    return rows.map(toRecord);
  }

  /**
   * Anyone's purchases (for operators), newest first, after the keyset `before` (exclusive),
   * optionally only of one performance and/or by one e-mail address: the buyer's account with it
   * (any letter case: the same {@link emailKey}), or a box office sale delivered to it
   * (`delivery_email`, stored as the window took it, normalized: `filter.email` normalized alike,
   * trimmed, NFKC and lower case), and/or made in one presale (`presaleId`, decimal digits of a
   * positive bigint: `purchases.presale_id`).
   */
  async pageForOperators(
    filter: { performanceId?: number; email?: string; presaleId?: string },
    before: { createdAt: Date; id: string } | null,
    limit: number,
  ): Promise<PurchaseRecord[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.performanceId !== undefined) {
      params.push(filter.performanceId);
      conditions.push(`p.performance_id = $${params.length}`);
    }
    if (filter.email !== undefined) {
      // The account's purchases (purchases_user_created) or a box office sale's delivery address
      // (purchases_delivery_email): a scalar subquery (email_key is unique), so both sides of the
      // OR are index conditions and the plan is a BitmapOr of the two indexes.
      params.push(emailKey(filter.email), filter.email);
      conditions.push(
        `(p.user_id = (SELECT u.id FROM users u WHERE u.email_key = $${params.length - 1})` +
          ` OR p.delivery_email = $${params.length})`,
      );
    }
    if (filter.presaleId !== undefined) {
      // Its sales newest first from purchases_presale_created (a partial index of presale sales).
      params.push(filter.presaleId);
      conditions.push(`p.presale_id = $${params.length}::bigint`);
    }
    if (before) {
      params.push(before.createdAt, before.id);
      conditions.push(`(p.created_at, p.id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows: PurchaseQueryRow[] = await this.dataSource.query(
      `${SELECT_PURCHASE} ${where} ORDER BY p.created_at DESC, p.id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  /**
   * Seats of a performance that an active ticket holds, or that someone was checked in on (an
   * operator's refund may keep such a seat off sale after its ticket is canceled): sold for good.
   */
  async activeSeatIds(performanceId: number, manager?: ReadTransaction): Promise<number[]> {
    const rows: { seat_id: number }[] = await (manager ?? this.dataSource).query(
      `SELECT DISTINCT seat_id FROM tickets
        WHERE performance_id = $1 AND (status = 'ACTIVE' OR checked_in_at IS NOT NULL)`,
      [performanceId],
    );
    return rows.map((row) => row.seat_id);
  }

  /**
   * Per buyer, the seats of their purchases of the performance that are not canceled (active
   * tickets): what the hold scripts' ticket limit per buyer counts, when Redis's count is built
   * from PostgreSQL. Buyers without any are left out, and so are box office sales (the venue's: not
   * in the selling account's count). `manager`: read inside that transaction.
   */
  async ticketsBoughtByBuyer(
    performanceId: number,
    manager?: ReadTransaction,
  ): Promise<{ userId: string; seats: number }[]> {
    const rows: { user_id: string; seats: string }[] = await (manager ?? this.dataSource).query(
      `SELECT p.user_id, count(*) AS seats
         FROM tickets t JOIN purchases p ON p.id = t.purchase_id
        WHERE t.performance_id = $1 AND t.status = 'ACTIVE' AND p.sale_channel = 'ONLINE'
        GROUP BY p.user_id`,
      [performanceId],
    );
    return rows.map((row) => ({ userId: row.user_id, seats: Number(row.seats) }));
  }

  /**
   * The seats {@link activeSeatIds} answers, each with the purchase that sold it (that purchase's
   * hold, null when its row is gone, and its buyer): for the seat reconciler, which checks each sale
   * against Redis. `final` marks a seat kept sold after its ticket was canceled (checked in, then
   * refunded by an operator who kept it off sale): no cancellation undoes it. A seat with both an
   * active and such a ticket answers the active one. `boxOffice`: sold at the window (its account
   * is the selling clerk's, whose tickets bought it is not in).
   */
  async soldSeats(performanceId: number): Promise<
    {
      seatId: number;
      purchaseId: string;
      reservationId: string | null;
      userId: string;
      final: boolean;
      boxOffice: boolean;
    }[]
  > {
    const rows: {
      seat_id: number;
      purchase_id: string;
      reservation_id: string | null;
      user_id: string;
      active: boolean;
      box_office: boolean;
    }[] = await this.dataSource.query(
      `SELECT DISTINCT ON (t.seat_id) t.seat_id, t.purchase_id, p.reservation_id, p.user_id, t.status = 'ACTIVE' AS active,
              COALESCE(p.sale_channel = 'BOX_OFFICE', false) AS box_office
           FROM tickets t LEFT JOIN purchases p ON p.id = t.purchase_id
          WHERE t.performance_id = $1 AND (t.status = 'ACTIVE' OR t.checked_in_at IS NOT NULL)
          ORDER BY t.seat_id, t.status = 'ACTIVE' DESC`,
      [performanceId],
    );
    return rows.map((row) => ({
      seatId: row.seat_id,
      purchaseId: row.purchase_id,
      reservationId: row.reservation_id,
      userId: row.user_id,
      final: !row.active,
      boxOffice: row.box_office,
    }));
  }

  /**
   * Writes one cancellation now, as the flush of its cancel entry would (`cancel` below: the
   * purchase and its tickets CANCELED, the cancellation notice in the outbox saying who canceled
   * (`canceledBy`, and `amount`: what it gives back as Redis decided, in minor units, when given;
   * `canceledById`: an operator's cancel, the operator, kept as `purchases.canceled_by_id`), the
   * payment attempt REFUND_OWED unless REFUNDED); the flush's replay of it later changes nothing. Answers where the
   * purchase stands in PostgreSQL afterwards: 'canceled' (the cancellation is durable there),
   * 'absent' (not flushed yet: the cancel entry brings it canceled), or 'paid' (written by a flush
   * in flight that had read it before its cancel; its cancel entry follows). Waits for a row at most
   * ROW_LOCK_TIMEOUT_MS; throws DatabaseUnavailableError when that or the pool runs out.
   */
  async cancelWritten(
    purchaseId: string,
    canceledAt: Date,
    canceledBy: CanceledBy,
    keptSeatIds: readonly number[] = [],
    amount?: number,
    canceledById: string | null = null,
  ): Promise<'canceled' | 'absent' | 'paid'> {
    return this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        await cancel(manager, [{ purchaseId, canceledAt, canceledBy, keptSeatIds, amount, canceledById }], 'api');
        const rows: { status: PurchaseStatus }[] = await manager.query(`SELECT status FROM purchases WHERE id = $1`, [
          purchaseId,
        ]);
        if (rows.length === 0) return 'absent' as const;
        return rows[0].status === PurchaseStatus.Canceled ? ('canceled' as const) : ('paid' as const);
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Writes now, as their flush would, the cancellations of the bulk refund of a canceled show
   * (`canceledBy: performance`, from cancel entries not written yet) of box office sales PostgreSQL
   * has still PAID: each purchase and its tickets CANCELED, its notice in the outbox, its refund owed
   * at the window (`window_refunds` OWED). First the partial refunds of box office sales among
   * `refunds` (given at the window, their writes still to come): an owed refund leaves them out,
   * and one written owed before them is lowered by them (writePartialRefunds). Others are left to
   * the flush (an online sale's refund is the reconciler's once the flush wrote it). The flush's
   * replay later changes nothing. Waits for a row at most ROW_LOCK_TIMEOUT_MS; throws
   * DatabaseUnavailableError when that or the pool runs out.
   */
  async writeWindowSaleShowCancels(
    cancellations: readonly PurchaseCancellation[],
    refunds: readonly PurchaseRefund[] = [],
  ): Promise<void> {
    if (cancellations.length === 0 && refunds.length === 0) return;
    await this.dataSource
      .transaction(async (manager) => {
        await boundLockWaits(manager);
        // Every purchase concerned locked at once, in id order as a partial refund's write takes them
        // (its purchases, then a cancellation's, each in order, would not be one order overall), so
        // what is read below, in statements begun after the wait, includes the partial refunds a write
        // in flight commits: what the cancel owes at the window leaves them out.
        const locked: { id: string; box_office: boolean }[] = await manager.query(
          `SELECT id, payment_method IS NOT NULL AS box_office FROM purchases WHERE id = ANY($1::uuid[])
           ORDER BY id FOR NO KEY UPDATE`,
          [[...refunds.map((refund) => refund.purchaseId), ...cancellations.map((c) => c.purchaseId)]],
        );
        const boxOffice = new Set(locked.filter((row) => row.box_office).map((row) => row.id));
        await writePartialRefunds(
          manager,
          refunds.filter((refund) => boxOffice.has(refund.purchaseId)),
          'batch',
        );
        const rows: { id: string }[] = await manager.query(
          `SELECT id FROM purchases WHERE id = ANY($1::uuid[]) AND status = 'PAID' AND payment_method IS NOT NULL`,
          [cancellations.map((c) => c.purchaseId)],
        );
        const windowSales = new Set(rows.map((row) => row.id));
        const due = cancellations.filter((c) => c.canceledBy === 'performance' && windowSales.has(c.purchaseId));
        // Box office sales have no payment attempt: who refunds matters not; the flush's value.
        await cancel(manager, due, 'batch');
      })
      .catch(rethrowAsDatabaseError);
  }

  /**
   * Writes a flush atomically; replaying it changes nothing. The purchases its partial refunds and
   * cancellations change are locked first, all in one statement in id order (`lockPurchasesInIdOrder`,
   * as the bulk refund's `writeWindowSaleShowCancels` locks them), so the two never deadlock.
   * Partial refunds (`writePartialRefunds`) go first, then cancellations, then purchases. A purchase new to the database gets
   * its tickets, its purchase-completed outbox row (the message of `@app/messaging/contracts`,
   * built by the statement from the purchase itself), and its open payment attempt (PENDING or
   * CHARGED) marked COMPLETED (P9). A canceled purchase's attempt is marked REFUND_OWED (from
   * PENDING, CHARGED or COMPLETED), whether the purchase is written canceled or canceled here;
   * refunded or declined attempts are left alone. One transaction
   * (cancellations first, so a seat canceled and sold again in the same batch gets its new active
   * ticket, then one statement for the purchases), bounded by `bounds` (ms): each row or table lock
   * waited for at most `lockTimeoutMs` (PURCHASE_BATCH_LOCK_TIMEOUT_MS, see there), each statement
   * at most `statementTimeoutMs` (PURCHASE_BATCH_STATEMENT_TIMEOUT_MS in Env), whatever stalls it.
   * Returns the ids of the purchases that were new. Throws the database's error when a bound runs
   * out (code 55P03, "canceling statement due to lock timeout"; 57014, "canceling statement due to
   * statement timeout"), writing nothing.
   */
  async writeBatch(batch: PurchaseFlushBatch, bounds: BatchWriteBounds): Promise<string[]> {
    const lockTimeoutMs = bounds.lockTimeoutMs ?? PURCHASE_BATCH_LOCK_TIMEOUT_MS;
    return this.dataSource.transaction(async (manager) => {
      // statement_timeout is read when a statement starts, so it is set before the write (set
      // inside the write, as lock_timeout could be, it would bound only the next statement).
      // Integers both (validated), written into the one query that sets them: one round trip.
      await manager.query(
        `SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.trunc(bounds.statementTimeoutMs)}`,
      );
      // The server cancels a slow statement first (57014, the batch stays pending); this process
      // waits past that only for a server that does not answer at all.
      return withQueryTimeout(manager.queryRunner!, bounds.statementTimeoutMs + BATCH_ANSWER_MARGIN_MS, async () => {
        const refunds = batch.refunds ?? [];
        // Every purchase the batch changes, locked at once in id order before any write: the partial
        // refunds' write would lock theirs first and the cancellations' UPDATE the rest later, in no
        // set order, which deadlocked with the bulk refund of a show locking both in id order.
        if (batch.cancellations.length > 0) {
          await lockPurchasesInIdOrder(manager, [
            ...refunds.map((refund) => refund.purchaseId),
            ...batch.cancellations.map((c) => c.purchaseId),
          ]);
        }
        // Partial refunds before cancellations: a purchase's whole cancel after some comes later in its stream.
        if (refunds.length > 0) await writePartialRefunds(manager, refunds, 'batch');
        if (batch.cancellations.length > 0) await cancel(manager, batch.cancellations, 'batch');
        const inserted = await this.insertPurchases(manager, batch.purchases);
        if (batch.cancellations.length > 0) await recordCancelers(manager, batch.cancellations);
        return inserted;
      });
    });
  }

  private async insertPurchases(manager: EntityManager, purchases: PurchaseRecord[]): Promise<string[]> {
    if (purchases.length === 0) return [];
    // One JSON document for the whole batch: serialised natively, parsed once by PostgreSQL. Dates
    // become their toISOString(), which the statement copies into the purchase-completed payload.
    const batch = JSON.stringify(purchases);
    const inserted: { id: string }[] = await manager.query(INSERT_PURCHASES, [batch]);
    // A comp written canceled (canceled before its flush) gives its house seats back to their blocks;
    // a paid one keeps them (its tickets are ACTIVE).
    await returnHouseSeats(
      manager,
      purchases.filter((purchase) => purchase.compNote).map((purchase) => purchase.id),
    );
    return inserted.map((row) => row.id);
  }
}

/**
 * How long, in ms, a batch write waits for a row lock another transaction holds (the payment
 * reconciler holds an attempt's row FOR UPDATE across its refund's gateway calls, each bounded
 * by PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS; an operator's refund its purchase's): then the batch fails, stays pending, and the flusher retries it and logs
 * why, instead of hanging with the loop behind it. Set for the batch's transaction only (SET LOCAL);
 * every other query of the pool keeps the server's default.
 */
export const PURCHASE_BATCH_LOCK_TIMEOUT_MS = 5_000;

/**
 * How much longer (ms) than its statement_timeout this process waits for the answer to a batch
 * write's statement (DATABASE_QUERY_TIMEOUT_MS bounds the others): room for the server's own
 * cancel to arrive, so only a server that does not answer at all is given up on here.
 */
const BATCH_ANSWER_MARGIN_MS = 5_000;

/** How long (ms) a batch write may wait: see {@link PurchaseRepository.writeBatch}. */
export interface BatchWriteBounds {
  /** Each lock wait; PURCHASE_BATCH_LOCK_TIMEOUT_MS when not given. */
  lockTimeoutMs?: number;
  /** Each statement, from its start, whatever it waits on (PURCHASE_BATCH_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
}

/**
 * One statement, from a JSON array ($1) of PurchaseRecords: the purchases (ON CONFLICT: a replay inserts none), and for those
 * it inserted their tickets, purchase-completed outbox messages and payment-attempt completions.
 * The sub-statements share one snapshot, so each works from `inserted`, never from the tables.
 * Tickets have no foreign key to purchases (migration TicketsWithoutPurchaseFk): this is the only
 * statement that writes tickets, and it writes them only for the purchases it has just inserted,
 * which are never deleted. Keep it that way.
 *
 * Only the purchases insert has an ON CONFLICT (a replay's no-op). The tickets and the
 * purchase-completed rows are plain inserts: they are written only for purchases this statement
 * inserted, and nothing else writes a ticket or a `purchase-completed:` message, so neither can
 * exist before (a speculative insert per row, with its conflict probe, cost ~9 % of the
 * statement's CPU; docs/performance.md). Should one ever conflict (a second active ticket for a
 * seat, say), the batch fails with 23505 and is retried, split and logged, as any refusal is.
 *
 * The purchase-completed message (`PurchaseCompletedMessage` of `@app/messaging/contracts`: id
 * `purchase-completed:<purchase id>`, routing key `purchase.completed`) is built here from the
 * purchase's own fields, as the cancellation's message is below, rather than sent beside them: a
 * copy of every purchase in the input doubled the JSON PostgreSQL parses per batch (~20 % of the
 * statement's CPU, docs/performance.md). `createdAt` is read as text, the `toISOString()` the
 * contract's consumers parse, and cast for the column. The purchases e2e checks the row against
 * the contract.
 */
const INSERT_PURCHASES = `
  WITH input AS (
    -- One set-returning call for the whole array: per-element calls cost PostgreSQL about twice as
    -- much. json, not jsonb: the document is read once, and jsonb's binary form (its keys sorted
    -- per object) cost ~4 % of the statement more to build than json's one pass.
    SELECT * FROM ROWS FROM (
      json_to_recordset($1::json) AS (id uuid, "reservationId" uuid, "userId" uuid, "performanceId" int, amount bigint,
                                      currency char(3), "chargeId" varchar, status purchase_status,
                                      "createdAt" text, "canceledAt" timestamptz, "seatIds" int[], "seatPrices" int[],
                                      "compNote" text, "paymentMethod" text, "ticketIds" bigint[],
                                      "deliveryEmail" text, "deliveryName" text, "canceledAmount" bigint,
                                      "canceledById" uuid, "presaleId" bigint)
    ) WITH ORDINALITY AS r(id, "reservationId", "userId", "performanceId", amount, currency, "chargeId", status,
                           "createdAt", "canceledAt", "seatIds", "seatPrices", "compNote", "paymentMethod", "ticketIds",
                           "deliveryEmail", "deliveryName", "canceledAmount", "canceledById", "presaleId", position)
  ), inserted AS (
    INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at, canceled_at,
                           comp_note, sale_channel, payment_method, delivery_email, delivery_name, canceled_amount, canceled_by_id,
                           presale_id)
    SELECT id, "reservationId", "userId", "performanceId", amount, currency, NULLIF("chargeId", ''), status, "createdAt"::timestamptz,
           "canceledAt", "compNote", CASE WHEN "paymentMethod" IS NULL AND "deliveryEmail" IS NULL THEN 'ONLINE' ELSE 'BOX_OFFICE' END, "paymentMethod",
           "deliveryEmail", "deliveryName", "canceledAmount", "canceledById", "presaleId"
    FROM input ORDER BY position
    ON CONFLICT (id) DO NOTHING
    RETURNING id, performance_id, status, charge_id
  ), new_tickets AS (
    INSERT INTO tickets (purchase_id, performance_id, seat_id, status, price)
    SELECT i.id, i.performance_id, s.seat_id,
           CASE WHEN i.status = 'CANCELED' THEN 'CANCELED' ELSE 'ACTIVE' END::ticket_status, s.price
    -- Each seat with its price (in seatIds order); a purchase without prices gives null prices.
    FROM inserted i JOIN input p ON p.id = i.id CROSS JOIN unnest(p."seatIds", p."seatPrices") AS s(seat_id, price)
    WHERE p."ticketIds" IS NULL
  ), box_office_tickets AS (
    -- A box office sale's tickets keep the ids it took ahead (TicketsRepository.reserveIds): its
    -- answer signed their codes with them. Apart, so every other ticket is inserted as before.
    INSERT INTO tickets (id, purchase_id, performance_id, seat_id, status, price) OVERRIDING SYSTEM VALUE
    SELECT s.ticket_id, i.id, i.performance_id, s.seat_id,
           CASE WHEN i.status = 'CANCELED' THEN 'CANCELED' ELSE 'ACTIVE' END::ticket_status, s.price
    FROM inserted i JOIN input p ON p.id = i.id
    CROSS JOIN unnest(p."seatIds", p."seatPrices", p."ticketIds") AS s(seat_id, price, ticket_id)
    WHERE p."ticketIds" IS NOT NULL
  ), messages AS (
    INSERT INTO outbox (message_id, routing_key, payload)
    SELECT 'purchase-completed:' || p.id, 'purchase.completed',
           jsonb_build_object('purchaseId', p.id, 'userId', p."userId", 'performanceId', p."performanceId",
                              'seatIds', to_jsonb(p."seatIds"), 'amount', p.amount, 'currency', p.currency,
                              'createdAt', p."createdAt")
    FROM inserted i JOIN input p ON p.id = i.id ORDER BY p.position
  ), settled_attempts AS (
    -- A paid purchase's open attempt is COMPLETED. One written already CANCELED (canceled before
    -- its flush) owes its refund unless one was recorded (REFUNDED): REFUND_OWED, due at once (the
    -- api refunds only a cancellation PostgreSQL had, so none of these).
    UPDATE payment_attempts a
    SET status = CASE WHEN i.status = 'CANCELED' THEN 'REFUND_OWED' ELSE 'COMPLETED' END,
        resolved_at = CASE WHEN i.status = 'CANCELED' THEN NULL ELSE clock_timestamp() END,
        touched_at = CASE WHEN i.status = 'CANCELED' THEN '-infinity'::timestamptz ELSE a.touched_at END,
        charge_id = COALESCE(a.charge_id, NULLIF(i.charge_id, '')),
        -- Its purchase recorded: no charge of it is ever made again, so its token goes (P9's
        -- ledger keeps its SHA-256 for a same-key retry to be compared with).
        ${clearedPaymentToken('a')}
    FROM inserted i
    -- Written for the planner: each attempt found by its primary key (the ANY repeats the join),
    -- and the status test as a CASE, which does not match payment_attempts_open's predicate. With
    -- a plain status IN (…) the plan read every open attempt of that index for each batch (a
    -- backlog of 20,000: up to 20,000 index entries per 1,000 purchases, ~20–50 ms).
    WHERE a.purchase_id = ANY (ARRAY(SELECT id FROM inserted)) AND a.purchase_id = i.id
      AND CASE a.status WHEN 'PENDING' THEN true WHEN 'CHARGED' THEN true
                        WHEN 'COMPLETED' THEN i.status = 'CANCELED' ELSE false END
  )
  SELECT id FROM inserted`;

/**
 * Who refunds the cancellations written here right after: 'api' (PurchaseCancellation wrote it,
 * and refunds at once) or 'batch' (the flush wrote it; the api left the refund to the reconciler).
 */
type RefundBy = 'api' | 'batch';

/**
 * Records who canceled and what was given back (`canceled_by_id`, `canceled_amount`) on purchases
 * that are CANCELED without them: those inserted CANCELED (canceled in Redis before their flush) from
 * a cancel mark an older version wrote, which carries neither (cancel-purchase.lua now keeps both on
 * the hash, PurchaseRecord.canceledAmount/canceledById), whose cancel entry's UPDATE in `cancel` found
 * no PAID row to change, in this batch (it runs before the insert) or a later one. Without them the
 * cash-up missed a window sale's whole refund made before its flush (money2 trial 2026-12-07, T1). A
 * row that has either already keeps it: a replay changes nothing.
 */
async function recordCancelers(manager: EntityManager, cancellations: PurchaseCancellation[]): Promise<void> {
  const known = cancellations.filter((c) => c.amount !== undefined || c.canceledById);
  if (known.length === 0) return;
  await manager.query(
    `UPDATE purchases p SET canceled_by_id = c.canceled_by_id, canceled_amount = c.amount
       FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS c(id, canceled_by_id, amount)
      WHERE p.id = c.id AND p.status = 'CANCELED' AND p.canceled_by_id IS NULL AND p.canceled_amount IS NULL`,
    [known.map((c) => c.purchaseId), known.map((c) => c.canceledById ?? null), known.map((c) => c.amount ?? null)],
  );
}

async function cancel(
  manager: EntityManager,
  cancellations: PurchaseCancellation[],
  refundBy: RefundBy,
): Promise<void> {
  if (cancellations.length === 0) return;
  const ids = cancellations.map((c) => c.purchaseId);
  // A purchase that goes PAID → CANCELED here was written (and confirmed, or about to be): its
  // cancellation notice goes through the outbox in the same transaction (P5). Its payment attempt
  // owes the refund from then on, durably, unless one was recorded (REFUNDED); only then: a refund
  // must follow a cancellation PostgreSQL has, or a Redis that lost the cancel would bring back a
  // paid purchase whose charge was given back. The reconciler refunds REFUND_OWED attempts
  // untouched for PAYMENT_RECONCILE_AFTER_SECONDS: written by the api, touched now (its own refund
  // has that long to record itself); written by the flush, due at once (the api refunded nothing).
  // The notice's routing key (ROUTING of @app/messaging/contracts) picks its mail queue: the bulk
  // refund of a canceled performance ('performance') writes one per purchase of the show, which go
  // to the bulk mail queue (`purchase.canceled.performance`); a buyer's cancel or an operator's
  // refund of one purchase stays urgent (`purchase.canceled`). One body for both; `keptSeatIds` in
  // it only when the cancel kept checked-in seats sold, so other bodies stay as before.
  // A box office sale the bulk refund canceled ('performance') was paid at the window, never through
  // the gateway: its money is owed there (`window_refunds` OWED) until an operator gives it back and
  // marks it paid (WindowRefundsRepository.markPaid); an operator's refund of it is made at the window
  // as it happens, so owes nothing.
  await manager.query(
    `WITH canceled AS (
       UPDATE purchases p SET status = 'CANCELED', canceled_at = c.canceled_at, canceled_by_id = c.canceled_by_id,
                              canceled_amount = c.amount
       FROM unnest($1::uuid[], $2::timestamptz[], $7::uuid[], $6::bigint[]) AS c(id, canceled_at, canceled_by_id, amount)
       WHERE p.id = c.id AND p.status = 'PAID'
       RETURNING p.id, p.canceled_at
     ), cause AS (
       SELECT * FROM unnest($1::uuid[], $4::text[], $5::text[], $6::bigint[]) AS c(id, canceled_by, kept, amount)
     ), owed AS (
       UPDATE payment_attempts a
       SET status = 'REFUND_OWED', resolved_at = NULL,
           touched_at = CASE WHEN $3::text = 'api' THEN clock_timestamp() ELSE '-infinity'::timestamptz END,
           charge_id = COALESCE(a.charge_id, (SELECT NULLIF(charge_id, '') FROM purchases WHERE id = a.purchase_id)),
           ${clearedPaymentToken('a')}
       WHERE a.purchase_id IN (SELECT id FROM canceled) AND a.status IN ('PENDING', 'CHARGED', 'COMPLETED')
     ), window_owed AS (
       INSERT INTO window_refunds (purchase_id, performance_id, amount, currency, payment_method, status)
       SELECT p.id, p.performance_id, left_over.amount, p.currency, p.payment_method, 'OWED'
         FROM canceled JOIN cause ON cause.id = canceled.id JOIN purchases p ON p.id = canceled.id
         CROSS JOIN LATERAL (SELECT p.amount - coalesce((SELECT sum(r.amount) FROM purchase_refunds r
                                                           WHERE r.purchase_id = p.id), 0) AS amount) left_over
        WHERE cause.canceled_by = 'performance' AND p.payment_method IS NOT NULL AND left_over.amount > 0
       ON CONFLICT (purchase_id) DO NOTHING
     )
     INSERT INTO outbox (message_id, routing_key, payload)
     SELECT 'purchase-canceled:' || canceled.id,
            CASE WHEN cause.canceled_by = 'performance' THEN 'purchase.canceled.performance' ELSE 'purchase.canceled' END,
            jsonb_strip_nulls(jsonb_build_object('type', 'purchase.canceled', 'purchaseId', canceled.id,
                                                 'canceledAt', canceled.canceled_at, 'canceledBy', cause.canceled_by,
                                                 'keptSeatIds', to_jsonb(string_to_array(NULLIF(cause.kept, ''), ',')::int[]),
                                                 'amount', cause.amount))
     FROM canceled LEFT JOIN cause ON cause.id = canceled.id ORDER BY canceled.id
     ON CONFLICT (message_id) DO NOTHING`,
    [
      ids,
      cancellations.map((c) => c.canceledAt),
      refundBy,
      cancellations.map((c) => c.canceledBy),
      // One comma-separated list a cancellation ('' for none): unnest takes no ragged arrays.
      cancellations.map((c) => (c.keptSeatIds ?? []).join(',')),
      // Null (no `amount` in the notice: jsonb_strip_nulls; `canceled_amount` NULL) when the cancellation does not know it.
      cancellations.map((c) => c.amount ?? null),
      // The operator who canceled it (who gave a window sale's money back), written with the cancellation.
      cancellations.map((c) => c.canceledById ?? null),
    ],
  );
  // Tickets that went ACTIVE → CANCELED here and were transferred: their holder gets a notice of its
  // own, on the bulk queue for a canceled show's bulk refund (queueReceivedTicketCanceledNotices, a
  // statement of its own). A replayed cancellation cancels no ticket again, so queues no notice again.
  const [canceledTickets] = (await manager.query(
    `UPDATE tickets SET status = 'CANCELED'
      WHERE purchase_id = ANY($1::uuid[]) AND status = 'ACTIVE'
      RETURNING id::text AS id, purchase_id, holder_id`,
    [ids],
  )) as [{ id: string; purchase_id: string; holder_id: string | null }[], number];
  const bulk = new Set(cancellations.filter((c) => c.canceledBy === 'performance').map((c) => c.purchaseId));
  await queueReceivedTicketCanceledNotices(
    manager,
    canceledTickets.flatMap((ticket) =>
      ticket.holder_id === null
        ? []
        : [{ id: ticket.id, holderId: ticket.holder_id, bulk: bulk.has(ticket.purchase_id) }],
    ),
  );
  // A canceled ticket changes hands no more: its pending offers end with it (their recipients told).
  await cancelPendingTransfersOfPurchases(
    manager,
    ids,
    cancellations.map((c) => c.canceledBy),
  );
  // A canceled comp's house seats go back to their blocks, as the cancel made them BLOCKED in Redis.
  await returnHouseSeats(manager, ids);
}

function toRecord(row: PurchaseQueryRow): PurchaseRecord {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    userId: row.user_id,
    performanceId: row.performance_id,
    seatIds: row.seat_ids.map(Number),
    ...(row.seat_prices ? { seatPrices: row.seat_prices.map(Number) } : {}),
    amount: Number(row.amount),
    ...(row.refunded_seat_ids ? { refundedSeatIds: row.refunded_seat_ids.map(Number) } : {}),
    ...(row.refunded_amount !== null ? { refundedAmount: Number(row.refunded_amount) } : {}),
    currency: row.currency,
    chargeId: row.charge_id ?? '',
    status: row.status,
    createdAt: row.created_at,
    canceledAt: row.canceled_at,
    ...(row.comp_note !== null ? { compNote: row.comp_note } : {}),
    ...(row.payment_method !== null ? { paymentMethod: row.payment_method } : {}),
    ...(row.delivery_email !== null ? { deliveryEmail: row.delivery_email } : {}),
    ...(row.delivery_name !== null ? { deliveryName: row.delivery_name } : {}),
    ...(row.presale_id !== null ? { presaleId: row.presale_id } : {}),
    ...(row.house_seat_ids !== null ? { houseSeatIds: row.house_seat_ids.map(Number) } : {}),
  };
}
