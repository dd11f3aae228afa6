import { PurchaseRecord, PurchaseStatus as PersistedStatus } from '@app/database';

export type PurchaseStatus = 'PAID' | 'CANCELED';

/** A hold turned into a sale. Lives in Redis until `batch` has written it to PostgreSQL. */
export interface Purchase {
  id: string;
  /** The hold that was bought. */
  reservationId: string;
  userId: string;
  performanceId: number;
  /** Ascending: the seats it holds (those of its partial refunds left out, see `refundedSeatIds`). */
  seatIds: number[];
  /**
   * Sum of the seat prices of `seatIds`, an integer in minor units of `currency`: what it is charged
   * now (the charge less its partial refunds, `refundedAmount`).
   */
  amount: number;
  /**
   * Seats an operator refunded from it while it stayed paid (partial refunds), in the order they
   * were refunded; empty when none. Not counted in `seatIds` or `amount`.
   */
  refundedSeatIds: number[];
  /** What its partial refunds gave back, summed: an integer in minor units of `currency` (0 when none). */
  refundedAmount: number;
  /**
   * What each seat cost (the prices its hold was made with), integers in minor units of
   * `currency`, in the order of `seatIds`; they sum to `amount`. Absent for a purchase of a hold
   * made before holds recorded their prices.
   */
  seatPrices?: number[];
  /** ISO 4217 code of the performance's event. */
  currency: string;
  status: PurchaseStatus;
  createdAt: Date;
  canceledAt: Date | null;
  /**
   * The gateway's charge, refunded on cancel. '' when none: a free purchase (`amount` 0), which
   * was never charged, or one written before purchases noted their charge.
   */
  chargeId: string;
  /**
   * Present for a comp (complimentary tickets an operator issued, CompService): the operator's
   * note, who and why. Operators see it; the buyer's view tells only that it is a comp.
   */
  compNote?: string;
}

/** Reads a purchase hash as `purchase.lua`, `cancel-purchase.lua` and `refund-seats.lua` write it. */
export function purchaseFromRecord(record: Record<string, string>): Purchase {
  return {
    id: record.id,
    reservationId: record.reservationId,
    userId: record.userId,
    performanceId: Number(record.performanceId),
    ...seatsFromLists(record.seats, record.prices),
    amount: Number(record.amount),
    refundedSeatIds: record.refundedSeats ? record.refundedSeats.split(',').map(Number) : [],
    refundedAmount: Number(record.refundedAmount ?? 0),
    currency: record.currency,
    status: record.status as PurchaseStatus,
    createdAt: new Date(Number(record.createdAt)),
    canceledAt: record.canceledAt ? new Date(Number(record.canceledAt)) : null,
    chargeId: record.chargeId ?? '',
    ...(record.comp ? { compNote: record.comp } : {}),
  };
}

/** The hash fields of a purchase, as the scripts write them. */
export function purchaseToRecord(purchase: Purchase): Record<string, string> {
  return {
    id: purchase.id,
    reservationId: purchase.reservationId,
    userId: purchase.userId,
    performanceId: String(purchase.performanceId),
    seats: purchase.seatIds.join(','),
    amount: String(purchase.amount),
    ...(purchase.seatPrices ? { prices: purchase.seatPrices.join(',') } : {}),
    ...(purchase.refundedSeatIds.length > 0
      ? { refundedSeats: purchase.refundedSeatIds.join(','), refundedAmount: String(purchase.refundedAmount) }
      : {}),
    currency: purchase.currency,
    chargeId: purchase.chargeId,
    status: purchase.status,
    createdAt: String(purchase.createdAt.getTime()),
    ...(purchase.canceledAt ? { canceledAt: String(purchase.canceledAt.getTime()) } : {}),
    ...(purchase.compNote ? { comp: purchase.compNote } : {}),
  };
}

/** A purchase as PostgreSQL holds it (written behind by `batch`). */
export function purchaseFromPersisted(row: PurchaseRecord): Purchase {
  return {
    id: row.id,
    reservationId: row.reservationId,
    userId: row.userId,
    performanceId: row.performanceId,
    seatIds: row.seatIds,
    ...(row.seatPrices ? { seatPrices: row.seatPrices } : {}),
    // PostgreSQL keeps the charge; the partial refunds are taken off it, as in Redis.
    amount: row.amount - (row.refundedAmount ?? 0),
    refundedSeatIds: row.refundedSeatIds ?? [],
    refundedAmount: row.refundedAmount ?? 0,
    currency: row.currency,
    status: row.status === PersistedStatus.Canceled ? 'CANCELED' : 'PAID',
    createdAt: row.createdAt,
    canceledAt: row.canceledAt,
    chargeId: row.chargeId,
    ...(row.compNote ? { compNote: row.compNote } : {}),
  };
}

/**
 * The seats of a record and their prices, ascending by seat id: `"12,3,7"` with `"900,500,700"`
 * → seatIds `[3, 7, 12]`, seatPrices `[500, 700, 900]`. Without prices (undefined or `''`: a hold
 * made before holds recorded them) only the seat ids.
 */
export function seatsFromLists(
  seats: string,
  prices: string | undefined,
): { seatIds: number[]; seatPrices?: number[] } {
  if (!prices) return { seatIds: seatIdsFromList(seats) };
  const priceList = prices.split(',').map(Number);
  const pairs = seats
    .split(',')
    .map((id, i) => [Number(id), priceList[i]])
    .sort((a, b) => a[0] - b[0]);
  return { seatIds: pairs.map(([id]) => id), seatPrices: pairs.map(([, price]) => price) };
}

/** `"12,3,7"` → `[3, 7, 12]`. */
export function seatIdsFromList(list: string): number[] {
  return list
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
}

/** Newest first: by creation time, then id, both descending (the order of `GET /purchases`). */
export function newestFirst(a: Pick<Purchase, 'createdAt' | 'id'>, b: Pick<Purchase, 'createdAt' | 'id'>): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
