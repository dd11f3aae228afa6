import { Module } from '@nestjs/common';
import { SalesReportService } from './sales-report.service';
import { SalesStore } from './sales.store';

/** Sales reports for operators. Needs the global DatabaseModule and RedisModule. */
@Module({
  providers: [SalesStore, SalesReportService],
  exports: [SalesReportService],
})
export class SalesModule {}
