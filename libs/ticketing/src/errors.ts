import { DependencyUnavailableError, DomainError } from '@app/core';
import type { SeatScope } from './holds/best-available-scripts';
import type { TicketEndReason } from './waiting-room/waiting-room.types';
import { formatLocalDateTime, formatWallClock } from './date-time';

// The base and the generic errors live in @app/core, shared with libs/auth; this path keeps
// serving every import of them inside the rules.
export { DomainError, InvalidInputError, NotFoundError } from '@app/core';
export type { DomainErrorKind } from '@app/core';

/** Errors of the sale, with stable codes. */

export class SalesNotOpenError extends DomainError {
  /**
   * `presales`: the presales open now (id, name) when a hold came without an access code during
   * them; the message then names them and says to send the code (`accessCode`).
   */
  constructor(salesOpenAt: Date, presales: readonly { id: string; name: string }[] = []) {
    super(
      'forbidden',
      'SalesNotOpen',
      presales.length === 0
        ? `sales open at ${salesOpenAt.toISOString()}`
        : `a presale is on (${presales.map((presale) => presale.name).join(', ')}): send its access code (accessCode); general sales open at ${salesOpenAt.toISOString()}`,
      presales.length === 0
        ? { salesOpenAt: salesOpenAt.toISOString() }
        : { salesOpenAt: salesOpenAt.toISOString(), presales: presales.map(({ id, name }) => ({ id, name })) },
    );
  }
}

/**
 * A hold's access code during a presale is not the code of any presale open now; nothing was held.
 * `details.code` tells it apart from the other 403s of a hold (SalesNotOpen, admission).
 */
export class AccessCodeInvalidError extends DomainError {
  constructor() {
    super('forbidden', 'AccessCodeInvalid', 'the access code is not that of a presale open now', {
      code: 'AccessCodeInvalid',
    });
  }
}

/**
 * A hold's access code during a presale is that of another presale of the performance, one not open
 * now (`upcoming`: not yet, else no longer); nothing was held and no miss was counted (a right
 * code tried early is no guess). `details.presale`: that presale's id, name and window (RFC 3339),
 * so the buyer is told when to come back.
 */
export class PresaleNotOpenError extends DomainError {
  constructor(presale: { id: string; name: string; opensAt: Date; closesAt: Date; upcoming: boolean }) {
    super(
      'forbidden',
      'PresaleNotOpen',
      presale.upcoming
        ? `the access code is that of the presale ${presale.name}, which opens at ${presale.opensAt.toISOString()}`
        : `the access code is that of the presale ${presale.name}, which closed at ${presale.closesAt.toISOString()}`,
      {
        code: 'PresaleNotOpen',
        presale: {
          id: presale.id,
          name: presale.name,
          opensAt: presale.opensAt.toISOString(),
          closesAt: presale.closesAt.toISOString(),
        },
      },
    );
  }
}

/**
 * The user sent `limit` wrong access codes for this performance within `windowMinutes`: every hold
 * of theirs with an access code for it is refused, the code unchecked, for `retryAfterSeconds`
 * more (the rest of the window); nothing was held. A hold without a code is not concerned.
 */
export class TooManyAccessCodeAttemptsError extends DomainError {
  constructor(retryAfterSeconds: number, limit: { perWindow: number; windowMs: number }) {
    super(
      'too_many',
      'TooManyAccessCodeAttempts',
      `${limit.perWindow} wrong access codes within ${limit.windowMs / 60_000} minutes: try a code again in ${retryAfterSeconds} seconds`,
      { code: 'TooManyAccessCodeAttempts', perWindow: limit.perWindow, windowMinutes: limit.windowMs / 60_000 },
      retryAfterSeconds,
    );
  }
}

/**
 * Why a performance refuses holds and purchases: its status (CANCELED for good, the performance
 * called off), or its sales window ended (salesCloseAt).
 */
