import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public, Role, Roles } from '@app/auth';
import { InvalidInputError, PerformanceService, SeatPageService, toDateTime } from '@app/ticketing';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  mapPerformance,
  mapPerformanceDetail,
  PerformanceDetailDto,
  PerformanceResponseDto,
  PerformanceUpdateDto,
  SeatPageDto,
  SeatQueryDto,
} from './performance.dto';
import { seatPageJson } from './seat-page-json';

@ApiTags('performances')
@Controller('performances')
export class PerformancesController {
  constructor(
    private readonly performances: PerformanceService,
    private readonly seatPages: SeatPageService,
  ) {}

  /** With live `available`, `held` and `sold` counts. */
  @Get(':id')
  @Public()
  async get(@Param('id', ParseIdPipe) id: number): Promise<PerformanceDetailDto> {
    return mapPerformanceDetail(await this.performances.getPerformance(id));
  }

  /**
   * Seats in layout order with their live status. With `status`, `section`, `grade`, `minPrice`
   * or `maxPrice` (all combinable), a page may hold fewer than `limit` seats while `nextCursor`
   * is still set: keep following it, with the same filters (a cursor of a filtered page is a 400
   * with other filters).
   */
  @Get(':id/seats')
  @Public()
  @ApiOkResponse({ type: SeatPageDto })
  // The body is a SeatPageDto already serialised (seatPageJson): Fastify sends a string as is.
  @Header('content-type', 'application/json; charset=utf-8')
  async seats(@Param('id', ParseIdPipe) id: number, @Query() query: SeatQueryDto): Promise<string> {
    return seatPageJson(
      await this.seatPages.listSeats(id, {
        status: query.status,
        cursor: query.cursor,
        limit: query.limit,
        filter: {
          section: query.section,
          grade: query.grade,
          minPrice: query.minPrice === undefined ? undefined : Number(query.minPrice),
          maxPrice: query.maxPrice === undefined ? undefined : Number(query.maxPrice),
        },
      }),
    );
  }

  /**
   * Changes times and sales status (admin). Once this answers, PAUSED or CLOSED (or a past
   * salesCloseAt) refuses holds and purchases with 409 on every replica. Times keep the order
   * salesOpenAt < salesCloseAt ≤ startsAt, cancelUntil ≤ startsAt (400 otherwise).
   */
  @Patch(':id')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  async update(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: PerformanceUpdateDto,
  ): Promise<PerformanceResponseDto> {
    const { startsAt, salesOpenAt, salesCloseAt, cancelUntil, status } = body;
    if ([startsAt, salesOpenAt, salesCloseAt, cancelUntil, status].every((field) => field === undefined)) {
      throw new InvalidInputError('give at least one of startsAt, salesOpenAt, salesCloseAt, cancelUntil, status');
    }
    const time = (value: string | null | undefined, field: string) =>
      value === undefined || value === null ? value : toDateTime(value, field);
    const performance = await this.performances.updatePerformance(id, {
      startsAt: time(startsAt, 'startsAt') ?? undefined,
      salesOpenAt: time(salesOpenAt, 'salesOpenAt') ?? undefined,
      salesCloseAt: time(salesCloseAt, 'salesCloseAt'),
      cancelUntil: time(cancelUntil, 'cancelUntil'),
      status,
    });
    return mapPerformance(performance);
  }

  /** Deletes a performance that has no sales (admin); 409 once any seat was sold. */
  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth()
  @Roles(Role.Admin)
  remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.performances.deletePerformance(id);
  }
}
