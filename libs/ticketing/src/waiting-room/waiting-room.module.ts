import { Module } from '@nestjs/common';
import { AdmissionGate } from './admission-gate';
import { WaitingRoomService } from './waiting-room.service';
import { WaitingRoomStore } from './waiting-room.store';

/** Waiting rooms. Needs the global `Env`, `Clock` (CoreModule), `Redis` and DatabaseModule. */
@Module({
  providers: [WaitingRoomStore, WaitingRoomService, AdmissionGate],
  exports: [WaitingRoomStore, WaitingRoomService, AdmissionGate],
})
export class WaitingRoomModule {}
