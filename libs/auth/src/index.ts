export { Role } from '@app/database';
export { AccountDeletionService, AccountLiveState } from './account-deletion.service';
export { BuyerAccountGuard, RequiresBuyerAccount } from './buyer-account.guard';
export {
  ACCOUNT_GONE,
  accountEmail,
  AccountsService,
  INVISIBLE_IN_EMAIL,
  KNOWN_ACCOUNT_MS,
  normalizeEmail,
  UNVERIFIED_ACCOUNT_MS,
} from './accounts.service';
export type { SignupInput } from './accounts.service';
export { AdminAccountsService } from './admin-accounts.service';
export { CurrentRoleGuard, RequiresCurrentRole } from './current-role.guard';
export type { AccountOperator } from './account-audit';
export { StaffAccountsService } from './staff-accounts.service';
export type { StaffPage } from './staff-accounts.service';
export {
  AccountHasOpenPurchasesError,
  AdminAccountKeptError,
  EmailAlreadyVerifiedError,
  EmailNotVerifiedError,
  EmailTakenError,
  InvalidCredentialsError,
  InvalidEmailChangeTokenError,
  InvalidResetTokenError,
  InvalidTokenError,
  InvalidVerificationTokenError,
  MissingRoleError,
  SameEmailError,
  TooManyEmailChangesError,
  TooManyPasswordAttemptsError,
  TooManyVerificationEmailsError,
  VerificationOwnerRequiredError,
  WrongAccountPasswordError,
} from './auth.errors';
export { AuthModule } from './auth.module';
export { CurrentUser, IS_PUBLIC, Public, ROLES, Roles, SIGN_IN_OPTIONAL, SignInOptional } from './decorators';
export type { AuthenticatedUser, CallerRequest } from './decorators';
export { AccessTokenGuard, accessTokenOf } from './guards';
export {
  EmailChangeRateLimited,
  EmailChangeThrottlerGuard,
  LOGIN_RATE_LIMIT,
  LOGIN_THROTTLER,
  LoginRateLimited,
  LoginThrottlerGuard,
  PASSWORD_RESET_RATE_LIMIT,
  PasswordAttempts,
  PasswordResetRateLimited,
  SIGNUP_THROTTLER,
  SignupRateLimited,
  SignupThrottlerGuard,
} from './login-throttler.guard';
export { PasswordHasher } from './password-hasher';
export { EmailVerificationService } from './email-verification.service';
export type { VerificationOwnerProof } from './email-verification.service';
export { MAIL_TOKEN_BYTES, MAIL_TOKEN_LIMITS } from './mail-token';
export { PasswordResetService } from './password-reset.service';
export { PasswordChangeService } from './password-change.service';
export { EmailChangeService } from './email-change.service';
export { RedisThrottlerStorage } from './redis-throttler.storage';
export { ENDED_SESSIONS_KEY, SessionRevocations } from './session-revocations';
export { SessionsService } from './sessions.service';
export type { TokenPair } from './sessions.service';
export { ACCESS_TOKEN_TTL_SECONDS, hashToken, REFRESH_TOKEN_TTL_SECONDS, TokenService } from './token.service';