export type SalesClosedReason = 'CANCELED' | 'PAUSED' | 'CLOSED' | 'ENDED';

const SALES_CLOSED_MESSAGES: Record<SalesClosedReason, string> = {
  CANCELED: 'the performance has been canceled; its purchases are refunded',
  PAUSED: 'sales are paused for this performance',
  CLOSED: 'sales are closed for this performance',
  ENDED: 'sales have ended for this performance (salesCloseAt passed)',
};

export class SalesClosedError extends DomainError {
  constructor(reason: SalesClosedReason = 'CLOSED') {
    super('conflict', 'SalesClosed', SALES_CLOSED_MESSAGES[reason] ?? SALES_CLOSED_MESSAGES.CLOSED, { reason });
  }
}

/**
 * The performance was canceled (POST /admin/performances/:id/cancel): terminal, so a change of
 * its status, times or prices is refused. `details.performanceId`.
 */
export class PerformanceCanceledError extends DomainError {
  constructor(performanceId: number, what = 'it can no longer change') {
    super('conflict', 'PerformanceCanceled', `performance ${performanceId} has been canceled: ${what}`, {
      performanceId,
    });
  }
}

/**
 * A buyer's cancel past the performance's `cancelUntil` (or of a performance that allows none:
 * `cancelUntil` null). The deadline is told on the venue's wall clock (`timeZone`, its event's IANA
 * zone), as the door's refusals tell times: `details.cancelUntil` RFC 3339 with the venue's offset
 * then, `details.timeZone`.
 */
export class CancellationClosedError extends DomainError {
  constructor(cancelUntil: Date | null, timeZone: string) {
    super(
      'conflict',
      'CancellationClosed',
      cancelUntil
        ? `purchases of this performance could be canceled until ${formatWallClock(cancelUntil, timeZone)}`
        : 'purchases of this performance cannot be canceled by the buyer',
      { cancelUntil: cancelUntil ? formatLocalDateTime(cancelUntil, timeZone) : null, timeZone },
    );
  }
}

/**
 * Seats of a hold request that are not available (held, sold or blocked): nothing was held.
 * `heldByYou`: the caller's own live holds (of the same performance) that have some of them, each
 * with those seats; the message then says so (`seats not available: 4005 (already in your hold
 * <id>)`) and `details.heldByYou` lists them (absent when there are none).
 */
export class SeatsUnavailableError extends DomainError {
  constructor(seatIds: number[], heldByYou: readonly { reservationId: string; seatIds: number[] }[] = []) {
    const yours =
      heldByYou.length === 0
        ? ''
        : heldByYou.length === 1 && heldByYou[0].seatIds.length === seatIds.length
          ? ` (already in your hold ${heldByYou[0].reservationId})`
          : ` (already yours: ${heldByYou.map((hold) => `${hold.seatIds.join(', ')} in your hold ${hold.reservationId}`).join('; ')})`;
    super(
      'conflict',
      'SeatsUnavailable',
      `seats not available: ${seatIds.join(', ')}${yours}`,
      heldByYou.length === 0 ? { seatIds } : { seatIds, heldByYou: heldByYou.map((hold) => ({ ...hold })) },
    );
  }
}

/**
 * The seats a user may hold at once per performance (`limit`, MAX_SEATS_PER_RESERVATION) refused a
 * hold: `alreadyHeld` seats in live holds and `requested` more would pass it. `alreadyHeld` null: the
 * request alone asks for more than a hold may have (refused before Redis is asked, so what the user
 * holds is not known and not told). Nothing was held.
 */
export class HoldLimitExceededError extends DomainError {
  constructor(limit: number, alreadyHeld: number | null, requested: number) {
    super(
      'conflict',
      'HoldLimitExceeded',
      alreadyHeld === null
        ? `a user may hold at most ${limit} seats of a performance, and one hold has at most ${limit}; asked for ${requested}`
        : `a user may hold at most ${limit} seats of a performance; you hold ${alreadyHeld} and asked for ${requested} more`,
      alreadyHeld === null ? { limit, requested } : { limit, alreadyHeld, requested },
    );
  }
}

