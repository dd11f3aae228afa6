import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { CatalogService } from '@app/ticketing';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { PerformanceDetailDto, SeatPageDto, SeatQueryDto } from './performance.dto';
import { seatPageJson } from './seat-page-json';

@ApiTags('performances')
@Public()
@Controller('performances')
export class PerformancesController {
  constructor(private readonly catalog: CatalogService) {}

  /** With live `available`, `held` and `sold` counts. */
  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number): Promise<PerformanceDetailDto> {
    return this.catalog.getPerformance(id);
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
      await this.catalog.listSeats(id, { status: query.status, cursor: query.cursor, limit: query.limit }),
    );
  }
}
