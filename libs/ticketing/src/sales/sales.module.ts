import { Module } from '@nestjs/common';
import { SalesReportService } from './sales-report.service';
import { SalesStore } from './sales.store';
import { SeatStateModule } from '../seats/seat-state.module';

/** Sales reports for operators. Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [SeatStateModule],
  providers: [SalesStore, SalesReportService],
  exports: [SalesReportService],
})
export class SalesModule {}
