import { Module } from '@nestjs/common';
import { AttendeeList } from './attendee-list';
import { DoorCounts } from './door-counts';
import { SalesReportService } from './sales-report.service';
import { SalesStore } from './sales.store';
import { SeatStateModule } from '../seats/seat-state.module';

/** Sales reports, door lists and the door's live count for operators. Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [SeatStateModule],
  providers: [SalesStore, SalesReportService, AttendeeList, DoorCounts],
  exports: [SalesReportService, AttendeeList, DoorCounts],
})
export class SalesModule {}
