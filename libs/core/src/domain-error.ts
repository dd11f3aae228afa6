/**
 * Errors of the rules, with stable codes. Libraries throw these; the API maps them to HTTP in
 * one place, the workers decide retry or dead-letter from them.
 */
export type DomainErrorKind =
  'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'invalid' | 'payment_required' | 'too_many' | 'unavailable';

/**
 * The base of every error a library raises on purpose: `kind` picks the HTTP status at the
 * edge, `code` is the stable name clients and logs see, `details` go into the error body.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds after which the same request may succeed (HTTP Retry-After); unset when it will not. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = code;
  }
}

/** `what` (say "performance 7") does not exist, or not for this caller. */
export class NotFoundError extends DomainError {
  constructor(what: string, details?: Record<string, unknown>) {
    super('not_found', 'NotFound', `${what} not found`, details);
  }
}

/** The caller's input breaks a rule; `message` says which, in words fit for the client. */
export class InvalidInputError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid', 'InvalidInput', message, details);
  }
}

/** A write collides with stored data (a duplicate, or a row another one still needs). */
export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', 'Conflict', message, details);
  }
}

/** What the edge answers, whichever dependency is unavailable: nothing of why. */
const UNAVAILABLE_MESSAGE = 'the service is temporarily unavailable; retry shortly';

/**
 * A dependency the request needs (PostgreSQL, Redis) cannot serve it now, through no fault of the
 * request, which may be retried: the edge answers 503 with `Retry-After` (`retryAfterSeconds`:
 * 1 s) and `message`, never the cause; `cause` keeps the dependency's own error for the logs. What
 * counts as unavailable is each dependency's library's to say (libs/database, libs/redis).
 */
export abstract class DependencyUnavailableError extends DomainError {
  protected constructor(
    readonly cause: unknown,
    message = UNAVAILABLE_MESSAGE,
  ) {
    super('unavailable', 'ServiceUnavailable', message, undefined, 1);
  }
}

/**
 * Socket errors (`code` of a Node system error) of a server that is not there: refused, reset,
 * broken pipe, timed out, no route, no name yet. Either dependency's client may raise them.
 */
export const UNREACHABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * A store the request needs (Redis, for the live sale) cannot answer now: unreachable,
 * restarting, failing over, refusing writes, too slow to reply (a DependencyUnavailableError: 503
 * with `Retry-After`). (Only a connection lost while a reply was due can leave the change made;
 * the retry then finds it, as a purchase's Idempotency-Key does.)
 */
export class StoreUnavailableError extends DependencyUnavailableError {
  constructor(
    /** Which store failed, for the logs (say "redis"). */
    readonly store: string,
    cause: unknown,
  ) {
    super(cause);
  }
}

/**
 * For logs, never for clients: `error`'s message, followed by its cause's when it has one (the
 * store's own error behind a `StoreUnavailableError`, say "Connection is closed.").
 */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
