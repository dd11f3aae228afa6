import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { CatalogService } from '@app/ticketing';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { PerformanceDetailDto, SeatPageDto, SeatQueryDto } from './performance.dto';

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
  seats(@Param('id', ParseIdPipe) id: number, @Query() query: SeatQueryDto): Promise<SeatPageDto> {
    return this.catalog.listSeats(id, { status: query.status, cursor: query.cursor, limit: query.limit });
  }
}
