import { Body, Controller, Get, HttpCode, Header, Headers, Patch, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiHeader,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, Public, Role, Roles } from '@app/auth';
import { Clock } from '@app/core';
import {
  InvalidInputError,
  PERFORMANCE_CHANGE_FIELDS,
  PerformanceService,
  salesStateAt,
  SeatMapService,
  SeatPageService,
  toScheduleTime,
} from '@app/ticketing';
import { IdParam } from '../common/parse-id.pipe';
import {
  lifecycleInput,
  mapPerformance,
  ONE_START,
  PerformanceDetailDto,
  PerformanceResponseDto,
  PerformanceUpdateDto,
  SeatMapDto,
  SeatPageDto,
  SeatQueryDto,
} from './performance.dto';
import { performanceDetailJson } from './performance-detail-json';
import { ifNoneMatchHits, seatMapEtag, seatMapJson } from './seat-map-json';
import { seatPageBody } from './seat-page-json';
import { AdminDeleteById } from '../common/admin-delete';
import { ErrorBodyDto } from '../common/error-body.dto';

@ApiTags('performances')
@Controller('performances')
export class PerformancesController {
  constructor(
    private readonly performances: PerformanceService,
    private readonly seatPages: SeatPageService,
    private readonly seatMaps: SeatMapService,
    private readonly clock: Clock,
  ) {}

  /** With live `available`, `held`, `sold` and `blocked` counts, and `salesState` as of this answer. */
  @Get(':id')
  @Public()
  @ApiOkResponse({ type: PerformanceDetailDto })
  // The body is a PerformanceDetailDto already serialised (performanceDetailJson): Fastify sends it as is.
  @Header('content-type', 'application/json; charset=utf-8')
  async get(@IdParam() id: number): Promise<string> {
    const { performance, counts } = await this.performances.getPerformance(id);
    return performanceDetailJson(performance, counts, this.clock.nowMs(), (of) => this.performances.checkInWindow(of));
  }

  /**
   * Seats in layout order with their live status. With `status`, `section`, `grade`, `minPrice`
   * or `maxPrice` (all combinable), a page may hold fewer than `limit` seats while `nextCursor`
   * is still set: keep following it, with the same filters (a cursor of a filtered page is a 400
   * with other filters). A `section` or `grade` the performance does not have is a 404 (`section
   * not found` / `grade not found`, details naming it), as a best-available hold answers it; a
   * known one with no seat left still lists (its seats, or none with `status`).
   */
  @Get(':id/seats')
  @Public()
  @ApiOkResponse({ type: SeatPageDto })
  @ApiResponse({
    status: 404,
    type: ErrorBodyDto,
    description:
      'no such performance; or `section` / `grade` names none of its sections or grades (any casing): `section not found` / `grade not found`, details.section / details.grade, as POST /reservations answers',
  })
  // The body is a SeatPageDto already serialised and encoded (seatPageBody): Fastify sends it as is.
  @Header('content-type', 'application/json; charset=utf-8')
  async seats(@IdParam() id: number, @Query() query: SeatQueryDto): Promise<Buffer> {
    return seatPageBody(
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
   * The whole hall in one answer: sections (name, grade, price, bounds) with their rows and seats
   * (place in map units, quality, accessible, companion) and each seat's live status, and the
   * performance's `salesState` at this answer (as GET /performances/:id: a canceled show's seats
   * may read AVAILABLE, but `CANCELED` says none can be held). The
   * static part is built once per performance and kept in the process; the statuses are read
   * live from Redis. Carries a strong `ETag`; a request whose `If-None-Match` matches gets 304
   * without a body.
   */
  @Get(':id/map')
  @Public()
  @ApiOkResponse({
    type: SeatMapDto,
    headers: { ETag: { description: 'Strong tag of this body.', schema: { type: 'string' } } },
  })
  @ApiNotModifiedResponse({ description: 'The map and every status are as the `If-None-Match` tag says.' })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'An ETag of an earlier answer.' })
  async map(
    @IdParam() id: number,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { map, statuses, performance } = await this.seatMaps.getMap(id);
    const live = { map, statuses, salesState: salesStateAt(performance, this.clock.nowMs()) };
    const etag = seatMapEtag(live);
    // Clients may keep it, but must ask again before using it: the statuses change all the time.
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    if (ifNoneMatchHits(ifNoneMatch, etag)) {
      await reply.status(304).send();
      return;
    }
    await reply.header('content-type', 'application/json; charset=utf-8').send(seatMapJson(live));
  }

  /**
   * Changes times, sales status and rules (admin). Once this answers, PAUSED or CLOSED (or a past
   * salesCloseAt) refuses holds and purchases with 409 on every replica, and holds keep the new
   * ticket limit per buyer. Times keep the order
   * salesOpenAt < salesCloseAt ≤ startsAt, cancelUntil ≤ startsAt (400 otherwise). A new startsAt
   * (a postponed show) sends every buyer whose confirmation went out one e-mail with the new date,
   * in the background (`batch`), and clears the check-ins made before the new start's doors open
   * (its checkInOpensAt), so those tickets admit again once at the new time and their purchases
   * cancel again; a check-in inside the new window (a start corrected by minutes while people are
   * inside) stands, and so does one of a purchase refunded keeping its seat sold. The audit row
   * counts them (details.checkInsCleared).
   */
  @Patch(':id')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'the performance is canceled: nothing of it can change' })
  async update(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: PerformanceUpdateDto,
  ): Promise<PerformanceResponseDto> {
    if (PERFORMANCE_CHANGE_FIELDS.every((field) => body[field] === undefined) && body.startsAtLocal === undefined) {
      throw new InvalidInputError(
        `nothing to change: give at least one of ${PERFORMANCE_CHANGE_FIELDS.join(', ')}, startsAtLocal`,
      );
    }
    const { startsAt, startsAtLocal, salesOpenAt } = body;
    if (startsAt !== undefined && startsAtLocal !== undefined) throw new InvalidInputError(ONE_START);
    const performance = await this.performances.updatePerformance(
      id,
      {
        startsAt: startsAt === undefined ? undefined : toScheduleTime(startsAt, 'startsAt'),
        startsAtLocal,
        salesOpenAt: salesOpenAt === undefined ? undefined : toScheduleTime(salesOpenAt, 'salesOpenAt'),
        ...lifecycleInput(body),
      },
      operator,
    );
    return mapPerformance(performance, this.clock.nowMs(), this.performances.checkInWindow(performance));
  }

  /** Deletes a performance that has no sales (admin); 409 once any seat was sold or while any purchase of it exists. */
  @AdminDeleteById(
    'a seat was sold, or a purchase of it exists (also a canceled or refunded one, written to PostgreSQL or not): "performance has purchases and cannot be deleted"',
  )
  @HttpCode(204)
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description: 'Redis lost the performance again while the delete checked it: retry',
  })
  remove(@CurrentUser() operator: AuthenticatedUser, @IdParam() id: number): Promise<void> {
    return this.performances.deletePerformance(id, operator);
  }
}
