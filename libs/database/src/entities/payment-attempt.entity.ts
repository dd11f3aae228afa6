import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Where a payment attempt stands (P9). PENDING: recorded, the charge may or may not have been
 * made; CHARGED: the gateway took the money; COMPLETED: the purchase happened; REFUND_OWED: it
 * happened and was canceled since (the cancellation in PostgreSQL), so the charge is to be given
 * back (by the api at once when it wrote the cancellation; else, or if that refund was not
 * recorded, by `batch`); REFUNDED: the charge was given back (the purchase
 * did not happen, or was canceled); DECLINED: the gateway refused, nothing was taken.
 */
export enum PaymentAttemptStatus {
  Pending = 'PENDING',
  Charged = 'CHARGED',
  Completed = 'COMPLETED',
  RefundOwed = 'REFUND_OWED',
  Refunded = 'REFUNDED',
  Declined = 'DECLINED',
}

/** bigint arrives from pg as a string; amounts stay far below 2^53, so a number holds them exactly. */
const minorUnits = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * One row per purchase the api charges for, written before the charge: `batch` refunds the
 * charges whose purchase never happened. The rows are also the ledger of charges and refunds.
 */
@Entity('payment_attempts')
@Index('payment_attempts_open', ['touchedAt'], { where: `"status" IN ('PENDING', 'CHARGED', 'REFUND_OWED')` })
@Index('payment_attempts_recheck', ['recheckAt'], { where: `"recheck_at" IS NOT NULL` })
export class PaymentAttemptEntity {
  @PrimaryColumn({ name: 'purchase_id', type: 'uuid' })
  purchaseId: string;

  /** The hold being bought. */
  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'performance_id', type: 'integer' })
  performanceId: number;

  /** An integer in minor units of `currency`. */
  @Column({ type: 'bigint', transformer: minorUnits })
  amount: number;

  /** ISO 4217 code. */
  @Column({ type: 'char', length: 3 })
  currency: string;

  /** Sent with every charge of this attempt: the gateway charges a key once. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 200 })
  idempotencyKey: string;

  /**
   * The buyer's payment token (what the processor's client SDK returned), sent with every charge of
   * this attempt, so a retried charge under `idempotencyKey` carries the same parameters; null when
   * the buyer sent none, and once the attempt is settled (COMPLETED, REFUND_OWED, REFUNDED, DECLINED:
   * cleared in the statement that settles it, as it is needed only while a charge may still be
   * made). Never logged, never in an answer.
   */
  @Column({ name: 'payment_token', type: 'varchar', length: 500, nullable: true })
  paymentToken: string | null;

  /**
   * SHA-256 of the payment token's bytes (null when the buyer sent none), kept after the token is
   * cleared: a same-key retry's token is compared with it.
   */
  @Column({ name: 'payment_token_sha256', type: 'bytea', nullable: true })
  paymentTokenSha256: Buffer | null;

  @Column({ name: 'charge_id', type: 'varchar', length: 200, nullable: true })
  chargeId: string | null;

  @Column({ type: 'varchar', length: 16 })
  status: PaymentAttemptStatus;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;

  /** Last time a request worked on the attempt; `batch` leaves it alone for a bound after that. */
  @Column({ name: 'touched_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  touchedAt: Date;

  /** When the attempt became COMPLETED, REFUNDED or DECLINED. */
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;

  /**
   * When `batch` looks once more for a charge under the key of this attempt, settled DECLINED because
   * the gateway had none (PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS after that lookup): a charge in
   * flight then, landed since, is refunded. Null otherwise, and once that look is done.
   */
  @Column({ name: 'recheck_at', type: 'timestamptz', nullable: true })
  recheckAt: Date | null;
}