/**
 * The performance's ticket limit per buyer (maxTicketsPerBuyer, seats) refused a hold: the seats
 * the buyer bought (paid purchases not canceled), the seats they hold and those asked for would
 * exceed it. Nothing was held.
 */
export class TicketLimitExceededError extends DomainError {
  constructor(limit: number, bought: number, held: number, requested: number) {
    super(
      'conflict',
      'TicketLimitExceeded',
      `a buyer may have at most ${limit} ${limit === 1 ? 'ticket' : 'tickets'} for this performance, bought and held together; ` +
        `you bought ${bought}, hold ${held} and asked for ${requested} more`,
      { limit, bought, held, requested },
    );
  }
}

/**
 * A hold made with a presale's access code asks for more seats than are left of the presale's
 * allocation (`maxSeats`: its code's seats in all, held and sold together); nothing was held (a
 * best-available hold is never made smaller). `details.code` names it; `details.presale` (id,
 * name), `maxSeats`, `seatsTaken`, `seatsLeft` and `requested` say by how much.
 */
export class PresaleAllocationExhaustedError extends DomainError {
  constructor(presale: { id: string; name: string }, maxSeats: number, seatsTaken: number, requested: number) {
    const seatsLeft = Math.max(0, maxSeats - seatsTaken);
    super(
      'conflict',
      'PresaleAllocationExhausted',
      seatsLeft === 0
        ? `the presale ${presale.name} has no seats left of its ${maxSeats}`
        : `the presale ${presale.name} has ${seatsLeft} of its ${maxSeats} seats left; you asked for ${requested}`,
      {
        code: 'PresaleAllocationExhausted',
        presale: { id: presale.id, name: presale.name },
        maxSeats,
        seatsTaken,
        seatsLeft,
        requested,
      },
    );
  }
}

export class HoldExpiredError extends DomainError {
  constructor() {
    super('conflict', 'HoldExpired', 'reservation has expired');
  }
}

export class HoldPurchasedError extends DomainError {
  constructor() {
    super('conflict', 'HoldPurchased', 'reservation has already been purchased');
  }
}

export class HoldReleasedError extends DomainError {
  constructor() {
    super('conflict', 'HoldReleased', 'reservation has been released');
  }
}

/**
 * Another purchase attempt of the hold (a double click, a retry with another or no
 * Idempotency-Key) is at the payment gateway or about to be: this one is refused before anything
 * is charged. It ends within moments (sold, or declined and the hold kept); a crashed attempt's
 * claim lapses (see PurchaseService). Also a same-key retry whose payment attempt `batch`'s
 * reconciler is settling at that instant (its row held across a gateway call). Retry-After: 1 (seconds).
 */
export class PurchaseInProgressError extends DomainError {
  constructor(message = 'a purchase of this reservation is in progress') {
    super('conflict', 'PurchaseInProgress', message, undefined, 1);
  }
}

export class PaymentDeclinedError extends DomainError {
  constructor(reason = 'payment was declined') {
    super('payment_required', 'PaymentDeclined', reason);
  }
}

/**
 * The payment gateway failed to answer a charge (a timeout, a dropped connection, an error of its
 * own): whether the buyer was charged is not known yet. 503 with `Retry-After` (1 s): a retry with
 * the same Idempotency-Key (and paymentToken) asks the gateway again under the same charge key and
 * sells on that one charge, or the payment reconciler looks the charge up and refunds it, if one was
 * made (P9). `cause`: the gateway's error,
 * for the logs only.
 */
export class ChargeOutcomeUnknownError extends DependencyUnavailableError {
  constructor(cause: unknown) {
    super(cause, "the payment's outcome is not known yet; retry with the same Idempotency-Key");
  }
}

