import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PurchaseStatus } from '../entities/purchase.entity';

/** A purchase with its seats, as written behind from Redis and read back for its buyer. */
export interface PurchaseRecord {
  id: string;
  reservationId: string;
  userId: string;
  performanceId: number;
  seatIds: number[];
  /** Sum of the seat prices, an integer in minor units of `currency`. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  chargeId: string;
  status: PurchaseStatus;
  createdAt: Date;
  canceledAt: Date | null;
}

export interface PurchaseCancellation {
  purchaseId: string;
  canceledAt: Date;
}

/** What one flush writes, in one transaction. */
export interface PurchaseFlushBatch {
  purchases: PurchaseRecord[];
  cancellations: PurchaseCancellation[];
}

const SELECT_PURCHASE = `
  SELECT p.id, p.reservation_id, p.user_id, p.performance_id, p.amount, p.currency, p.charge_id, p.status,
         p.created_at, p.canceled_at,
         COALESCE((SELECT array_agg(t.seat_id ORDER BY t.seat_id) FROM tickets t WHERE t.purchase_id = p.id), '{}') AS seat_ids
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
  seat_ids: number[];
}

/** Purchases, their tickets and their purchase-completed outbox messages. */
@Injectable()
export class PurchaseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findById(id: string): Promise<PurchaseRecord | null> {
    const rows: PurchaseQueryRow[] = await this.dataSource.query(`${SELECT_PURCHASE} WHERE p.id = $1`, [id]);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /** A user's purchases, newest first, after the keyset `before` (exclusive). */
  async pageOfUser(
    userId: string,
    before: { createdAt: Date; id: string } | null,
    limit: number,
  ): Promise<PurchaseRecord[]> {
    const rows: PurchaseQueryRow[] = before
      ? await this.dataSource.query(
          `${SELECT_PURCHASE} WHERE p.user_id = $1 AND (p.created_at, p.id) < ($2, $3)
           ORDER BY p.created_at DESC, p.id DESC LIMIT $4`,
          [userId, before.createdAt, before.id, limit],
        )
      : await this.dataSource.query(
          `${SELECT_PURCHASE} WHERE p.user_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2`,
          [userId, limit],
        );
    return rows.map(toRecord);
  }

  /** Seats of a performance that an active ticket holds: sold for good. */
  async activeSeatIds(performanceId: number): Promise<number[]> {
    const rows: { seat_id: number }[] = await this.dataSource.query(
      `SELECT seat_id FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE'`,
      [performanceId],
    );
    return rows.map((row) => row.seat_id);
  }

  /**
   * Writes a flush in one transaction; every statement is a no-op when replayed. Cancellations
   * go first, so a seat canceled and sold again in the same batch gets its new active ticket.
   * A purchase new to the database gets its tickets and one purchase-completed outbox message.
   * Returns the ids of the purchases that were new.
   */
  writeBatch(batch: PurchaseFlushBatch): Promise<string[]> {
    return this.dataSource.transaction(async (manager) => {
      await cancel(manager, batch.cancellations);
      if (batch.purchases.length === 0) return [];
      const purchases = batch.purchases;
      const inserted: { id: string }[] = await manager.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at, canceled_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::bigint[], $6::char(3)[], $7::varchar[],
                              $8::purchase_status[], $9::timestamptz[], $10::timestamptz[])
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [
          purchases.map((p) => p.id),
          purchases.map((p) => p.reservationId),
          purchases.map((p) => p.userId),
          purchases.map((p) => p.performanceId),
          purchases.map((p) => p.amount),
          purchases.map((p) => p.currency),
          purchases.map((p) => p.chargeId),
          purchases.map((p) => p.status),
          purchases.map((p) => p.createdAt),
          purchases.map((p) => p.canceledAt),
        ],
      );
      const newIds = new Set(inserted.map((row) => row.id));
      const fresh = purchases.filter((p) => newIds.has(p.id));
      if (fresh.length === 0) return [];

      const tickets = fresh.flatMap((p) =>
        p.seatIds.map((seatId) => ({ purchaseId: p.id, performanceId: p.performanceId, seatId, status: p.status })),
      );
      await manager.query(
        `INSERT INTO tickets (purchase_id, performance_id, seat_id, status)
         SELECT purchase_id, performance_id, seat_id,
                CASE WHEN status = 'CANCELED' THEN 'CANCELED' ELSE 'ACTIVE' END::ticket_status
         FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[]) AS t(purchase_id, performance_id, seat_id, status)
         ON CONFLICT DO NOTHING`,
        [
          tickets.map((t) => t.purchaseId),
          tickets.map((t) => t.performanceId),
          tickets.map((t) => t.seatId),
          tickets.map((t) => t.status),
        ],
      );
      await manager.query(
        `INSERT INTO outbox (message_id, routing_key, payload)
         SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::jsonb[])
         ON CONFLICT (message_id) DO NOTHING`,
        [
          fresh.map((p) => `purchase-completed:${p.id}`),
          fresh.map(() => 'purchase.completed'),
          fresh.map((p) =>
            JSON.stringify({
              purchaseId: p.id,
              userId: p.userId,
              performanceId: p.performanceId,
              seatIds: p.seatIds,
              amount: p.amount,
              currency: p.currency,
              createdAt: p.createdAt.toISOString(),
            }),
          ),
        ],
      );
      return fresh.map((p) => p.id);
    });
  }
}

async function cancel(manager: EntityManager, cancellations: PurchaseCancellation[]): Promise<void> {
  if (cancellations.length === 0) return;
  const ids = cancellations.map((c) => c.purchaseId);
  await manager.query(
    `UPDATE purchases p SET status = 'CANCELED', canceled_at = c.canceled_at
     FROM unnest($1::uuid[], $2::timestamptz[]) AS c(id, canceled_at)
     WHERE p.id = c.id AND p.status = 'PAID'`,
    [ids, cancellations.map((c) => c.canceledAt)],
  );
  await manager.query(
    `UPDATE tickets SET status = 'CANCELED' WHERE purchase_id = ANY($1::uuid[]) AND status = 'ACTIVE'`,
    [ids],
  );
}

function toRecord(row: PurchaseQueryRow): PurchaseRecord {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    userId: row.user_id,
    performanceId: row.performance_id,
    seatIds: row.seat_ids.map(Number),
    amount: Number(row.amount),
    currency: row.currency,
    chargeId: row.charge_id ?? '',
    status: row.status,
    createdAt: row.created_at,
    canceledAt: row.canceled_at,
  };
}
