import type { Arrangement } from './best-available-scripts';

/** How long a hold stays readable (GET /reservations/:id) after it has ended. */
export const HOLD_RETENTION_MS = 24 * 60 * 60 * 1000;

export type HoldStatus = 'HELD' | 'EXPIRED' | 'RELEASED' | 'PURCHASED';

/** Why a hold ended other than by its owner, its expiry or its purchase: its performance was canceled. */
export type HoldEndReason = 'PERFORMANCE_CANCELED';

/** Seats of one performance kept for one user until `expiresAt`, unless bought or released. */
export interface Hold {
  id: string;
  performanceId: number;
  userId: string;
  seatIds: number[];
  /** Sum of the seat prices, an integer in minor units of `currency`. */
  amount: number;
  /**
   * Each seat's price when the hold was made (what its purchase pays), integers in minor units of
   * `currency`, in the order of `seatIds`. Absent for a hold made before holds recorded them.
   */
  seatPrices?: number[];
  /** ISO 4217 code of the performance's event. */
  currency: string;
  /** EXPIRED as soon as `expiresAt` has passed, even before the sweeper has freed the seats. */
  status: HoldStatus;
  expiresAt: Date;
  /** RELEASED by the performance's cancellation (end-canceled-holds.lua); absent otherwise. */
  endReason?: HoldEndReason;
  /** The best-available rung that placed the seats; absent for a hold of chosen seat ids. */
  arrangement?: Arrangement;
}

/**
 * Whether a hold record is an operator's (hold-comp-seats.lua: a comp's, with its `comp` note, or a
 * box office sale's, with its `boxOffice` payment method): the operator path's alone, never shown,
 * bought or released through a buyer's route.
 */
export function isOperatorHold(record: Record<string, string>): boolean {
  return record.comp !== undefined || record.boxOffice !== undefined;
}

/** Reads a hold record as the scripts write it; `now` is Redis time in epoch ms. */
export function holdFromRecord(id: string, record: Record<string, string>, now: number): Hold {
  const expiresAt = Number(record.expiresAt);
  const stored = record.status as HoldStatus;
  return {
    id,
    performanceId: Number(record.performanceId),
    userId: record.userId,
    seatIds: record.seats.split(',').map(Number),
    amount: Number(record.amount),
    ...(record.prices ? { seatPrices: record.prices.split(',').map(Number) } : {}),
    currency: record.currency,
    status: stored === 'HELD' && expiresAt <= now ? 'EXPIRED' : stored,
    expiresAt: new Date(expiresAt),
    ...(record.endReason ? { endReason: record.endReason as HoldEndReason } : {}),
    ...(record.arrangement ? { arrangement: record.arrangement as Arrangement } : {}),
  };
}
