import { DomainError } from '@app/core';
import type { CheckedInBy } from '@app/database';
import { formatLocalDateTime, formatWallClock } from '../date-time';

/** Errors of tickets and the door, with stable codes. */

/** A code that is malformed or whose signature does not match: forged, mistyped or of another box office. */
export class InvalidTicketCodeError extends DomainError {
  constructor() {
    super('invalid', 'InvalidTicketCode', 'ticket code is not valid (malformed, or not signed by this box office)');
  }
}

/**
 * The ticket was scanned in before, at `checkedInAt`, by the account `by` (the door's staff account,
 * or an admin; null once that account was deleted). The message names that instant on the venue's
 * clock (`timeZone`, its event's IANA zone), RFC 3339 with the offset then, as the window refusals
 * name theirs, and where: the account's name and e-mail address ("… by Gate 2
 * (gate-2@arena.example)"), so the door turning someone away can say at which door the ticket went
 * in. `details`: `checkedInAt`, the same instant in UTC (RFC 3339, `Z`), as the check-in's answer and
 * the ticket list write it, and `checkedInBy` (`{id, email, name}`, or null).
 */
export class TicketAlreadyCheckedInError extends DomainError {
  constructor(checkedInAt: Date, timeZone: string, by: CheckedInBy | null) {
    super(
      'conflict',
      'TicketAlreadyCheckedIn',
      `already checked in at ${formatWallClock(checkedInAt, timeZone)}` +
        (by ? ` by ${by.name} (${by.email})` : ' (by an account since deleted)'),
      {
        checkedInAt: checkedInAt.toISOString(),
        checkedInBy: by ? { id: by.id, email: by.email, name: by.name } : null,
      },
    );
  }
}

/**
 * Scanned at the door of another performance (another show, or another day of it): a genuine
 * ticket, checked in nowhere by this scan. The message names the performance it is for and its
 * start on the venue's clock (`timeZone`, its event's zone), as the window refusals do, so staff
 * can send the holder there; `details`: `performanceId`, `startsAt` (RFC 3339 with the venue's
 * offset then) and `timeZone` (without them only when that performance is not known).
 */
export class TicketForAnotherPerformanceError extends DomainError {
  constructor(performanceId: number, start?: { startsAt: Date; timeZone: string }) {
    super(
      'conflict',
      'TicketForAnotherPerformance',
      start
        ? `ticket is for performance ${performanceId} on ${formatWallClock(start.startsAt, start.timeZone)}, not this one`
        : `ticket is for performance ${performanceId}, not this one`,
      start
        ? {
            performanceId,
            startsAt: formatLocalDateTime(start.startsAt, start.timeZone),
            timeZone: start.timeZone,
          }
        : { performanceId },
    );
  }
}

/**
 * Its purchase was canceled or refunded, or its seat refunded from a purchase that stays paid (a
 * partial refund): the ticket admits no one. The message names both, so the door does not tell the
 * holder of a partially refunded purchase, whose friends just came in on it, that it was canceled.
 */
export class TicketCanceledError extends DomainError {
  constructor() {
    super(
      'conflict',
      'TicketCanceled',
      'ticket is canceled (its purchase was canceled or refunded, or this seat refunded)',
    );
  }
}

/**
 * A scan of a ticket whose sale Redis has and PostgreSQL not yet (a box office sale prints its
 * codes at once; `batch` writes the sale behind, within PURCHASE_FLUSH_AGE_SECONDS and a flush):
 * the code is genuine, the door scans it again in `retryAfterSeconds`.
 */
export class TicketNotWrittenYetError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(
      'conflict',
      'TicketNotWrittenYet',
      `ticket just sold, its sale is being recorded: scan it again in ${retryAfterSeconds} s`,
      undefined,
      retryAfterSeconds,
    );
  }
}

/**
 * The purchase is answered but not written to PostgreSQL yet, where tickets get their ids (and
 * so their codes): within PURCHASE_FLUSH_AGE_SECONDS and a flush.
 */
