import { Module } from '@nestjs/common';
import { TicketingModule } from '../ticketing.module';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module';
import { SeatStateRebuilder } from './seat-state-rebuilder';

/**
 * Rebuilding a performance's live seat state from PostgreSQL when Redis lost it, for the modules
 * that read or change it (catalog reads and holds, cancellations). Needs the global Env, Clock
 * (CoreModule), DatabaseModule and RedisModule.
 */
@Module({
  imports: [TicketingModule, WaitingRoomModule],
  providers: [SeatStateRebuilder],
  exports: [SeatStateRebuilder],
})
export class SeatStateModule {}
