import { Module } from '@nestjs/common';
import { CatalogCache } from '../catalog/catalog-cache';
import { PurchasesModule } from '../purchases/purchases.module';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';
import { BulkRefund } from './bulk-refund';
import { PerformanceCancellationStore } from './performance-cancellation.store';
import { PerformanceCancellations } from './performance-cancellations';

/**
 * Canceling performances (the api) and refunding their purchases (`batch`). Needs the global Env,
 * Clock (CoreModule), DatabaseModule and RedisModule.
 */
@Module({
  imports: [TicketingModule, SeatStateModule, PurchasesModule],
  providers: [PerformanceCancellations, PerformanceCancellationStore, BulkRefund, CatalogCache],
  exports: [PerformanceCancellations, BulkRefund],
})
export class CancellationsModule {}