/**
 * The performance's best-available seating data is of a newer format (`format`) than this
 * version's SEATING_FORMAT, built or being built by a newer version's replica during a rolling
 * deploy: this replica must not build it back in its own. 503 with `Retry-After` (1 s): the
 * retry reaches a newer replica, or this one once it is replaced.
 */
export class SeatingUpgradingError extends DependencyUnavailableError {
  constructor(format: number) {
    super(
      new Error(`seating data of format ${format}, newer than this version's`),
      'a newer version is upgrading the seat data; retry shortly',
    );
  }
}

export class PurchaseCanceledError extends DomainError {
  constructor() {
    super('conflict', 'PurchaseCanceled', 'purchase has already been canceled');
  }
}

/**
 * A ticket of the purchase was checked in at the door: someone came in on it, so neither a buyer
 * nor (unless told the seats are not to be resold) an operator cancels it. `seatIds`: the seats.
 */
export class PurchaseCheckedInError extends DomainError {
  constructor(seatIds: readonly number[], hint: string) {
    super(
      'conflict',
      'PurchaseCheckedIn',
      `purchase cannot be canceled: ${seatIds.length === 1 ? 'a ticket' : `${seatIds.length} tickets`} of it ${
        seatIds.length === 1 ? 'was' : 'were'
      } checked in at the door${hint}`,
      { seatIds: [...seatIds] },
    );
  }
}

/**
 * A ticket of the purchase was given to someone else by an accepted transfer (or an accept of one is
 * under way): the buyer can no longer cancel it (the recipient holds a ticket of it). An operator's
 * refund and a canceled performance's bulk refund still cancel it. `seatIds`: the seats, when known.
 */
export class PurchaseTransferredError extends DomainError {
  constructor(seatIds: readonly number[] = []) {
    super(
      'conflict',
      'PurchaseTransferred',
      'purchase cannot be canceled: a ticket of it was transferred to someone else; ask the box office',
      seatIds.length > 0 ? { seatIds: [...seatIds] } : undefined,
    );
  }
}

/**
 * A comp canceled through the buyer's route by its recipient: complimentary tickets are the venue's
 * allocation, taken back only by an operator (POST /admin/purchases/:id/refund). 409; nothing changed.
 */
export class CompCancelError extends DomainError {
  constructor() {
    super(
      'conflict',
      'CompNotCancelable',
      'a comp is not canceled by its recipient: the box office takes it back (POST /admin/purchases/:id/refund)',
      // The code in the details, as RecipientNotFound's: a client tells it from an already canceled 409.
      { code: 'CompNotCancelable' },
    );
  }
}

export class PurchaseRefundedError extends DomainError {
  constructor() {
    super('conflict', 'PurchaseRefunded', 'purchase has already been refunded or canceled');
  }
}

/** A refund owed at the box office window was marked paid before (by this mark's rival, or earlier). */
export class WindowRefundPaidError extends DomainError {
  constructor(refund: { paidAt: Date | null; paidBy: { email: string } | null }) {
    super('conflict', 'WindowRefundPaid', 'this window refund has already been paid', {
      paidAt: refund.paidAt?.toISOString() ?? null,
      paidBy: refund.paidBy?.email ?? null,
    });
  }
}

/** A seat named in a partial refund was refunded before (by this refund's rival, or an earlier one). */
export class SeatAlreadyRefundedError extends DomainError {
  constructor(seatId: number) {
    super('conflict', 'SeatAlreadyRefunded', `seat ${seatId} of this purchase has already been refunded`, {
      seatIds: [seatId],
    });
  }
}

/**
 * A partial refund of a purchase not written to PostgreSQL yet (within PURCHASE_FLUSH_AGE_SECONDS
 * of its sale): each partial refund is written there before its money moves. Retry shortly, or
 * refund it whole.
 */