export class TicketsNotIssuedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(
      'conflict',
      'TicketsNotIssued',
      `tickets are not issued yet; retry in ${retryAfterSeconds} s`,
      undefined,
      retryAfterSeconds,
    );
  }
}

/** What the door is told of the performance a ticket is for (times on the venue's wall clock). */
export interface TicketPerformanceTimes {
  performanceId: number;
  startsAt: Date;
  /** The venue's IANA time zone (its event's). */
  timeZone: string;
  opensAt: Date;
  closesAt: Date;
}

function windowDetails(reason: 'NOT_OPEN' | 'CLOSED', times: TicketPerformanceTimes): Record<string, unknown> {
  return {
    reason,
    performanceId: times.performanceId,
    startsAt: formatLocalDateTime(times.startsAt, times.timeZone),
    timeZone: times.timeZone,
    checkInOpensAt: formatLocalDateTime(times.opensAt, times.timeZone),
    checkInClosesAt: formatLocalDateTime(times.closesAt, times.timeZone),
  };
}

/**
 * Scanned before its performance's doors open (a ticket for another day, or for a later show of
 * the same day): a genuine ticket, checked in nowhere by this scan. `details`: the performance, its
 * start and its window, RFC 3339 on the venue's wall clock; `details.reason`: `NOT_OPEN`.
 */
export class CheckInNotOpenError extends DomainError {
  constructor(times: TicketPerformanceTimes) {
    super(
      'conflict',
      'CheckInNotOpen',
      `check-in has not opened: this ticket is for the performance on ${formatWallClock(times.startsAt, times.timeZone)}; ` +
        `its doors open at ${formatLocalDateTime(times.opensAt, times.timeZone)}`,
      windowDetails('NOT_OPEN', times),
    );
  }
}

/**
 * Scanned after its performance's check-in closed (a ticket for an earlier show or day): checked
 * in nowhere by this scan. `details` as for CheckInNotOpenError, `reason`: `CLOSED`.
 */
export class CheckInClosedError extends DomainError {
  constructor(times: TicketPerformanceTimes) {
    super(
      'conflict',
      'CheckInClosed',
      `check-in has closed: this ticket is for the performance on ${formatWallClock(times.startsAt, times.timeZone)}; ` +
        `its check-in closed at ${formatLocalDateTime(times.closesAt, times.timeZone)}`,
      windowDetails('CLOSED', times),
    );
  }
}

/**
 * The code names an older version of its ticket: the ticket was transferred since and has a new
 * code, held by its new holder. This code admits no one, ever.
 */
export class TicketTransferredError extends DomainError {
  constructor() {
    super('conflict', 'TicketTransferred', 'this ticket code is void: the ticket was transferred to someone else');
  }
}

/** Checked in at the door already: a ticket someone came in on changes hands no more. */
export class TicketCheckedInError extends DomainError {
  constructor() {
    super('conflict', 'TicketCheckedIn', 'ticket was checked in at the door: it can no longer be transferred');
  }
}

/** The ticket's performance has started (or is over): its offers have expired with it. */
export class PerformanceStartedError extends DomainError {
  constructor() {
    super('conflict', 'PerformanceStarted', 'the performance has started: its tickets can no longer be transferred');
  }
}

/**
 * The sender made `perHour` offers in the last hour, or the recipient's address was sent offers by
 * `perHour` other senders in it, or `toAddressPerHour` offers in all and `share` of them by this
 * sender: each offer mails the address, so they are bounded (429 with Retry-After).
 */
export class TooManyTransferOffersError extends DomainError {
  constructor(perHour: number, toAddressPerHour: number, share: number) {
    super(
      'too_many',
      'TooManyTransferOffers',
      `too many transfer offers: at most ${perHour} an hour by one sender, and to one address from at most ` +
        `${perHour} senders and ${toAddressPerHour} offers, past which each sender may make its first ${share}`,
      { perHour, toAddressPerHour },
      3600,
    );
  }
}

