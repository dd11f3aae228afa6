import { Module } from '@nestjs/common';
import { PurchasesModule } from '../purchases/purchases.module';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { CompService } from './comps';

/** Comps (complimentary tickets operators issue). Needs the global Env, Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule, SeatStateModule, PurchasesModule],
  providers: [CompService],
  exports: [CompService],
})
export class CompsModule {}
