import { Module } from '@nestjs/common';
import { HoldDesk } from '../holds/hold-desk';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { CheckInClearing } from '../tickets/check-in-clearing';
import { CheckInStore } from '../tickets/check-in.store';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module';
import { PresaleService } from '../presales/presales';
import { PresaleStore } from '../presales/presale.store';
import { BookingDescriber } from './booking-details';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies } from './catalog-copies';
import { EventService } from './event.service';
import { LocalCatalog } from './local-catalog';
import { PerformanceService } from './performance.service';
import { SeatMapService } from './seat-map.service';
import { SeatDirectory } from './seat-directory';
import { SeatPageService } from './seat-page.service';
import { SectionService } from './section.service';
import { SectionStore } from './section.store';

/** Events, performances, their sections and presales, seat pages, seat maps and buyers' holds. Needs the global Env and Clock (CoreModule), DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule, WaitingRoomModule, SeatStateModule],
  providers: [
    EventService,
    PerformanceService,
    SeatPageService,
    SeatMapService,
    CatalogCopies,
    CatalogCache,
    { provide: LocalCatalog, useFactory: () => new LocalCatalog() },
    HoldDesk,
    SectionService,
    SectionStore,
    SeatDirectory,
    BookingDescriber,
    CheckInStore,
    CheckInClearing,
    PresaleService,
    PresaleStore,
  ],
  exports: [
    EventService,
    PerformanceService,
    SeatPageService,
    SeatMapService,
    SeatStateModule,
    HoldDesk,
    SectionService,
    BookingDescriber,
    PresaleService,
  ],
})
export class CatalogModule {}
