import { applyDecorators, ExecutionContext, HttpException, HttpStatus, Injectable, UseGuards } from '@nestjs/common';
import { Throttle, ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

export const LOGIN_THROTTLER = 'login';

/** Login attempts allowed per client IP and e-mail in one window, and how long a blocked caller waits. */
export const LOGIN_RATE_LIMIT = { limit: 5, ttl: 60_000, blockDuration: 60_000 };

/** Counts login attempts per client IP and e-mail (lower-cased), so guessing one account is slow. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    // Guards run before validation: the body may be anything.
    const email = (request.body as { email?: unknown } | undefined)?.email;
    const normalized = typeof email === 'string' ? email.trim().toLowerCase() : '';
    return `${String(request.ip)}|${normalized}`;
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
  applyDecorators(Throttle({ [LOGIN_THROTTLER]: LOGIN_RATE_LIMIT }), UseGuards(LoginThrottlerGuard));
