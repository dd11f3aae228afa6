import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Public, Role, Roles } from '@app/auth';
import { CatalogService, toDateTime } from '@app/ticketing';
import { PageQueryDto } from '../common/page-query.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { PerformanceCreateDto, PerformancePageDto, PerformanceResponseDto } from '../performances/performance.dto';
import { EventCreateDto, EventPageDto, EventResponseDto, EventUpdateDto } from './event.dto';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly catalog: CatalogService) {}

  /** Creates an event (admin). */
  @Post()
  @ApiBearerAuth()
  @Roles(Role.Admin)
  create(@Body() body: EventCreateDto): Promise<EventResponseDto> {
    return this.catalog.createEvent(body);
  }

  /** Events by id, keyset-paginated. */
  @Get()
  @Public()
  list(@Query() query: PageQueryDto): Promise<EventPageDto> {
    return this.catalog.listEvents(query.cursor, query.limit);
  }

  /** One event. */
  @Get(':id')
  @Public()
  get(@Param('id', ParseIdPipe) id: number): Promise<EventResponseDto> {
    return this.catalog.getEvent(id);
  }

  /** Changes the given fields of an event (admin). */
  @Patch(':id')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  update(@Param('id', ParseIdPipe) id: number, @Body() body: EventUpdateDto): Promise<EventResponseDto> {
    return this.catalog.updateEvent(id, body);
  }

  /** Refused with 409 while any performance of the event has sold seats. */
  @Delete(':id')
  @HttpCode(204)
  @ApiBearerAuth()
  @Roles(Role.Admin)
  remove(@Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.catalog.deleteEvent(id);
  }

  /** Creates the performance and generates all its seats from the layout. */
  @Post(':id/performances')
  @ApiBearerAuth()
  @Roles(Role.Admin)
  createPerformance(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: PerformanceCreateDto,
  ): Promise<PerformanceResponseDto> {
    return this.catalog.createPerformance(id, {
      startsAt: toDateTime(body.startsAt, 'startsAt'),
      salesOpenAt: body.salesOpenAt === undefined ? undefined : toDateTime(body.salesOpenAt, 'salesOpenAt'),
      sections: body.sections,
    });
  }

  /** The event's performances by start time, keyset-paginated. */
  @Get(':id/performances')
  @Public()
  listPerformances(@Param('id', ParseIdPipe) id: number, @Query() query: PageQueryDto): Promise<PerformancePageDto> {
    return this.catalog.listPerformances(id, query.cursor, query.limit);
  }
}
