import { createHash } from 'node:crypto';
import { applyDecorators, ExecutionContext, HttpException, HttpStatus, Injectable, UseGuards } from '@nestjs/common';
import {
  InjectThrottlerStorage,
  SkipThrottle,
  Throttle,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { emailKey } from '@app/core';
import { TooManyPasswordAttemptsError } from './auth.errors';
import { clientAddressKey } from './client-address';

export const LOGIN_THROTTLER = 'login';
export const SIGNUP_THROTTLER = 'signup';
/** Password-reset requests per client address. */
export const PASSWORD_RESET_ADDRESS_THROTTLER = 'password-reset-address';
/** The window of SIGNUP_RATE_LIMIT (signups per client address per minute). */
export const SIGNUP_WINDOW_MS = 60_000;

/** Login attempts allowed per client IP and e-mail in one window, and how long a blocked caller waits. */
export const LOGIN_RATE_LIMIT = { limit: 5, ttl: 60_000, blockDuration: 60_000 };

/**
 * The throttler key of password attempts at the account with this e-mail (in any letter case: its
 * key) from client address `clientIp` (an IPv6 one by its /64: {@link clientAddressKey}): one counter
 * for the login and the e-mail confirm (which takes the account's password too), so neither adds
 * guesses to the other's. Hashed, as
 * @nestjs/throttler's own keys are: no address in clear in Redis.
 */
function passwordAttemptKey(clientIp: string, email: string): string {
  return createHash('sha256')
    .update(`password-attempts|${clientAddressKey(clientIp)}|${emailKey(email)}`)
    .digest('hex');
}

/** Counts login attempts per client IP and e-mail (in any letter case: its key), so guessing one account is slow. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    // Guards run before validation: the body may be anything.
    const email = (request.body as { email?: unknown } | undefined)?.email;
    return passwordAttemptKey(String(request.ip), typeof email === 'string' ? email : '');
  }

  /** The tracker is the key already: the same for every route that takes a password ({@link PasswordAttempts}). */
  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  /** The global error filter turns `retryAfter` into the standard Retry-After header. */
  protected override async throwThrottlingException(
    _context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new HttpException(
      { message: 'too many login attempts, try again later', retryAfter: limit.timeToBlockExpire },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** Rate-limits a login route with LOGIN_RATE_LIMIT; over it the answer is 429 with Retry-After. */
export const LoginRateLimited = () =>
  applyDecorators(
    Throttle({ [LOGIN_THROTTLER]: LOGIN_RATE_LIMIT }),
    SkipThrottle({ [SIGNUP_THROTTLER]: true, ...SKIP_PASSWORD_RESET }),
    UseGuards(LoginThrottlerGuard),
  );

/**
 * A throttler counting per client address (behind TRUST_PROXY; an IPv6 one by its /64:
 * {@link clientAddressKey}), refusing with 429, `refusal` and Retry-After.
 */
abstract class AddressThrottlerGuard extends ThrottlerGuard {
  protected abstract readonly refusal: string;

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return clientAddressKey(String(request.ip));
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new HttpException(
      { message: this.refusal, retryAfter: limit.timeToBlockExpire },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * Counts signups per client address (behind TRUST_PROXY): each one costs an argon2id hash, and
 * throwaway accounts are how one person holds a whole small performance.
 */
@Injectable()
export class SignupThrottlerGuard extends AddressThrottlerGuard {
  protected readonly refusal = 'too many signups from this address, try again later';
}

/** Rate-limits a signup route with SIGNUP_RATE_LIMIT per minute (0: no limit); over it, 429 with Retry-After. */
export const SignupRateLimited = () =>
  applyDecorators(SkipThrottle({ [LOGIN_THROTTLER]: true, ...SKIP_PASSWORD_RESET }), UseGuards(SignupThrottlerGuard));

/**
 * Counts changes of e-mail address asked for per client address (behind TRUST_PROXY), with the
 * signup's limit (SIGNUP_RATE_LIMIT a minute): a taken address is answered 409 here as at signup,
 * so this route tells no more, no faster, of which addresses are registered than signup does.
 */
@Injectable()
export class EmailChangeThrottlerGuard extends AddressThrottlerGuard {
  protected readonly refusal = 'too many changes of e-mail address from this address, try again later';
}

/** Rate-limits the change of e-mail address with SIGNUP_RATE_LIMIT per minute (0: no limit); over it, 429 with Retry-After. */
export const EmailChangeRateLimited = () =>
  applyDecorators(
    SkipThrottle({ [LOGIN_THROTTLER]: true, ...SKIP_PASSWORD_RESET }),
    UseGuards(EmailChangeThrottlerGuard),
  );

/**
 * Password-reset requests allowed per client address, and how long a blocked caller waits (ms): a
 * few a minute (a script probing or mail-bombing many addresses). Per e-mail address there is no
 * 429 (it would tell whose address it is, and let anyone shut an account out of its resets):
 * PasswordResetService issues a few tokens per account a quarter hour, and answers past them alike.
 */
export const PASSWORD_RESET_RATE_LIMIT = { limit: 10, ttl: 60_000, blockDuration: 60_000 };

/** The password-reset throttler, skipped by the other rate-limited routes. */
const SKIP_PASSWORD_RESET = { [PASSWORD_RESET_ADDRESS_THROTTLER]: true };

/** Counts password-reset requests per client address (behind TRUST_PROXY). */
@Injectable()
export class PasswordResetThrottlerGuard extends AddressThrottlerGuard {
  protected readonly refusal = 'too many password reset requests, try again later';
}

/** Rate-limits the password-reset request with PASSWORD_RESET_RATE_LIMIT; over it, 429 with Retry-After. */
export const PasswordResetRateLimited = () =>
  applyDecorators(
    SkipThrottle({ [LOGIN_THROTTLER]: true, [SIGNUP_THROTTLER]: true }),
    UseGuards(PasswordResetThrottlerGuard),
  );

/**
 * Password attempts outside the login route (the e-mail confirm with a password), counted on the
 * login's counter of the same client address and account (LOGIN_RATE_LIMIT, in Redis), so the
 * confirm adds no guesses to the login's 5 a minute.
 */
@Injectable()
export class PasswordAttempts {
  constructor(@InjectThrottlerStorage() private readonly storage: ThrottlerStorage) {}

  /**
   * Counts one attempt at the password of the account with `email` from `clientIp`. Throws
   * TooManyPasswordAttemptsError (429, with the seconds until the block ends) past
   * LOGIN_RATE_LIMIT, login's attempts included.
   */
  async count(clientIp: string, email: string): Promise<void> {
    const { limit, ttl, blockDuration } = LOGIN_RATE_LIMIT;
    const record = await this.storage.increment(
      passwordAttemptKey(clientIp, email),
      ttl,
      limit,
      blockDuration,
      LOGIN_THROTTLER,
    );
    if (record.isBlocked) throw new TooManyPasswordAttemptsError(record.timeToBlockExpire);
  }
}
