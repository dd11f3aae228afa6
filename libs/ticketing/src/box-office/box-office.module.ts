import { Module } from '@nestjs/common';
import { PurchasesModule } from '../purchases/purchases.module';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { TicketsModule } from '../tickets/tickets.module';
import { BoxOfficeService } from './box-office';

/** Box office sales at the window. Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule, SeatStateModule, PurchasesModule, TicketsModule],
  providers: [BoxOfficeService],
  exports: [BoxOfficeService],
})
export class BoxOfficeModule {}
