import { QueryFailedError } from 'typeorm';
import { ConflictError, DomainError } from '@app/core';

/** PostgreSQL SQLSTATEs (Appendix A of its manual) that a client's request can cause. */
export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
/** SQLSTATE class of every integrity constraint violation. */
const INTEGRITY_CONSTRAINT_VIOLATION_CLASS = '23';

const CONFLICTS: Record<string, string> = {
  [UNIQUE_VIOLATION]: 'already exists',
  [FOREIGN_KEY_VIOLATION]: 'refers to something that does not exist or is still in use',
};

/** The SQLSTATE of a statement PostgreSQL refused; undefined for any other error. */
export function sqlStateOf(error: unknown): string | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether PostgreSQL refused a write for good, so that retrying it is pointless (the purchase
 * flusher then parks the entry): an integrity constraint violation (SQLSTATE class 23: a foreign
 * key, check, not-null...). Not 23505: the one unique violation the purchase statement's ON
 * CONFLICT does not absorb is a seat's second active ticket, which a cancellation written later
 * clears (INSERT_PURCHASES in purchase.repository.ts), so it is retried. Lock and statement
 * timeouts (55P03, 57014) and connection errors carry other codes, or none: retried too.
 */
export function refusedForGood(error: unknown): boolean {
  const code = sqlStateOf(error);
  return code !== undefined && code.startsWith(INTEGRITY_CONSTRAINT_VIOLATION_CLASS) && code !== UNIQUE_VIOLATION;
}

/** The unique index that keeps a seat to one active ticket (migration Purchases). */
export const SEAT_ACTIVE_TICKET_INDEX = 'tickets_seat_active_key';

/**
 * The seat of a write PostgreSQL refused because the seat already has an active ticket (a unique
 * violation of `tickets_seat_active_key`), read from the error's detail (`Key (seat_id)=(123)
 * already exists.`: a seat id, no personal value); undefined for any other error.
 */
export function secondActiveTicketSeat(error: unknown): number | undefined {
  if (sqlStateOf(error) !== UNIQUE_VIOLATION) return undefined;
  const driverError = (error as QueryFailedError).driverError as { constraint?: unknown; detail?: unknown };
  if (driverError.constraint !== SEAT_ACTIVE_TICKET_INDEX || typeof driverError.detail !== 'string') return undefined;
  const seat = /\(seat_id\)=\((\d+)\)/.exec(driverError.detail);
  return seat ? Number(seat[1]) : undefined;
}

/**
 * Runs `work` and raises a unique or foreign-key violation as a {@link ConflictError}, or as
 * the error `specific` makes for its SQLSTATE, so no layer above persistence needs to know
 * PostgreSQL's codes. Any other error passes unchanged (a 500 at the HTTP edge).
 */
export async function translatingConstraintViolations<T>(
  work: () => Promise<T>,
  specific: Record<string, () => DomainError> = {},
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = sqlStateOf(error) ?? '';
    if (specific[code]) throw specific[code]();
    const conflict = CONFLICTS[code];
    // The constraint's name and the SQL stay out of the message: internals never reach a client.
    if (conflict) throw new ConflictError(conflict);
    throw error;
  }
}