export class PurchaseNotWrittenYetError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(
      'conflict',
      'PurchaseNotWrittenYet',
      'some seats of a purchase can be refunded once it is written behind (seconds after its sale): retry shortly, or refund it whole',
      undefined,
      retryAfterSeconds,
    );
  }
}

/**
 * A partial refund of a purchase whose seat prices were not recorded (a hold made before holds kept
 * them): a seat's share of the charge is unknown, so only its whole refund is exact.
 */
export class SeatPricesUnknownError extends DomainError {
  constructor() {
    super(
      'conflict',
      'SeatPricesUnknown',
      "this purchase's seat prices were not recorded (sold before prices were kept): refund it whole",
    );
  }
}

export class IdempotencyKeyInUseError extends DomainError {
  /** `retryAfterSeconds` when the key is busy with a request that may still answer, not when it is spent. */
  constructor(reason: string, retryAfterSeconds?: number) {
    super('conflict', 'IdempotencyKeyInUse', reason, undefined, retryAfterSeconds);
  }
}

/** PurchaseNotReplicatedError's reason when the primary refused the write (`NOREPLICAS`). */
export const REFUSED_FOR_LACK_OF_REPLICAS =
  'the Redis primary refuses writes for lack of connected replicas (min-replicas-to-write)';

/**
 * The sale ran on the Redis primary, but not enough replicas confirmed it within
 * REDIS_WAIT_TIMEOUT_MS (or the primary refused writes for lack of replicas): a failover could
 * still undo it, so it is not confirmed. Retry with the same Idempotency-Key (README, Redis Cluster).
 * `reason` (no address: the client reads it) says which, e.g. "it reached 0 of the 1 Redis
 * replicas REDIS_WAIT_REPLICAS requires within REDIS_WAIT_TIMEOUT_MS".
 */
export class PurchaseNotReplicatedError extends DomainError {
  constructor(reason?: string) {
    super(
      'unavailable',
      'PurchaseNotReplicated',
      `the purchase could not be confirmed durably${reason ? ` (${reason})` : ''}; retry with the same Idempotency-Key`,
      undefined,
      1,
    );
  }
}

/**
 * The cancel ran on the Redis primary, but not enough replicas confirmed it within
 * REDIS_WAIT_TIMEOUT_MS: a failover could still undo it, so nothing was refunded yet. If it
 * stands, `batch` refunds it once the cancellation reaches PostgreSQL, and a retried cancel
 * answers 409 (already canceled).
 */
export class CancellationNotReplicatedError extends DomainError {
  constructor() {
    super(
      'unavailable',
      'CancellationNotReplicated',
      'the cancellation could not be confirmed durably; retry: if it stands, the retry answers 409 (already canceled) and its refund follows',
      undefined,
      1,
    );
  }
}

/**
 * A performance's CANCELED status was written to the Redis primary, but REDIS_WAIT_REPLICAS
 * replicas did not confirm it within REDIS_WAIT_TIMEOUT_MS: a failover could still lose it and let
 * sales through, so the cancel was not committed in PostgreSQL. Retry: canceling is idempotent.
 */
export class PerformanceCancelNotReplicatedError extends DomainError {
  constructor(performanceId: number) {
    super(
      'unavailable',
      'PerformanceCancelNotReplicated',
      `the cancellation of performance ${performanceId} could not be confirmed durably; retry`,
      { performanceId },
      1,
    );
  }
}

/**
 * A hold or purchase of a performance whose waiting room is on, without a valid admission:
 * no token, a forged or expired one, one for another user or performance, or a slot that ended.
 * `details.code` tells it apart from the other 403s of a hold (SalesNotOpen, AccessCodeInvalid,
 * EmailNotVerified), so a storefront sends the buyer to the queue on this one alone.
 */
export class AdmissionRequiredError extends DomainError {
  constructor(reason: string) {
    super('forbidden', 'AdmissionRequired', reason, { code: 'AdmissionRequired' });
  }
}

