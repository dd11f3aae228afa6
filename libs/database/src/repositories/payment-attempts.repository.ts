import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { PaymentAttemptStatus } from '../entities/payment-attempt.entity';

/** What the api knows before charging. */
export interface NewPaymentAttempt {
  purchaseId: string;
  reservationId: string;
  userId: string;
  performanceId: number;
  /** An integer in minor units of `currency`. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  idempotencyKey: string;
}

/** An attempt as the reconciliation needs it. */
export interface OpenPaymentAttempt extends NewPaymentAttempt {
  chargeId: string | null;
  status: PaymentAttemptStatus.Pending | PaymentAttemptStatus.Charged;
}

type FinalStatus = PaymentAttemptStatus.Completed | PaymentAttemptStatus.Refunded | PaymentAttemptStatus.Declined;

const OPEN = `status IN ('PENDING', 'CHARGED')`;

/** Payment attempts (P9): written before each charge, resolved by the api or by `batch`. */
@Injectable()
export class PaymentAttemptsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the attempt before its charge, or touches the open (or declined, so tried again)
   * attempt of a retry. Returns the attempt's status afterwards: PENDING or CHARGED when the
   * caller may charge; COMPLETED or REFUNDED when the attempt is over and must not be charged.
   * Waits while `batch` holds the row, so it never races a refund.
   */
  async begin(attempt: NewPaymentAttempt): Promise<PaymentAttemptStatus> {
    const rows: { status: PaymentAttemptStatus }[] = await this.dataSource.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING')
       ON CONFLICT (purchase_id) DO UPDATE SET touched_at = clock_timestamp(),
         status = CASE WHEN payment_attempts.status = 'DECLINED' THEN 'PENDING' ELSE payment_attempts.status END,
         resolved_at = CASE WHEN payment_attempts.status = 'DECLINED' THEN NULL ELSE payment_attempts.resolved_at END
         WHERE payment_attempts.status IN ('PENDING', 'CHARGED', 'DECLINED')
       RETURNING status`,
      [
        attempt.purchaseId,
        attempt.reservationId,
        attempt.userId,
        attempt.performanceId,
        attempt.amount,
        attempt.currency,
        attempt.idempotencyKey,
      ],
    );
    if (rows.length > 0) return rows[0].status;
    const existing: { status: PaymentAttemptStatus }[] = await this.dataSource.query(
      'SELECT status FROM payment_attempts WHERE purchase_id = $1',
      [attempt.purchaseId],
    );
    return existing[0].status;
  }

  /**
   * Notes the gateway's charge on an open (or completed, when retried) attempt; false when
   * `batch` refunded it meanwhile.
   */
  async markCharged(purchaseId: string, chargeId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `UPDATE payment_attempts SET charge_id = $2, touched_at = clock_timestamp(),
         status = CASE WHEN status = 'COMPLETED' THEN status ELSE 'CHARGED' END
       WHERE purchase_id = $1 AND status IN ('PENDING', 'CHARGED', 'COMPLETED') RETURNING purchase_id`,
      [purchaseId, chargeId],
    );
    return rows.length > 0;
  }

  /**
   * Ends an open attempt with its outcome (and the charge, when one was learnt); false when it
   * was no longer open. Inside `manager`'s transaction when given.
   */
  async resolve(
    purchaseId: string,
    status: FinalStatus,
    chargeId: string | null = null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `UPDATE payment_attempts SET status = $2, charge_id = COALESCE($3, charge_id), resolved_at = clock_timestamp()
       WHERE purchase_id = $1 AND ${OPEN} RETURNING purchase_id`,
      [purchaseId, status, chargeId],
    );
    return rows.length > 0;
  }

  /**
   * Locks up to `limit` open attempts untouched for `olderThanMs` milliseconds, oldest first, for
   * the rest of the transaction. Rows another process holds are skipped, so reconcilers running
   * at once never take the same attempt.
   */
  async lockStale(manager: EntityManager, olderThanMs: number, limit: number): Promise<OpenPaymentAttempt[]> {
    const rows: {
      purchase_id: string;
      reservation_id: string;
      user_id: string;
      performance_id: number;
      amount: string;
      currency: string;
      idempotency_key: string;
      charge_id: string | null;
      status: PaymentAttemptStatus.Pending | PaymentAttemptStatus.Charged;
    }[] = await manager.query(
      `SELECT purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, charge_id, status
       FROM payment_attempts
       WHERE ${OPEN} AND touched_at < clock_timestamp() - $1 * interval '1 millisecond'
       ORDER BY touched_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [olderThanMs, limit],
    );
    return rows.map((row) => ({
      purchaseId: row.purchase_id,
      reservationId: row.reservation_id,
      userId: row.user_id,
      performanceId: row.performance_id,
      amount: Number(row.amount),
      currency: row.currency,
      idempotencyKey: row.idempotency_key,
      chargeId: row.charge_id,
      status: row.status,
    }));
  }
}