/** Another offer of the ticket waits for its recipient: cancel it first. */
export class TransferPendingError extends DomainError {
  constructor() {
    super('conflict', 'TransferPending', 'a transfer of this ticket is pending already; cancel it first');
  }
}

/** Offered to the sender's own address. */
export class TransferToSelfError extends DomainError {
  constructor() {
    super('conflict', 'TransferToSelf', 'a ticket cannot be transferred to your own e-mail address');
  }
}

/** The ticket changed hands as often as its code can be reissued (65,535 times). */
export class TransferLimitReachedError extends DomainError {
  constructor() {
    super('conflict', 'TransferLimitReached', 'this ticket cannot be transferred again');
  }
}

/** What a transfer is once it is no longer pending. */
export type SettledTransferStatus = 'ACCEPTED' | 'CANCELED' | 'EXPIRED' | 'DECLINED';

/** What a canceled transfer's refusal tells about why, by its `cancel_reason`. */
const CANCEL_REASON_WORDS: Record<string, string> = {
  SENDER: 'its sender withdrew it',
  PURCHASE_CANCELED: 'the ticket was canceled with its purchase',
  CHECKED_IN: 'the ticket was checked in at the door',
  TICKET_CANCELED: 'the ticket was canceled',
  PERFORMANCE_CANCELED: 'the performance was canceled',
};

/**
 * The transfer is no longer pending: accepted (`TransferAccepted`), canceled (`TransferCanceled`,
 * by its sender, or with its purchase or ticket), expired (`TransferExpired`) or declined by its
 * recipient (`TransferDeclined`). `details.status` says which; for a canceled one whose reason is
 * known, `details.reason` says why (`SENDER`, `PURCHASE_CANCELED`, `CHECKED_IN`, …), and the
 * message in words.
 */
export class TransferNotPendingError extends DomainError {
  constructor(status: SettledTransferStatus, cancelReason?: string | null) {
    const code = {
      ACCEPTED: 'TransferAccepted',
      CANCELED: 'TransferCanceled',
      EXPIRED: 'TransferExpired',
      DECLINED: 'TransferDeclined',
    }[status];
    const words = {
      ACCEPTED: 'it was accepted already',
      CANCELED: 'it was canceled',
      EXPIRED: 'it expired',
      DECLINED: 'it was declined',
    }[status];
    const why = status === 'CANCELED' && cancelReason ? CANCEL_REASON_WORDS[cancelReason] : undefined;
    super(
      'conflict',
      code,
      `transfer is no longer pending: ${words}${why ? ` (${why})` : ''}`,
      why ? { status, reason: cancelReason } : { status },
    );
  }
}

/** An undo of a check-in of a ticket that is not checked in (never was, or its check-in was undone already). */
export class TicketNotCheckedInError extends DomainError {
  constructor(meanwhile = false) {
    super(
      'conflict',
      'TicketNotCheckedIn',
      meanwhile
        ? 'ticket is not checked in: its check-in was undone meanwhile'
        : 'ticket is not checked in: there is no check-in to undo',
    );
  }
}

/** Why a staff account may not undo a check-in (an admin may). */
export type CheckInUndoRefusal = 'NOT_YOUR_CHECK_IN' | 'UNDO_WINDOW_PASSED';

/**
 * A staff account asked to undo a check-in it may not: one another account scanned
 * (`NOT_YOUR_CHECK_IN`, the message naming that account, the door: "made by another account, Gate
 * 3 (gate-3@arena.example)", or "(an account since deleted)"), or its own older than
 * CHECK_IN_UNDO_MINUTES (`UNDO_WINDOW_PASSED`). `details`: `reason`, `checkedInAt` (UTC, RFC 3339),
 * `undoMinutes` and, for `NOT_YOUR_CHECK_IN`, `checkedInBy` (`{id, email, name}`, null once that
 * account was deleted); the message names the check-in on the venue's clock (`timeZone`). Nothing
 * changed; an admin may undo it.
 */
