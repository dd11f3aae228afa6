import { DomainError } from '@app/core';

/** Errors of tickets and the door, with stable codes. */

/** A code that is malformed or whose signature does not match: forged, mistyped or of another box office. */
export class InvalidTicketCodeError extends DomainError {
  constructor() {
    super('invalid', 'InvalidTicketCode', 'ticket code is not valid (malformed, or not signed by this box office)');
  }
}

/** The ticket was scanned in before; `checkedInAt` says when. */
export class TicketAlreadyCheckedInError extends DomainError {
  constructor(checkedInAt: Date) {
    super('conflict', 'TicketAlreadyCheckedIn', `already checked in at ${checkedInAt.toISOString()}`, {
      checkedInAt: checkedInAt.toISOString(),
    });
  }
}

/**
 * Scanned at the door of another performance (another show, or another day of it): a genuine
 * ticket, checked in nowhere by this scan. `details.performanceId`: the performance it is for.
 */
export class TicketForAnotherPerformanceError extends DomainError {
  constructor(performanceId: number) {
    super('conflict', 'TicketForAnotherPerformance', `ticket is for performance ${performanceId}, not this one`, {
      performanceId,
    });
  }
}

/** Its purchase was canceled or refunded: the ticket admits no one. */
export class TicketCanceledError extends DomainError {
  constructor() {
    super('conflict', 'TicketCanceled', 'ticket is canceled (its purchase was canceled or refunded)');
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
