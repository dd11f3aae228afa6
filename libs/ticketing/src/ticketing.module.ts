import { Module } from '@nestjs/common';
import { HoldService } from './holds/hold.service';
import { HoldStore } from './holds/hold.store';
import { HoldSweeper } from './holds/hold-sweeper';
import { HoldSweepStore } from './holds/hold-sweep.store';
import { SeatStateStore } from './seats/seat-state.store';

/** The ticketing rules. Needs the global `Env` (ConfigModule) and `Redis` (RedisModule). */
@Module({
  providers: [SeatStateStore, HoldStore, HoldService, HoldSweepStore, HoldSweeper],
  exports: [SeatStateStore, HoldStore, HoldService, HoldSweeper],
})
export class TicketingModule {}
