import { Module } from '@nestjs/common';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { SeatBlocks } from './seat-blocks';
import { SeatBlockStore } from './seat-block.store';

/** Operators' blocked seats. Needs the global Env, DatabaseModule and RedisModule. */
@Module({
  imports: [SeatStateModule, TicketingModule],
  providers: [SeatBlocks, SeatBlockStore],
  exports: [SeatBlocks],
})
export class SeatBlocksModule {}