export class CheckInUndoForbiddenError extends DomainError {
  constructor(
    reason: CheckInUndoRefusal,
    checkedInAt: Date,
    timeZone: string,
    undoMinutes: number,
    by: CheckedInBy | null = null,
  ) {
    const at = formatWallClock(checkedInAt, timeZone);
    super(
      'forbidden',
      'CheckInUndoForbidden',
      reason === 'NOT_YOUR_CHECK_IN'
        ? `this check-in (at ${at}) was made by another account, ${by ? `${by.name} (${by.email})` : '(an account since deleted)'}: ` +
            'a staff account may undo only its own; ask an admin'
        : `this check-in (at ${at}) is more than ${undoMinutes} minutes old: a staff account may undo its own only ` +
            `within ${undoMinutes} minutes; ask an admin`,
      {
        reason,
        checkedInAt: checkedInAt.toISOString(),
        undoMinutes,
        ...(reason === 'NOT_YOUR_CHECK_IN' && { checkedInBy: by && { id: by.id, email: by.email, name: by.name } }),
      },
    );
  }
}

/** A resend of a purchase's tickets with none left to send: every ticket of it was transferred away. */
export class NoTicketsToSendError extends DomainError {
  constructor() {
    super(
      'conflict',
      'NoTicketsToSend',
      'every ticket of this purchase was transferred to someone else: there is none to send (their holders have theirs)',
    );
  }
}

/**
 * A buyer asked for a purchase's tickets by e-mail `perWindow` times within `windowMinutes`
 * already (per account): 429 with the seconds until the next is counted out of the window.
 */
export class TooManyTicketResendsError extends DomainError {
  constructor(retryAfterSeconds: number, limit: { perWindow: number; windowMs: number }) {
    super(
      'too_many',
      'TooManyTicketResends',
      `at most ${limit.perWindow} e-mails of your tickets are sent again per ${limit.windowMs / 60_000} minutes; ask again in ${retryAfterSeconds} seconds`,
      { perWindow: limit.perWindow, windowMinutes: limit.windowMs / 60_000 },
      retryAfterSeconds,
    );
  }
}

/**
 * An account was answered `perWindow` PDFs of printable tickets within `windowMinutes` already
 * (all the print routes together): 429 with the seconds until the next is counted out of the window.
 */
export class TooManyTicketPrintsError extends DomainError {
  constructor(retryAfterSeconds: number, limit: { perWindow: number; windowMs: number }) {
    super(
      'too_many',
      'TooManyTicketPrints',
      `at most ${limit.perWindow} ticket PDFs are printed per account per ${limit.windowMs / 60_000} minutes; ask again in ${retryAfterSeconds} seconds`,
      // The code in the body too (as TooManyAccessCodeAttempts): a client tells this 429 from others by it.
      { code: 'TooManyTicketPrints', perWindow: limit.perWindow, windowMinutes: limit.windowMs / 60_000 },
      retryAfterSeconds,
    );
  }
}

/**
 * A resend (`what` 'send') or a print ('print') of the tickets of a purchase canceled or refunded:
 * none of them admits anyone, so none is sent or printed.
 */
export class CanceledPurchaseTicketsError extends DomainError {
  constructor(what: 'send' | 'print' = 'send') {
    super(
      'conflict',
      'PurchaseCanceled',
      `purchase was canceled or refunded: its tickets admit no one, there is none to ${what}`,
    );
  }
}

/**
 * A purchase's printable tickets asked for with none left to print: every seat it still has was
 * transferred to someone else (their holders print theirs).
 */
export class NoTicketsToPrintError extends DomainError {
  constructor() {
    super(
      'conflict',
      'NoTicketsToPrint',
      'every ticket of this purchase was transferred to someone else: there is none to print (their holders print theirs)',
    );
  }
}
