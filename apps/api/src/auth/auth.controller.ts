import { Body, Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  AuthenticatedUser,
  CurrentUser,
  EmailChangeRateLimited,
  EmailChangeService,
  EmailVerificationService,
  LoginRateLimited,
  PasswordChangeService,
  PasswordResetRateLimited,
  PasswordResetService,
  Public,
  SessionsService,
  SignInOptional,
  SignupRateLimited,
} from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { mapUser, UserResponseDto } from '../users/user-response.dto';
import {
  AuthEmailChangeAcceptedDto,
  AuthEmailChangeConfirmDto,
  AuthEmailChangeDto,
  AuthEmailVerificationAcceptedDto,
  AuthEmailVerificationConfirmDto,
  AuthLoginDto,
  AuthPasswordChangeDto,
  AuthPasswordResetAcceptedDto,
  AuthPasswordResetConfirmDto,
  AuthPasswordResetRequestDto,
  AuthRefreshDto,
  AuthSignupDto,
  AuthTokensResponseDto,
} from './auth.dto';

/** The one answer to a password-reset request, whether or not the account exists. */
export const PASSWORD_RESET_ACCEPTED = 'if an account has this e-mail, a password reset e-mail is on its way';

/** The answer to a change of e-mail address asked for. */
export const EMAIL_CHANGE_ACCEPTED =
  'an e-mail to confirm the new address is on its way to it; the address changes once its token is sent back';

