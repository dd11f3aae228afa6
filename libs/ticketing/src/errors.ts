/**
 * Errors of the rules, with stable codes. Libraries throw these; the API maps them to HTTP in
 * one place, the workers decide retry or dead-letter from them.
 */
export type DomainErrorKind =
  'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'invalid' | 'payment_required' | 'too_many';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = code;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, details?: Record<string, unknown>) {
    super('not_found', 'NotFound', `${what} not found`, details);
  }
}
