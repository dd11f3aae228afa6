import { Module } from '@nestjs/common';
import { AttendeeList } from './attendee-list';
import { SalesReportService } from './sales-report.service';
import { SalesStore } from './sales.store';
import { SeatStateModule } from '../seats/seat-state.module';

/** Sales reports and door lists for operators. Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [SeatStateModule],
  providers: [SalesStore, SalesReportService, AttendeeList],
  exports: [SalesReportService, AttendeeList],
})
export class SalesModule {}