const QUEUE_TICKET_ENDED: Record<TicketEndReason, string> = {
  LEFT: 'you left the queue',
  DROPPED: 'it dropped out of the line (not polled in time)',
  EXPIRED: 'its admission slot expired',
  DONE: 'its session ended with a purchase',
  CLOSED: 'the queue was removed',
  CANCELED: 'the performance was canceled',
};

/**
 * Leaving the queue with one's own ticket that has ended already (as `GET /queue/:ticketId` shows
 * it: ENDED), as releasing an ended hold is a conflict. Nothing changed; joining again gives a new
 * ticket at the back. Details: `{ticketId, endReason}` (LEFT, DROPPED, EXPIRED, DONE, CLOSED or
 * CANCELED).
 */
export class QueueTicketEndedError extends DomainError {
  constructor(ticketId: string, endReason: TicketEndReason) {
    super(
      'conflict',
      'QueueTicketEnded',
      `queue ticket has already ended: ${QUEUE_TICKET_ENDED[endReason] ?? endReason}`,
      { ticketId, endReason },
    );
  }
}

/**
 * A seat-id hold refused by the performance's noOrphanSeats rule: `singleSeatId` is the seat it
 * would leave empty on its own, `besideSeatId` the selected seat beside it.
 * Details: `{singleSeatId, besideSeatId}`.
 */
export class SingleSeatLeftError extends DomainError {
  constructor(singleSeatId: number, besideSeatId: number) {
    super(
      'conflict',
      'SingleSeatLeft',
      `this selection would leave seat ${singleSeatId} empty on its own, beside seat ${besideSeatId}; choose seats that leave no single empty seat (this performance does not sell single seats left between taken ones)`,
      { singleSeatId, besideSeatId },
    );
  }
}

/**
 * Why a best-available request found nothing, when its script can tell: SINGLE_LEFT, the
 * placement the ladder found would leave a single empty seat, which the performance's
 * noOrphanSeats rule refuses; SOLD_OUT, no seat of the scope is free; ACCESSIBLE_ONLY, free
 * wheelchair spaces or companion seats, which a request that is not accessible may not take, are
 * in the scope; NO_ACCESSIBLE, an accessible request, and the scope has no wheelchair space at all
 * (sold or not), as against none free now (no reason).
 */
export type NoFitReason = 'SINGLE_LEFT' | 'SOLD_OUT' | 'ACCESSIBLE_ONLY' | 'NO_ACCESSIBLE';

/**
 * A best-available request nothing fits (nothing was held); the message names what was asked and
 * says why when `reason` does. Details: `{quantity, together, accessible}`, plus `singleLeft: true`
 * (SINGLE_LEFT: other seats, chosen by id, may still fit; the ladder's shares are as equal as
 * possible), `soldOut: true` (SOLD_OUT: the message names the grade or section of `scope`),
 * `noAccessibleSeats: true` (NO_ACCESSIBLE: the message says the performance, grade or section of
 * `scope` has no wheelchair spaces, not that they are taken) or `accessibleOnly: true`
 * (ACCESSIBLE_ONLY, to a request that is not accessible: free seats of the scope are kept for
 * accessible requests).
 */
