import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, Role, Roles, StaffAccountsService } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { PageQueryDto } from '../common/page-query.dto';
import { UuidParam } from '../common/parse-id.pipe';
import { mapUser, UserResponseDto } from '../users/user-response.dto';
import { StaffCreateDto, StaffPageDto } from './staff.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/staff')
export class StaffController {
  constructor(private readonly staff: StaffAccountsService) {}

  /**
   * Creates a door-staff account (role `STAFF`: may check tickets in with `POST /check-in`). Admin
   * only; recorded in the audit log (`staff.create`). No `Location`: no route reads one staff account
   * (they are listed at `GET /admin/staff`).
   */
  @Post()
  @Roles(Role.Admin)
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: 'the e-mail is taken' })
  async create(@Body() body: StaffCreateDto, @CurrentUser() admin: AuthenticatedUser): Promise<UserResponseDto> {
    return mapUser(await this.staff.create(body, admin));
  }

  /** The door-staff accounts, oldest first, keyset-paginated (`?limit=`, `?cursor=`). Admin only. */
  @Get()
  @Roles(Role.Admin)
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: 'a limit out of range, or a cursor this list did not make',
  })
  async list(@Query() query: PageQueryDto): Promise<StaffPageDto> {
    const page = await this.staff.list(query.cursor, query.limit);
    return { items: page.items.map(mapUser), nextCursor: page.nextCursor };
  }

  /**
   * Makes an existing account door staff (admin only): a buyer's account becomes `STAFF` and its
   * sessions end, so the tokens of its next login carry the role. Idempotent for a staff account
   * (nothing changes, nothing recorded); otherwise recorded in the audit log (`staff.grant`). 404
   * when no account has this id, 409 for an admin's.
   */
  @Put(':id')
  @NoBody()
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no account has this id' })
  @ApiResponse({ status: 409, type: ErrorBodyDto, description: 'the account is an admin' })
  async grant(@UuidParam() id: string, @CurrentUser() admin: AuthenticatedUser): Promise<UserResponseDto> {
    return mapUser(await this.staff.grant(id, admin));
  }

  /**
   * Revokes an account's staff role (admin only): it becomes a buyer's account, its sessions end,
   * and the door refuses its scans from this answer on (403), though its access token still names
   * STAFF until it expires. Recorded in the audit log (`staff.revoke`). 404 when the id is no staff
   * account.
   */
  @Delete(':id')
  @NoBody()
  @HttpCode(204)
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no staff account has this id' })
  async revoke(@UuidParam() id: string, @CurrentUser() admin: AuthenticatedUser): Promise<void> {
    await this.staff.revoke(id, admin);
  }
}
