import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser, Role, Roles } from '@app/auth';
import { MAX_PRESALES_PER_PERFORMANCE, PresaleService, toScheduleTime } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { NoBody } from '../common/no-body';
import { IdParam } from '../common/parse-id.pipe';
import {
  AdminPresaleDto,
  mapAdminPresale,
  PresaleCreateDto,
  PresaleListDto,
  PresaleUpdateDto,
} from '../performances/presale.dto';

/**
 * A performance's presales (admin): windows before its general on-sale (`salesOpenAt`) in which
 * buyers sending the presale's access code may hold (`accessCode` of `POST /reservations`) and buy.
 */
@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin/performances/:id/presales')
export class PresalesController {
  constructor(private readonly presales: PresaleService) {}

  /**
   * Creates a presale: `opensAt < closesAt <= salesOpenAt`, `closesAt` after now; presales may
   * overlap (each code is good in its own window). The code is kept only as a digest and never
   * shown again; compared case-insensitively; one presale's of the performance at most. Audited
   * (`presale.create`, without the code). Allowed until the on-sale. No `Location`: no route reads
   * one presale (the performance's are listed at `GET /admin/performances/:id/presales`).
   */
  @Post()
  @ApiResponse({
    status: 201,
    type: AdminPresaleDto,
    description: 'the presale, without its code, with its `maxSeats` and `seatsTaken` 0',
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description:
      "a name empty, over 100 characters or with control or invisible characters; a time not RFC 3339 with an offset or outside 2000–2199; `opensAt` not before `closesAt`; `closesAt` after the performance's `salesOpenAt`, or not after now; a code not 8–64 printable ASCII characters without spaces; `maxSeats` not an integer 1–1,000,000 (or null); an unknown field",
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description: `sales have opened (presales no longer change); the code is another presale's of this performance; ${MAX_PRESALES_PER_PERFORMANCE} presales already; PerformanceCanceled`,
  })
  async create(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: PresaleCreateDto,
  ): Promise<AdminPresaleDto> {
    const presale = await this.presales.create(
      id,
      {
        name: body.name,
        opensAt: toScheduleTime(body.opensAt, 'opensAt'),
        closesAt: toScheduleTime(body.closesAt, 'closesAt'),
        code: body.code,
        maxSeats: body.maxSeats ?? null,
      },
      { id: operator.id, email: operator.email },
    );
    return mapAdminPresale(presale);
  }

  /**
   * The performance's presales in opening order; never their codes. Each with its allocation
   * (`maxSeats`) and the seats taken under it (`seatsTaken`: held and sold, less those given back).
   */
  @Get()
  @ApiResponse({ status: 200, type: PresaleListDto })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async list(@IdParam() id: number): Promise<PresaleListDto> {
    return { items: (await this.presales.list(id)).map(mapAdminPresale) };
  }

  /**
   * Sets a presale's allocation (`maxSeats`; `null` removes it). The seats taken so far stay
   * counted: lowered to them or below, the allocation lets no further hold in, and nothing held or
   * sold is taken back. Audited (`presale.update`). Allowed until the on-sale.
   */
  @Patch(':presaleId')
  @ApiParam({ name: 'presaleId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } })
  @ApiResponse({
    status: 200,
    type: AdminPresaleDto,
    description: 'the presale with its new allocation and seats taken',
  })
  @ApiResponse({
    status: 400,
    type: ErrorBodyDto,
    description: '`maxSeats` missing, or not an integer 1–1,000,000 or null; an unknown field',
  })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance, or no such presale of it' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description: 'sales have opened (presales no longer change); PerformanceCanceled',
  })
  async update(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Param('presaleId') presaleId: string,
    @Body() body: PresaleUpdateDto,
  ): Promise<AdminPresaleDto> {
    return mapAdminPresale(
      await this.presales.update(id, presaleId, body.maxSeats, { id: operator.id, email: operator.email }),
    );
  }

  /**
   * Deletes a presale: its code lets no new hold in. Holds it let in stay the buyers' until they
   * expire, and their purchases go through. Audited (`presale.delete`). Allowed until the on-sale.
   */
  @Delete(':presaleId')
  @NoBody()
  @HttpCode(204)
  @ApiParam({ name: 'presaleId', schema: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance, or no such presale of it' })
  @ApiResponse({
    status: 409,
    type: ErrorBodyDto,
    description: 'sales have opened (presales no longer change); PerformanceCanceled',
  })
  async remove(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Param('presaleId') presaleId: string,
  ): Promise<void> {
    await this.presales.remove(id, presaleId, { id: operator.id, email: operator.email });
  }
}
