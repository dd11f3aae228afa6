import { Module } from '@nestjs/common';
import { HoldService } from './holds/hold.service';
import { HoldSweeper } from './holds/hold-sweeper';
import { SeatStateStore } from './seats/seat-state.store';

/** The ticketing rules. Needs the global `Env` (ConfigModule) and `Redis` (RedisModule). */
@Module({
  providers: [SeatStateStore, HoldService, HoldSweeper],
  exports: [SeatStateStore, HoldService, HoldSweeper],
})
export class TicketingModule {}
