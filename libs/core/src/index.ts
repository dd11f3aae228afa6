export {
  ConflictError,
  DependencyUnavailableError,
  describeFailure,
  DomainError,
  InvalidInputError,
  NotFoundError,
  StoreUnavailableError,
  UNREACHABLE_SOCKET_CODES,
} from './domain-error';
export type { DomainErrorKind } from './domain-error';
export { Clock, SystemClock } from './clock';
export { CoreModule } from './core.module';
export { PollingLoop, RepeatedFailureLog } from './polling-loop';
export type { FailureLines } from './polling-loop';
export { isUuid } from './uuid';
export {
  assertSameFilters,
  assertSameList,
  decodeCursor,
  encodeCursor,
  filterDigest,
  isFilterDigest,
  isInstantKey,
} from './cursor';
export type { CursorPartCheck } from './cursor';
export { emailKey, foldCase } from './email-key';
export { MAX_INT4 } from './int4';
export { CANCELED_BY } from './canceled-by';
export type { CanceledBy } from './canceled-by';
export { assertSettablePassword, guessablePasswordReason, MIN_PASSWORD_LENGTH } from './guessable-password';
export type { PasswordContext } from './guessable-password';
