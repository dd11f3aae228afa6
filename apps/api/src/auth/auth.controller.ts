import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  AccountsService,
  AuthenticatedUser,
  CurrentUser,
  LoginRateLimited,
  Public,
  SessionsService,
  SignupRateLimited,
} from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { mapUser, UserResponseDto } from '../users/user-response.dto';
import { AuthLoginDto, AuthRefreshDto, AuthSignupDto, AuthTokensResponseDto } from './auth.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
  ) {}

  /** Creates a user account. 409 when the e-mail is taken (in any letter case). */
  @Public()
  @SignupRateLimited()
  @Post('signup')
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description: 'Too many signups from this address; see Retry-After',
  })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'the e-mail is already registered' })
  async signup(@Body() body: AuthSignupDto): Promise<UserResponseDto> {
    return mapUser(await this.accounts.signup(body));
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

  /** Ends the session of this refresh token. */
  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@CurrentUser() caller: AuthenticatedUser, @Body() body: AuthRefreshDto): Promise<void> {
    await this.sessions.logout(caller.id, body.refreshToken);
  }
}
