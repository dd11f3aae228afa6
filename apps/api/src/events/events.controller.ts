import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Public, Role, Roles } from '@app/auth';
import { EventService, PerformanceService, toDateTime } from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import {
  lifecycleInput,
  mapPerformance,
  PerformanceCreateDto,
  PerformancePageDto,
  PerformanceResponseDto,
} from '../performances/performance.dto';
import { EventCreateDto, EventPageDto, EventResponseDto, EventUpdateDto, mapEvent } from './event.dto';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(
    private readonly events: EventService,
    private readonly performances: PerformanceService,
  ) {}

  /** Creates an event (admin). */
  @Post()
  @ApiBearerAuth()
  @Roles(Role.Admin)
  async create(@Body() body: EventCreateDto): Promise<EventResponseDto> {
    return mapEvent(await this.events.createEvent(body));
  }

  /** Events by id, keyset-paginated. */
  @Get()
  @Public()
  async list(@Query() query: PageQueryDto): Promise<EventPageDto> {
    const page = await this.events.listEvents(query.cursor, query.limit);
    return { items: page.items.map(mapEvent), nextCursor: page.nextCursor };
  }

  /** One event. */
  @Get(':id')
  @Public()
  async get(@Param('id', ParseIdPipe) id: number): Promise<EventResponseDto> {
    return mapEvent(await this.events.getEvent(id));
  }

  /** Changes the given fields of an event (admin). */
  @Patch(':id')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  async update(@Param('id', ParseIdPipe) id: number, @Body() body: EventUpdateDto): Promise<EventResponseDto> {
    return mapEvent(await this.events.updateEvent(id, body));
  }

  /** Refused with 409 while any performance of the event has sold seats. */
  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth()
  @Roles(Role.Admin)
  remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.events.deleteEvent(id);
  }

  /**
   * Creates the performance and generates all its seats from the layout. Takes the lifecycle
   * fields of `PATCH /performances/:id` (salesCloseAt, cancelUntil, status) with the same rules.
   */
  @Post(':id/performances')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  async createPerformance(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: PerformanceCreateDto,
  ): Promise<PerformanceResponseDto> {
    const performance = await this.performances.createPerformance(id, {
      startsAt: toDateTime(body.startsAt, 'startsAt'),
      salesOpenAt: body.salesOpenAt === undefined ? undefined : toDateTime(body.salesOpenAt, 'salesOpenAt'),
      ...lifecycleInput(body),
      sections: body.sections,
    });
    return mapPerformance(performance);
  }

  /** The event's performances by start time, keyset-paginated. */
  @Get(':id/performances')
  @Public()
  async listPerformances(
    @Param('id', ParseIdPipe) id: number,
    @Query() query: PageQueryDto,
  ): Promise<PerformancePageDto> {
    const page = await this.performances.listPerformances(id, query.cursor, query.limit);
    return { items: page.items.map(mapPerformance), nextCursor: page.nextCursor };
  }
}
