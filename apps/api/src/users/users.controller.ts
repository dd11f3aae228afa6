import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AccountDeletionService, AccountsService, AuthenticatedUser, CurrentUser } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { AccountDeleteDto } from './account-delete.dto';
import { mapUser, UserResponseDto } from './user-response.dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly deletion: AccountDeletionService,
  ) {}

  /** The caller's own account. */
  @Get('me')
  async me(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    return mapUser(await this.accounts.getOwnAccount(caller.id));
  }

  /**
   * Deletes the caller's account (GDPR Art. 17), with its password: the account is anonymised (its
   * address `deleted-<id>@invalid`, free to sign up with again; no name; no usable password), every
   * session of it ends (this caller's too), its live holds are released, and its past purchases and
   * tickets stay for the books. Refused with 409 while it has purchases or tickets of performances
   * still to come, or a payment in progress (listed in `details`), and for the admin of ADMIN_EMAIL
   * or the last admin. 503 when Redis cannot announce the end of the sessions: nothing changed.
   */
  @Delete('me')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiResponse({ status: 204, description: 'the account is deleted; its sessions have ended' })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description: "no valid access token, or `password` is not the account's (nothing changed)",
  })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      '`details.code` AccountHasOpenPurchases (with `purchaseIds`, `ticketIds`, `paymentsInProgress`): purchases or ' +
      'tickets of performances still to come, or a payment in progress; BootstrapAdmin: the admin of ADMIN_EMAIL; ' +
      'LastAdmin: the last admin account. Nothing changed',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description:
      'too many password attempts for this account from this address, counted with the login; see Retry-After',
  })
  @ApiResponse({
    status: 503,
    type: ErrorBodyDto,
    description: 'Redis cannot answer: nothing changed; retry',
  })
  async deleteMe(
    @Body() body: AccountDeleteDto,
    @CurrentUser() caller: AuthenticatedUser,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.deletion.deleteOwn(caller.id, body.password, String(request.ip));
  }
}
