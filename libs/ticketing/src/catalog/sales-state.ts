import type { SalesClosedReason } from '../errors';
import type { Performance } from './catalog.types';

/**
 * Whether a performance sells now, as a buyer sees it: `ON_SALE`, `NOT_OPEN` (before
 * `salesOpenAt`, a hold gets 403 SalesNotOpen), or the reason a hold gets 409 SalesClosed
 * (`PAUSED`, `CLOSED` by the operator, `ENDED` at the close time). Derived, never stored.
 */
export type SalesState = 'NOT_OPEN' | 'ON_SALE' | SalesClosedReason;

/** Every SalesState, in the order salesStateAt decides them (the first that applies wins). */
export const SALES_STATES = [
  'CANCELED',
  'CLOSED',
  'PAUSED',
  'ENDED',
  'NOT_OPEN',
  'ON_SALE',
] as const satisfies readonly SalesState[];

/**
 * The sales state of a performance at `nowMs` (epoch ms): the refusal a hold asked for now would
 * get, or `ON_SALE`. It reads the fields `hold-seats.lua` (and `hold-best-available.lua`,
 * `claim-hold.lua`, `purchase.lua`) read from `{perf:<id>}:meta`, and decides in their order:
 *
 * 1. `CANCELED` / `CLOSED` / `PAUSED` — the operator's `status`, whatever the times (a paused performance
 *    whose close time passed is refused "sales are paused", so it answers `PAUSED`);
 * 2. `ENDED` — `nowMs >= ` the close time, which is `salesCloseAt`, or `startsAt` when it is null
 *    (what SeatStateRebuilder's lifecycleOf writes to Redis); exactly at the close time it has
 *    ended, as the scripts' `now >= salesCloseAt`;
 * 3. `NOT_OPEN` — `nowMs < salesOpenAt`; exactly at `salesOpenAt` sales are open, as the
 *    scripts' `now < salesOpenAt`;
 * 4. `ON_SALE` otherwise.
 *
 * The scripts compare with Redis TIME; callers pass the api process's Clock (`nowMs()`), so
 * within the few milliseconds the two clocks differ around a boundary the answer may name the
 * state just before or after the one a hold would meet. The performance is the one the answer
 * shows (from PostgreSQL or the catalog copies), which a PATCH writes to Redis just before it
 * commits: for that moment, and while a DELETE runs (which closes sales in Redis first), a hold
 * may be refused while this still says `ON_SALE`. Pure: no I/O, so it is computed per answer,
 * never cached.
 */
export function salesStateAt(
  performance: Pick<Performance, 'status' | 'salesOpenAt' | 'salesCloseAt' | 'startsAt'>,
  nowMs: number,
): SalesState {
  if (performance.status !== 'ON_SALE') return performance.status;
  if (nowMs >= (performance.salesCloseAt ?? performance.startsAt).getTime()) return 'ENDED';
  if (nowMs < performance.salesOpenAt.getTime()) return 'NOT_OPEN';
  return 'ON_SALE';
}
