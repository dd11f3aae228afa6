import { Module } from '@nestjs/common';
import { HoldService } from './holds/hold.service';
import { HoldSweepLoop } from './holds/hold-sweep.loop';
import { HoldSweeper } from './holds/hold-sweeper';
import { ApprovingPaymentGateway, PaymentGateway } from './purchases/payment-gateway';
import { PurchaseFlushLoop } from './purchases/purchase-flush.loop';
import { PurchaseFlusher } from './purchases/purchase-flusher';
import { PurchaseService } from './purchases/purchase.service';
import { SeatStateStore } from './seats/seat-state.store';

/**
 * The ticketing rules. Needs the global `Env` (ConfigModule), `Redis` (RedisModule) and the
 * repositories (DatabaseModule). Payments go through `PaymentGateway`, approving by default:
 * override that provider to use another gateway.
 */
@Module({
  providers: [
    SeatStateStore,
    HoldService,
    HoldSweeper,
    HoldSweepLoop,
    { provide: PaymentGateway, useClass: ApprovingPaymentGateway },
    PurchaseService,
    PurchaseFlusher,
    PurchaseFlushLoop,
  ],
  exports: [
    SeatStateStore,
    HoldService,
    HoldSweeper,
    HoldSweepLoop,
    PaymentGateway,
    PurchaseService,
    PurchaseFlusher,
    PurchaseFlushLoop,
  ],
})
export class TicketingModule {}
