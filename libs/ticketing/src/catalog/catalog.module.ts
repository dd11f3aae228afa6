import { Module } from '@nestjs/common';
import { TicketingModule } from '../ticketing.module';
import { CatalogCache } from './catalog-cache';
import { CatalogService } from './catalog.service';

/** Events, performances and seats. Needs the global DatabaseModule and RedisModule. */
@Module({
  imports: [TicketingModule],
  providers: [CatalogService, CatalogCache],
  exports: [CatalogService],
})
export class CatalogModule {}
