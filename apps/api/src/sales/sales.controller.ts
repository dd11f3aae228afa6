import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Role, Roles } from '@app/auth';
import { SalesReportService } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { IdParam } from '../common/parse-id.pipe';
import { EventSalesDto, mapEventSales, mapPerformanceSales, PerformanceSalesDto } from './sales.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller()
export class SalesController {
  constructor(private readonly reports: SalesReportService) {}

  /**
   * Sales of one performance per section: seats total, available, held and sold, revenue (minor
   * units, with the currency), purchases and cancellations. Exact at the moment it is read,
   * including purchases and cancellations not written to PostgreSQL yet. Admin only.
   */
  @Get('performances/:id/sales')
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such performance' })
  async performance(@IdParam() id: number): Promise<PerformanceSalesDto> {
    return mapPerformanceSales(await this.reports.ofPerformance(id));
  }

  /** The event's performances' sales summed (sections by name), with each performance's report. Admin only. */
  @Get('events/:id/sales')
  @Roles(Role.Admin)
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'no such event' })
  async event(@IdParam() id: number): Promise<EventSalesDto> {
    return mapEventSales(await this.reports.ofEvent(id));
  }
}
