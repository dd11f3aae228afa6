export { DomainError, NotFoundError } from './errors';
export type { DomainErrorKind } from './errors';