/** The answer to a verification e-mail request that sent one. */
export const EMAIL_VERIFICATION_ACCEPTED = 'a new e-mail to confirm your address is on its way';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly resets: PasswordResetService,
    private readonly verification: EmailVerificationService,
    private readonly passwords: PasswordChangeService,
    private readonly emailChanges: EmailChangeService,
  ) {}

  /**
   * Creates a user account, not yet verified (`emailVerified: false`), and sends it a "confirm your
   * e-mail address" e-mail with a single-use token valid EMAIL_VERIFICATION_TTL_HOURS. 409 when
   * the e-mail is taken (in any letter case). No `Location`: no route reads an account by its id
   * (the new user reads its own at `GET /users/me` once signed in, a path that is not this account's).
   */
  @Public()
  @SignupRateLimited()
  @Post('signup')
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description: 'Too many signups from this address; see Retry-After',
  })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'the e-mail is already registered' })
  async signup(@Body() body: AuthSignupDto): Promise<UserResponseDto> {
    return mapUser(await this.verification.signup(body));
  }

  /** Trades e-mail and password for an access and a refresh token. */
  @Public()
  @LoginRateLimited()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto, description: 'Too many attempts; see Retry-After' })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'wrong e-mail or password' })
  login(@Body() body: AuthLoginDto): Promise<AuthTokensResponseDto> {
    return this.sessions.login(body.email, body.password);
  }

  /** Trades a refresh token for a new pair; the old one stops working. Reusing it revokes the session. */
  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description: 'the refresh token is unknown, expired, revoked or was used already (its session is revoked)',
  })
  refresh(@Body() body: AuthRefreshDto): Promise<AuthTokensResponseDto> {
    return this.sessions.refresh(body.refreshToken);
  }

  /**
   * Ends the session of this refresh token (its whole family, also when this token was rotated
   * already), as OAuth 2.0 token revocation (RFC 7009): the refresh token is the credential, so no
   * access token is needed, nor read (a client whose access token ran out logs out without
   * refreshing first). 204 alike for a token unknown, expired, revoked, or not a refresh token:
   * nothing is left to end, and nothing is told.
   */
  @Public()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({
    status: 204,
    description:
      'the session of this refresh token has ended, or there was none to end (a token unknown, expired, revoked or not a refresh token: the same answer)',
  })
  async logout(@Body() body: AuthRefreshDto): Promise<void> {
    await this.sessions.logout(body.refreshToken);
  }

  /**
   * Asks for a password-reset e-mail. Always 202 with the same body, whether or not an account has
   * this e-mail, and whether or not a token is issued; for an account, unless it was sent 3 in the
   * last 15 minutes, an e-mail with a single-use token valid PASSWORD_RESET_TTL_MINUTES goes out
   * (its tokens already mailed keep working, up to 3 live ones). 429 only per client address.
   */
  @Public()
  @PasswordResetRateLimited()
  @Post('password-reset')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiResponse({
    status: 202,
    type: AuthPasswordResetAcceptedDto,
    description: 'the same answer whether or not an account has this e-mail',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description: 'Too many requests from this client address; see Retry-After',
  })
  async requestPasswordReset(@Body() body: AuthPasswordResetRequestDto): Promise<AuthPasswordResetAcceptedDto> {
    await this.resets.request(body.email);
    return { message: PASSWORD_RESET_ACCEPTED };
  }

  /**
   * Sets a new password with the token from the password-reset e-mail. The token works once; every
   * session of the account ends (its refresh tokens stop working, its access tokens are refused on
   * every api). 503 when Redis cannot announce the end: nothing changed, the token still works.
   */
  @Public()
  @Post('password-reset/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({ status: 204, description: 'the new password is set; every session of the account has ended' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      'an invalid body, or a token unknown, used (or another of the account was), dropped as the oldest of too many, or expired (one message for all)',
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description: 'Redis cannot announce the end of the sessions: nothing changed, the token still works; retry',
  })
  async confirmPasswordReset(@Body() body: AuthPasswordResetConfirmDto): Promise<void> {
    await this.resets.confirm(body.token, body.password);
  }

  /**
   * Changes the signed-in account's password: `currentPassword` must be its password now (counted
   * as a login attempt from this address: 429 past LOGIN_RATE_LIMIT, with Retry-After);
   * `newPassword` follows signup's rules and is not the account's e-mail address or name. Every
   * session of the account ends (its refresh tokens stop working, its access tokens are refused on
   * every api), this caller's too; the answer is a new token pair, the one session left. 503 when
   * Redis cannot announce the end: nothing changed.
   */
  @ApiBearerAuth()
  @Post('password')
  @HttpCode(HttpStatus.OK)
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description:
      "no valid access token, `currentPassword` is not the account's, or the session ended while the change ran (a change of e-mail address was confirmed: sign in with the new address); nothing changed",
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'too many password attempts for this account from this address, counted with the login; see Retry-After',
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description: 'Redis cannot announce the end of the sessions: nothing changed; retry',
  })
  changePassword(
    @Body() body: AuthPasswordChangeDto,
    @CurrentUser() caller: AuthenticatedUser,
    @Req() request: FastifyRequest,
  ): Promise<AuthTokensResponseDto> {
    return this.passwords.change(caller, body.currentPassword, body.newPassword, String(request.ip));
  }

  /**
   * Sends the signed-in account a new "confirm your e-mail address" e-mail; the tokens already
   * mailed keep working (up to 3 live ones). 202 when it goes out. Past 3 e-mails in 15 minutes
   * (signup's included) 429 TooManyVerificationEmails with Retry-After, the seconds until one may
   * be sent again, and nothing is sent or stored: only the owner asks, so there is nothing to hide.
   * 409 EmailAlreadyVerified when the address is confirmed already: there is nothing to send, and a
   * client can show it.
   */
  @ApiBearerAuth()
  @Post('email-verification')
  @NoBody()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiResponse({
    status: 202,
    type: AuthEmailVerificationAcceptedDto,
    description: 'a new e-mail to confirm the address is on its way',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      "3 e-mails were sent to confirm the address in the last 15 minutes, signup's included (`details.code`: `TooManyVerificationEmails`); nothing sent. Retry-After: the seconds until one may be sent again",
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'the address is confirmed already (`details.code`: `EmailAlreadyVerified`); nothing sent',
  })
  async requestEmailVerification(@CurrentUser() caller: AuthenticatedUser): Promise<AuthEmailVerificationAcceptedDto> {
    await this.verification.request(caller.id);
    return { message: EMAIL_VERIFICATION_ACCEPTED };
  }

  /**
   * Confirms the account's e-mail address with the token from the "confirm your e-mail address"
   * e-mail, and proof that the caller made the account: its access token (Bearer), or its
   * `password` in the body (a page opened on a phone without a session). The token alone proves
   * only the inbox: someone who signed up with another person's address would otherwise own a
   * verified account once that person clicks (account pre-hijacking). The token works once; the
   * account is verified from then on, and the hold, purchase and waiting-room routes let it in at
   * once on the api process that answered, within 2 s on the others.
   */
  @Public()
  @SignInOptional()
  @ApiBearerAuth()
  // Security is optional here: the empty requirement (no sign-in, then the body's password) beside Bearer.
  @ApiSecurity({})
  @Post('email-verification/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({ status: 204, description: 'the address is confirmed' })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      "an invalid body, or a token unknown, used (or another of the account was), dropped as the oldest of too many, voided by a change of e-mail, or expired, or another account's access token (one message for all); nothing changed",
  })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description:
      'neither an access token nor `password` (`details.code`: `VerificationOwnerRequired`; someone who did not sign up resets the password instead), a wrong `password`, or an access token that is not valid; nothing changed, the token still works',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'too many password attempts for this account from this address, counted with the login; see Retry-After',
  })
  async confirmEmailVerification(
    @Body() body: AuthEmailVerificationConfirmDto,
    @CurrentUser() caller: AuthenticatedUser | undefined,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.verification.confirm(body.token, {
      callerId: caller?.id,
      password: body.password,
      clientIp: String(request.ip),
    });
  }

  /**
   * Asks to change the signed-in account's e-mail address to `newEmail`, with the account's
   * `password` (counted as a login attempt from this address: 429 past LOGIN_RATE_LIMIT). A
   * single-use token valid EMAIL_VERIFICATION_TTL_HOURS goes to the NEW address, a notice to the
   * current one; the address changes only once the token comes back (`POST /auth/email/confirm`).
   * Limited per client address as signup is (SIGNUP_RATE_LIMIT a minute) and to 3 requests per
   * account in 15 minutes (429 TooManyEmailChanges with Retry-After). 409 when another account has
   * the address, as signup answers.
   */
  @ApiBearerAuth()
  @EmailChangeRateLimited()
  @Post('email')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiResponse({
    status: 202,
    type: AuthEmailChangeAcceptedDto,
    description: 'the token is on its way to the new address, a notice to the current one; nothing changed yet',
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: 'an invalid body or address, or the address of this account already (`SameEmail`)',
  })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description: "no valid access token, or `password` is not the account's (nothing sent)",
  })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'another account has this address (as signup answers)' })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'too many changes asked for from this client address (SIGNUP_RATE_LIMIT), too many password attempts for this account from it (counted with the login), or 3 changes asked for by the account in 15 minutes (`details.code`: `TooManyEmailChanges`); see Retry-After',
  })
  async requestEmailChange(
    @Body() body: AuthEmailChangeDto,
    @CurrentUser() caller: AuthenticatedUser,
    @Req() request: FastifyRequest,
  ): Promise<AuthEmailChangeAcceptedDto> {
    await this.emailChanges.request(caller.id, body.password, body.newEmail, String(request.ip));
    return { message: EMAIL_CHANGE_ACCEPTED };
  }

  /**
   * Sets the new address with the token from the "confirm your new e-mail address" e-mail, and
   * proof that the caller is the account: its access token (Bearer) or its `password`, as the
   * verification confirm takes. The account is verified for the new address; its verification and
   * reset tokens (mailed to the old one) stop working; every session of the account ends, this
   * caller's too (access tokens name the address): sign in again with the new address. A notice
   * goes to the old address. 409 when another account took the address first (of two accounts
   * confirming one address, exactly one wins); the token still works then, for nothing.
   */
  @Public()
  @SignInOptional()
  @ApiBearerAuth()
  @ApiSecurity({})
  @Post('email/confirm')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({
    status: 204,
    description: 'the address is changed and confirmed; every session of the account has ended',
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      "an invalid body, or a token unknown, used (or another of the account's was), replaced, voided by a change of password or of the address (by hand too), or expired, or another account's access token (one message for all); nothing changed",
  })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description:
      'neither an access token nor `password` (`details.code`: `VerificationOwnerRequired`), a wrong `password`, or an access token that is not valid; nothing changed, the token still works',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'another account has this address now; nothing changed',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'too many password attempts for this account from this address, counted with the login; see Retry-After',
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description: 'Redis cannot announce the end of the sessions: nothing changed, the token still works; retry',
  })
  async confirmEmailChange(
    @Body() body: AuthEmailChangeConfirmDto,
    @CurrentUser() caller: AuthenticatedUser | undefined,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.emailChanges.confirm(body.token, {
      callerId: caller?.id,
      password: body.password,
      clientIp: String(request.ip),
    });
  }
}