export class NoSeatsFitError extends DomainError {
  constructor(
    quantity: number,
    together: boolean,
    accessible = false,
    reason: NoFitReason | null = null,
    scope: SeatScope = { kind: 'all' },
  ) {
    const seats = accessible
      ? `${quantity} accessible seats (wheelchair spaces with their companion seats)`
      : `${quantity} seats`;
    // Free seats kept for accessible requests show on the seat map: say why they were not offered,
    // or "none available" beside them reads as a fault; never when there are none, nor to an
    // accessible request, which may take them.
    const reserved =
      reason === 'ACCESSIBLE_ONLY' && !accessible
        ? ' (wheelchair spaces and companion seats go to accessible requests only)'
        : '';
    const within =
      scope.kind === 'grade'
        ? ` in grade ${scope.grade}`
        : scope.kind === 'section'
          ? ` in section ${scope.section}`
          : '';
    const message =
      reason === 'NO_ACCESSIBLE'
        ? `no accessible seat (a wheelchair space) exists in this performance${within}: it has none at all, sold or free (another section or grade may have some)`
        : reason === 'SOLD_OUT'
          ? `no seats are free: every seat of this performance${within} is sold, held or blocked (off sale) (held seats come back when their holds end)`
          : reason === 'SINGLE_LEFT'
            ? `best available found no placement of ${quantity === 1 ? (accessible ? 'an accessible seat' : 'a seat') : seats} that leaves no single empty seat (this performance does not sell single seats left between taken ones); seats chosen by id may still fit`
            : quantity === 1
              ? `no ${accessible ? 'accessible seat (a wheelchair space)' : 'seat'} is available for this request${reserved}`
              : together
                ? `no ${seats} together (one row, or adjacent rows of one section) are available for this request${reserved}`
                : `fewer than ${seats} are available for this request${reserved}`;
    const details = { quantity, together, accessible };
    super(
      'conflict',
      'NoSeatsFit',
      message,
      reason === 'SINGLE_LEFT'
        ? { ...details, singleLeft: true }
        : reason === 'SOLD_OUT'
          ? { ...details, soldOut: true }
          : reason === 'NO_ACCESSIBLE'
            ? { ...details, noAccessibleSeats: true }
            : reserved
              ? { ...details, accessibleOnly: true }
              : details,
    );
  }
}

/** Most seats a SeatsNotBlockable answer names (a block by place may meet hundreds sold). */
export const MAX_UNBLOCKABLE_LISTED = 100;

/**
 * An operator's block refused because some of its seats are in a buyer's live hold or sold:
 * nothing was blocked. Details, always the same shape: `{seatIds, held, sold, truncated, heldCount,
 * soldCount}`: `seatIds` the lowest MAX_UNBLOCKABLE_LISTED of those seats (ids ascending), `held`
 * and `sold` those of them by state (ascending); `truncated` whether seats were left out of
 * `seatIds`; `heldCount` and `soldCount` how many are held and sold in all.
 */
export class SeatsNotBlockableError extends DomainError {
  constructor(held: number[], sold: number[]) {
    const all = [...held, ...sold].sort((a, b) => a - b);
    const seatIds = all.slice(0, MAX_UNBLOCKABLE_LISTED);
    const listed = new Set(seatIds);
    const truncated = all.length > seatIds.length;
    const named = truncated ? `${all.length} seats, the first ${seatIds.length}: ` : '';
    super(
      'conflict',
      'SeatsNotBlockable',
      `seats held or sold cannot be blocked: ${named}${seatIds.join(', ')} (nothing blocked; onlyFree: true blocks the others)`,
      {
        seatIds,
        held: held.filter((id) => listed.has(id)).sort((a, b) => a - b),
        sold: sold.filter((id) => listed.has(id)).sort((a, b) => a - b),
        truncated,
        heldCount: held.length,
        soldCount: sold.length,
      },
    );
  }
}

/**
 * A block of seats was written to the Redis primary, but REDIS_WAIT_REPLICAS replicas did not
 * confirm it within REDIS_WAIT_TIMEOUT_MS: a failover could lose it, so nothing was committed and
 * the live state was written back from PostgreSQL. Retry: a block is idempotent. (A release waits
 * for no replica: a lost one keeps seats off sale until the seat reconciler frees them.)
 */
export class SeatBlocksNotReplicatedError extends DomainError {
  constructor(performanceId: number) {
    super(
      'unavailable',
      'SeatBlocksNotReplicated',
      `the change of blocked seats of performance ${performanceId} could not be confirmed durably; retry`,
      { performanceId },
      1,
    );
  }
}
