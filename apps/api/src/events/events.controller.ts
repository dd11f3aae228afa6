import { Body, Controller, Get, HttpCode, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedUser, CurrentUser, Public, Role, Roles } from '@app/auth';
import { Clock } from '@app/core';
import { EventService, InvalidInputError, PerformanceService, toDateTime } from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { IdParam } from '../common/parse-id.pipe';
import {
  lifecycleInput,
  mapPerformance,
  ONE_START,
  PerformanceCreateDto,
  PerformancePageDto,
  PerformanceResponseDto,
} from '../performances/performance.dto';
import {
  EventCreateDto,
  EventDetailDto,
  EventPageDto,
  EventQueryDto,
  EventResponseDto,
  EventUpdateDto,
  mapEvent,
  mapEventDetail,
} from './event.dto';
import { AdminDeleteById } from '../common/admin-delete';
import { ErrorBodyDto } from '../common/error-body.dto';
import { ApiCreatedAt, resourcePath } from '../common/location';

const EVENT_PATH = resourcePath('events');
const PERFORMANCE_PATH = resourcePath('performances');

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(
    private readonly events: EventService,
    private readonly performances: PerformanceService,
    private readonly clock: Clock,
  ) {}

  /** Creates an event (admin); the 201 answer's `Location` is `/api/v1/events/<id>`. */
  @Post()
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiCreatedAt({ type: EventResponseDto, description: 'the event', readBy: '/events/{id}' })
  async create(
    @CurrentUser() operator: AuthenticatedUser,
    @Body() body: EventCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EventResponseDto> {
    const event = mapEvent(await this.events.createEvent(body, operator));
    reply.header('location', EVENT_PATH + event.id);
    return event;
  }

  /**
   * Finds events by date and text. Without `from`, upcoming events: those with a performance
   * starting now or later. Ordered by first performance start, then id; keyset pages. 400 for a
   * bad date, `from` after `to`, or a `q` over 100 characters.
   */
  @Get()
  @Public()
  async list(@Query() query: EventQueryDto): Promise<EventPageDto> {
    const page = await this.events.searchEvents({
      from: query.from === undefined ? undefined : toDateTime(query.from, 'from'),
      to: query.to === undefined ? undefined : toDateTime(query.to, 'to'),
      q: query.q,
      cursor: query.cursor,
      limit: query.limit,
    });
    return { items: page.items.map(mapEventDetail), nextCursor: page.nextCursor };
  }

  /** One event, with its first and last performance start and how many performances it has. */
  @Get(':id')
  @Public()
  async get(@IdParam() id: number): Promise<EventDetailDto> {
    return mapEventDetail(await this.events.getEvent(id));
  }

  /**
   * Changes the given fields of an event (admin); 400 when it gives none. A new `timeZone` is
   * refused (409 TimeZoneFixed) once a performance of the event has a purchase or a live hold.
   */
  @Patch(':id')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'TimeZoneFixed: a new `timeZone` while a performance of the event has a purchase (sale, comp or box office sale, whatever its status) or a live hold: its buyers were told its times in the current zone. To correct a wrong start, move the performance (`PATCH /performances/:id` with `startsAtLocal` or `startsAt`). `details.performanceId`, `details.timeZone`',
  })
  async update(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: EventUpdateDto,
  ): Promise<EventResponseDto> {
    // `currency` is declared only to be refused (EventUpdateDto); it is never a change.
    const { currency: _currency, ...changes } = body;
    if (Object.values(changes).every((field) => field === undefined)) {
      throw new InvalidInputError('nothing to change: give at least one of title, description, venue, timeZone');
    }
    return mapEvent(await this.events.updateEvent(id, changes, operator));
  }

  /** Refused with 409 while any performance of the event has sold seats or any purchase (also a canceled one). */
  @AdminDeleteById(
    'a performance of it has sold seats or any purchase (also a canceled one): "event has purchases and cannot be deleted"',
  )
  @HttpCode(204)
  remove(@CurrentUser() operator: AuthenticatedUser, @IdParam() id: number): Promise<void> {
    return this.events.deleteEvent(id, operator);
  }

  /**
   * Creates the performance and generates all its seats from the layout. Takes the lifecycle
   * fields of `PATCH /performances/:id` (salesCloseAt, cancelUntil, status) with the same rules.
   * The 201 answer's `Location` is `/api/v1/performances/<id>`.
   */
  @Post(':id/performances')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  @ApiCreatedAt({ type: PerformanceResponseDto, description: 'the performance', readBy: '/performances/{id}' })
  async createPerformance(
    @CurrentUser() operator: AuthenticatedUser,
    @IdParam() id: number,
    @Body() body: PerformanceCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PerformanceResponseDto> {
    if ((body.startsAt === undefined) === (body.startsAtLocal === undefined)) throw new InvalidInputError(ONE_START);
    const performance = await this.performances.createPerformance(
      id,
      {
        startsAt: body.startsAt === undefined ? undefined : toDateTime(body.startsAt, 'startsAt'),
        startsAtLocal: body.startsAtLocal,
        salesOpenAt: body.salesOpenAt === undefined ? undefined : toDateTime(body.salesOpenAt, 'salesOpenAt'),
        ...lifecycleInput(body),
        sections: body.sections,
        focalPoint: body.focalPoint,
      },
      operator,
    );
    reply.header('location', PERFORMANCE_PATH + performance.id);
    return mapPerformance(performance, this.clock.nowMs(), this.performances.checkInWindow(performance));
  }

  /** The event's performances by start time, keyset-paginated. */
  @Get(':id/performances')
  @Public()
  async listPerformances(@IdParam() id: number, @Query() query: PageQueryDto): Promise<PerformancePageDto> {
    const page = await this.performances.listPerformances(id, query.cursor, query.limit);
    const nowMs = this.clock.nowMs();
    return {
      items: page.items.map((performance) =>
        mapPerformance(performance, nowMs, this.performances.checkInWindow(performance)),
      ),
      nextCursor: page.nextCursor,
    };
  }
}
