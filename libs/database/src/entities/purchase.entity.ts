import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum PurchaseStatus {
  Paid = 'PAID',
  Canceled = 'CANCELED',
}

/** bigint arrives from pg as a string; amounts stay far below 2^53, so a number holds them exactly. */
const minorUnits = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * A purchase written behind from the Redis purchase stream by `batch`. The id is made when the
 * purchase is answered `201`, so a replayed stream entry finds its row and changes nothing.
 */
/** Where a purchase was sold: online (`POST /purchases`, comps) or at the box office window. */
export type SaleChannel = 'ONLINE' | 'BOX_OFFICE';

/** How the money of a box office sale was taken at the window: no payment gateway is involved. */
export type BoxOfficePaymentMethod = 'CASH' | 'CARD_TERMINAL';

/** The payment methods of the box office window, in the order reports list them. */
export const BOX_OFFICE_PAYMENT_METHODS: readonly BoxOfficePaymentMethod[] = ['CASH', 'CARD_TERMINAL'];

@Entity('purchases')
@Index('purchases_user_created', ['userId', 'createdAt', 'id'])
// The admin search by a box office sale's delivery address (partial: migration PurchasesDeliveryEmailIndex1799690000000).
@Index('purchases_delivery_email', { synchronize: false })
// The cash-up's box office sales of a time range (partial: migration CashUpIndexes1799760000000).
@Index('purchases_box_office_created', { synchronize: false })
export class PurchaseEntity {
  @PrimaryColumn('uuid')
  id: string;

  /** One purchase per reservation (hold). */
  @Index('purchases_reservation_key', { unique: true })
  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** Indexed: performance deletes, the sales report and the admin search filter on it. */
  @Index('purchases_performance')
  @Column({ name: 'performance_id', type: 'int' })
  performanceId: number;

  /** Sum of the seat prices, an integer in minor units of `currency`. */
  @Column({ type: 'bigint', transformer: minorUnits })
  amount: number;

  /** ISO 4217 code the purchase was charged in (its event's currency). */
  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'enum', enum: PurchaseStatus, enumName: 'purchase_status', default: PurchaseStatus.Paid })
  status: PurchaseStatus;

  /** When the buyer bought (the Redis time of the purchase step), not when it was written here. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** The payment gateway's charge, refunded when the purchase is canceled. */
  @Column({ name: 'charge_id', type: 'varchar', length: 200, nullable: true })
  chargeId: string | null;

  @Column({ name: 'canceled_at', type: 'timestamptz', nullable: true })
  canceledAt: Date | null;

  /**
   * A comp's note: the purchase is complimentary tickets an operator issued (POST
   * /admin/performances/:id/comps), amount 0, and this says who and why ("press: Daily Planet").
   * NULL for a sale (migration 1799610000000-PurchaseCompNote).
   */
  @Column({ name: 'comp_note', type: 'text', nullable: true })
  compNote: string | null;

  /**
   * Where it was sold: `ONLINE` (a buyer's purchase, or a comp) or `BOX_OFFICE` (sold at the
   * window by the staff or admin account `user_id` names, yet the venue's, not that account's;
   * migration 1799650000000-PurchaseSaleChannel).
   */
  @Column({ name: 'sale_channel', type: 'text', default: 'ONLINE' })
  saleChannel: SaleChannel;

  /** How a box office sale was paid at the window (`CASH`, `CARD_TERMINAL`); NULL for an online one. */
  @Column({ name: 'payment_method', type: 'text', nullable: true })
  paymentMethod: BoxOfficePaymentMethod | null;

  /**
   * Where a box office sale's e-mails go (the walk-up's address, no account needed) and to whom;
   * NULL: to the owning account's address and name, as for every other purchase. Normalized as the
   * window took it (trimmed, NFKC, lower case); the admin search by e-mail matches it.
   */
  @Column({ name: 'delivery_email', type: 'text', nullable: true })
  deliveryEmail: string | null;

  @Column({ name: 'delivery_name', type: 'text', nullable: true })
  deliveryName: string | null;

  @Column({ name: 'persisted_at', type: 'timestamptz', default: () => 'now()' })
  persistedAt: Date;
}
