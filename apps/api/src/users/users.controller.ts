import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AccountsService, AuthenticatedUser, CurrentUser } from '@app/auth';
import { mapUser, UserResponseDto } from './user-response.dto';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly accounts: AccountsService) {}

  /** The caller's own account. */
  @Get('me')
  async me(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    return mapUser(await this.accounts.getOwnAccount(caller.id));
  }
}
