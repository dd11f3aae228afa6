import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, EnvSource } from '@app/config';
import { CoreModule } from '@app/core';
import { DatabaseModule } from '@app/database';
import { MessagingModule, OutboxRelayModule } from '@app/messaging';
import { RedisModule, ReplicaWatch } from '@app/redis';
import {
  CancellationsModule,
  PurchasesModule,
  RescheduleNoticesModule,
  TicketingModule,
  WaitingRoomModule,
} from '@app/ticketing';
import { AuthEventPruneLoop } from './loops/auth-event-prune.loop';
import { BulkRefundLoop } from './loops/bulk-refund.loop';
import { EmailDeliveryPruneLoop } from './loops/email-delivery-prune.loop';
import { RescheduleNoticeLoop } from './loops/reschedule-notice.loop';
import { HoldSweepLoop } from './loops/hold-sweep.loop';
import { OutboxRelayLoop } from './loops/outbox-relay.loop';
import { PaymentReconcileLoop } from './loops/payment-reconcile.loop';
import { PurchaseFlushLoop } from './loops/purchase-flush.loop';
import { RefreshTokenPruneLoop } from './loops/refresh-token-prune.loop';
import { SeatReconcileLoop } from './loops/seat-reconcile.loop';
import { WaitingRoomAdmitLoop } from './loops/waiting-room-admit.loop';

/** The background worker: same libraries as the API, no HTTP; its loops call them. */
@Module({})
export class BatchModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return {
      module: BatchModule,
      imports: [
        ConfigModule.forRoot(overrides),
        CoreModule,
        DatabaseModule,
        RedisModule,
        MessagingModule,
        TicketingModule,
        PurchasesModule,
        OutboxRelayModule,
        WaitingRoomModule,
        CancellationsModule,
        RescheduleNoticesModule,
      ],
      providers: [
        HoldSweepLoop,
        PurchaseFlushLoop,
        OutboxRelayLoop,
        PaymentReconcileLoop,
        WaitingRoomAdmitLoop,
        SeatReconcileLoop,
        BulkRefundLoop,
        RescheduleNoticeLoop,
        RefreshTokenPruneLoop,
        AuthEventPruneLoop,
        EmailDeliveryPruneLoop,
        ReplicaWatch,
      ],
    };
  }
}
