import { Controller, Delete, HttpCode, HttpStatus } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AccountDeletionService, AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { UuidParam } from '../common/parse-id.pipe';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly deletion: AccountDeletionService) {}

  /**
   * Deletes an account on its owner's request (admin only; GDPR Art. 17), as `DELETE /users/me`
   * does without the password: anonymised, its sessions ended, its live holds released, its past
   * purchases and tickets kept. 404 when no live account has this id (a deleted one is none); 409
   * as `DELETE /users/me` (cancel or refund its purchases of performances still to come first).
   * Recorded in the audit log (`account.delete`, the admin the actor).
   */
  @Delete(':id')
  @NoBody()
  @HttpCode(HttpStatus.NO_CONTENT)
  @Roles(Role.Admin)
  @ApiResponse({ status: 204, description: 'the account is deleted; its sessions have ended' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no live account has this id' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description:
      '`details.code` AccountHasOpenPurchases (with `purchaseIds`, `ticketIds`, `paymentsInProgress`), ' +
      'BootstrapAdmin or LastAdmin, as DELETE /users/me. Nothing changed',
  })
  @ApiResponse({ status: 503, type: ErrorBodyDto, description: 'Redis cannot answer: nothing changed; retry' })
  async delete(@UuidParam() id: string, @CurrentUser() admin: AuthenticatedUser): Promise<void> {
    await this.deletion.deleteByAdmin(id, admin);
  }
}
