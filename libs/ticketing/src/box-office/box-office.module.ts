import { Module } from '@nestjs/common';
import { PurchasesModule } from '../purchases/purchases.module';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { TicketsModule } from '../tickets/tickets.module';
import { BoxOfficeService } from './box-office';
import { CashUpService } from './cash-up';

/** Box office sales at the window and the cash-up of its shifts. Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule, SeatStateModule, PurchasesModule, TicketsModule],
  providers: [BoxOfficeService, CashUpService],
  exports: [BoxOfficeService, CashUpService],
})
export class BoxOfficeModule {}
