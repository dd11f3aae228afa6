import { Module } from '@nestjs/common';
import { TicketingModule } from '../ticketing.module';
import { CatalogCache } from './catalog-cache';
import { CatalogService } from './catalog.service';
import { LocalCatalog } from './local-catalog';
import { ReservationService } from '../reservations/reservation.service';

/** Events, performances, seats and reservations. Needs the global DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule],
  providers: [
    CatalogService,
    CatalogCache,
    { provide: LocalCatalog, useFactory: () => new LocalCatalog() },
    ReservationService,
  ],
  exports: [CatalogService, ReservationService],
})
export class CatalogModule {}
