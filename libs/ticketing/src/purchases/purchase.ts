import {
  BoxOfficePaymentMethod,
  PurchaseRecord,
  PurchaseStatus as PersistedStatus,
  TicketIdentity,
} from '@app/database';

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
  /**
   * Present for a box office sale (sold at the window by the staff or admin account it is stored
   * under, `userId`, yet the venue's: in no buyer's view, isBuyersPurchase;
   * BoxOfficeService): how the money was taken there. Such a purchase was never charged through
   * the gateway (`chargeId` ''), and its refund is given back at the window.
   */
  paymentMethod?: BoxOfficePaymentMethod;
  /**
   * A box office sale's ticket ids, taken ahead of the flush (decimal strings, in the order of
   * `seatIds`): its answer carries the tickets' signed codes at once. Present only while the sale is
   * read from Redis (PostgreSQL has the tickets themselves).
   */
  ticketIds?: string[];
  /**
   * A box office sale's or a guest comp's delivery address for its e-mails (the walk-up's or the
   * guest's, no account needed) and the name to address them to; absent: its e-mails go to the
   * owning account, as any purchase's. Present only on a purchase that is the venue's
   * ({@link saleChannelOf} `BOX_OFFICE`).
   */
  deliveryEmail?: string;
  deliveryName?: string;
  /**
   * The presale whose access code let its hold in before the on-sale (decimal digits, the hash's
   * `presale`, `purchases.presale_id`): its cancel or refund gives the seats back to that presale's
   * allocation. Absent for a sale after the on-sale, a comp or a box office sale.
   */
  presaleId?: string;
  /**
   * A comp's house seats: those it took out of their block (CompService with includeBlocked),
   * which its cancel or refund gives back to the block, not to public sale. Absent when none.
   */
  houseSeatIds?: number[];
}

/**
 * Where a purchase was sold, as its views say it: online, or by the box office for someone without
 * an account of theirs (the venue's, stored under the operator's account): a window sale (its
 * `paymentMethod`) or a guest comp (a comp with a `deliveryEmail`, no payment method). Only those
 * two have a delivery address.
 */
export function saleChannelOf(purchase: Pick<Purchase, 'paymentMethod' | 'deliveryEmail'>): 'ONLINE' | 'BOX_OFFICE' {
  return purchase.paymentMethod === undefined && purchase.deliveryEmail === undefined ? 'ONLINE' : 'BOX_OFFICE';
}

/**
 * A box office sale's tickets before `batch` writes them: one a seat, in the order of `seatIds`, each
 * under the id the sale took ahead (`ticketIds`) and at code version 0 (its first code: with no row
 * yet, nothing transferred it). The flush writes the rows under these identities, so the codes
 * signed from them are the ones the sale answered and the door admits once it is written. Null
 * when the purchase carries none (not a window sale, or read from PostgreSQL, which has its rows).
 */
export function ticketsTakenAhead(
  purchase: Pick<Purchase, 'id' | 'performanceId' | 'seatIds' | 'ticketIds'>,
): TicketIdentity[] | null {
  const { ticketIds } = purchase;
  if (!ticketIds || ticketIds.length !== purchase.seatIds.length) return null;
  return purchase.seatIds.map((seatId, i) => ({
    ticketId: ticketIds[i],
    purchaseId: purchase.id,
    performanceId: purchase.performanceId,
    seatId,
    codeVersion: 0,
  }));
}

/** Reads a purchase hash as `purchase.lua`, `cancel-purchase.lua` and `refund-seats.lua` write it. */
export function purchaseFromRecord(record: Record<string, string>): Purchase {
  return {
    id: record.id,
    reservationId: record.reservationId,
    userId: record.userId,
    performanceId: Number(record.performanceId),
    ...seatsFromLists(record.seats, record.prices, record.ticketIds),
    amount: Number(record.amount),
    refundedSeatIds: record.refundedSeats ? record.refundedSeats.split(',').map(Number) : [],
    refundedAmount: Number(record.refundedAmount ?? 0),
    currency: record.currency,
    status: record.status as PurchaseStatus,
    createdAt: new Date(Number(record.createdAt)),
    canceledAt: record.canceledAt ? new Date(Number(record.canceledAt)) : null,
    chargeId: record.chargeId ?? '',
    ...(record.comp ? { compNote: record.comp } : {}),
    ...(record.boxOffice ? { paymentMethod: record.boxOffice as BoxOfficePaymentMethod } : {}),
    ...(record.deliveryEmail ? { deliveryEmail: record.deliveryEmail } : {}),
    ...(record.deliveryName ? { deliveryName: record.deliveryName } : {}),
    ...(record.fromBlock ? { houseSeatIds: record.fromBlock.split(',').map(Number) } : {}),
    ...(record.presale ? { presaleId: record.presale } : {}),
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
    ...(purchase.paymentMethod ? { boxOffice: purchase.paymentMethod } : {}),
    ...(purchase.ticketIds ? { ticketIds: purchase.ticketIds.join(',') } : {}),
    ...(purchase.deliveryEmail ? { deliveryEmail: purchase.deliveryEmail } : {}),
    ...(purchase.deliveryName ? { deliveryName: purchase.deliveryName } : {}),
    ...(purchase.houseSeatIds && purchase.houseSeatIds.length > 0
      ? { fromBlock: purchase.houseSeatIds.join(',') }
      : {}),
    ...(purchase.presaleId ? { presale: purchase.presaleId } : {}),
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
    ...(row.paymentMethod ? { paymentMethod: row.paymentMethod } : {}),
    ...(row.deliveryEmail ? { deliveryEmail: row.deliveryEmail } : {}),
    ...(row.deliveryName ? { deliveryName: row.deliveryName } : {}),
    ...(row.houseSeatIds ? { houseSeatIds: row.houseSeatIds } : {}),
    ...(row.presaleId ? { presaleId: row.presaleId } : {}),
  };
}

/**
 * The seats of a record and their prices, ascending by seat id: `"12,3,7"` with `"900,500,700"`
 * → seatIds `[3, 7, 12]`, seatPrices `[500, 700, 900]`. Without prices (undefined or `''`: a hold
 * made before holds recorded them) only the seat ids. A box office sale's `ticketIds` (in the order
 * of `seats`) come back in the same order as the seat ids.
 */
export function seatsFromLists(
  seats: string,
  prices: string | undefined,
  ticketIds?: string,
): { seatIds: number[]; seatPrices?: number[]; ticketIds?: string[] } {
  const tickets = ticketIds ? ticketIds.split(',') : undefined;
  if (!prices && !tickets) return { seatIds: seatIdsFromList(seats) };
  const priceList = prices ? prices.split(',').map(Number) : undefined;
  const order = seats
    .split(',')
    .map((id, i) => ({ id: Number(id), i }))
    .sort((a, b) => a.id - b.id);
  return {
    seatIds: order.map(({ id }) => id),
    ...(priceList ? { seatPrices: order.map(({ i }) => priceList[i]) } : {}),
    ...(tickets ? { ticketIds: order.map(({ i }) => tickets[i]) } : {}),
  };
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
