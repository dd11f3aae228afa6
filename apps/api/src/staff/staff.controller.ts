import { Body, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AccountsService, Role, Roles } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { mapUser, UserResponseDto } from '../users/user-response.dto';
import { StaffCreateDto } from './staff.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/staff')
export class StaffController {
  constructor(private readonly accounts: AccountsService) {}

  /** Creates a door-staff account (role `STAFF`: may check tickets in with `POST /check-in`). Admin only. */
  @Post()
  @Roles(Role.Admin)
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: 'the e-mail is taken' })
  async create(@Body() body: StaffCreateDto): Promise<UserResponseDto> {
    return mapUser(await this.accounts.signup(body, Role.Staff));
  }
}
