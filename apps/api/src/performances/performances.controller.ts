import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { PerformanceService, SeatPageService } from '@app/ticketing';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { mapPerformanceDetail, PerformanceDetailDto, SeatPageDto, SeatQueryDto } from './performance.dto';
import { seatPageJson } from './seat-page-json';

@ApiTags('performances')
@Public()
@Controller('performances')
export class PerformancesController {
  constructor(
    private readonly performances: PerformanceService,
    private readonly seatPages: SeatPageService,
  ) {}

  /** With live `available`, `held` and `sold` counts. */
  @Get(':id')
  async get(@Param('id', ParseIdPipe) id: number): Promise<PerformanceDetailDto> {
    return mapPerformanceDetail(await this.performances.getPerformance(id));
  }

  /**
   * Seats in layout order with their live status. With `status`, a page may hold fewer than
   * `limit` seats while `nextCursor` is still set: keep following it.
   */
  @Get(':id/seats')
  @ApiOkResponse({ type: SeatPageDto })
  // The body is a SeatPageDto already serialised (seatPageJson): Fastify sends a string as is.
  @Header('content-type', 'application/json; charset=utf-8')
  async seats(@Param('id', ParseIdPipe) id: number, @Query() query: SeatQueryDto): Promise<string> {
    return seatPageJson(
      await this.seatPages.listSeats(id, { status: query.status, cursor: query.cursor, limit: query.limit }),
    );
  }
}
