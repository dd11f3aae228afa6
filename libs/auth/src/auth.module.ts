import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule } from '@nestjs/throttler';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { AccountsService } from './accounts.service';
import { AdminAccountsService, AdminBootstrap } from './admin-accounts.service';
import { CurrentRoleGuard } from './current-role.guard';
import { StaffAccountsService } from './staff-accounts.service';
import { AccessTokenGuard } from './guards';
import {
  LOGIN_RATE_LIMIT,
  LOGIN_THROTTLER,
  PASSWORD_RESET_ADDRESS_THROTTLER,
  PASSWORD_RESET_RATE_LIMIT,
  PasswordAttempts,
  SIGNUP_THROTTLER,
  SIGNUP_WINDOW_MS,
} from './login-throttler.guard';
import { EmailVerificationService } from './email-verification.service';
import { PasswordResetService } from './password-reset.service';
import { PasswordChangeService } from './password-change.service';
import { EmailChangeService } from './email-change.service';
import { PasswordHasher } from './password-hasher';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { SessionRevocations } from './session-revocations';
import { SessionsService } from './sessions.service';
import { TokenService } from './token.service';

/**
 * Accounts, sessions and the global guards: every route needs an access token unless it is
 * `@Public()`, and `@Roles(...)` restricts it further. Needs ConfigModule, CoreModule (the
 * `Clock`), DatabaseModule and RedisModule in the application.
 */
@Module({
  imports: [
    // Keys are passed per call: access and refresh tokens are signed with different secrets.
    JwtModule.register({}),
    ThrottlerModule.forRootAsync({
      inject: [Redis, Env],
      useFactory: (redis: Redis, env: Env) => ({
        throttlers: [
          { name: LOGIN_THROTTLER, ...LOGIN_RATE_LIMIT },
          {
            name: SIGNUP_THROTTLER,
            limit: Math.max(env.SIGNUP_RATE_LIMIT, 1),
            ttl: SIGNUP_WINDOW_MS,
            skipIf: () => env.SIGNUP_RATE_LIMIT === 0,
          },
          { name: PASSWORD_RESET_ADDRESS_THROTTLER, ...PASSWORD_RESET_RATE_LIMIT },
        ],
        storage: new RedisThrottlerStorage(redis),
        // Only the standard Retry-After (set by the error filter), no per-throttler X-RateLimit-* headers.
        setHeaders: false,
      }),
    }),
  ],
  providers: [
    { provide: APP_GUARD, useClass: AccessTokenGuard },
    PasswordHasher,
    PasswordAttempts,
    TokenService,
    SessionRevocations,
    AccountsService,
    SessionsService,
    AdminAccountsService,
    StaffAccountsService,
    PasswordResetService,
    PasswordChangeService,
    EmailChangeService,
    EmailVerificationService,
    CurrentRoleGuard,
    AdminBootstrap,
  ],
  exports: [
    // With the repositories, what the api's AccountDeletionService needs (it is provided there,
    // beside the ticketing library's live state it is given).
    PasswordHasher,
    PasswordAttempts,
    TokenService,
    SessionRevocations,
    AccountsService,
    SessionsService,
    AdminAccountsService,
    StaffAccountsService,
    PasswordResetService,
    PasswordChangeService,
    EmailChangeService,
    EmailVerificationService,
    CurrentRoleGuard,
  ],
})
export class AuthModule {}
