import { Module } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { AdminPurchases } from './admin-purchases';
import { BuyerLiveState } from './buyer-live-state';
import { ClaimRenewals } from './claim-renewals';
import { DeadAcceptMarks } from './dead-accept-marks';
import { WindowRefunds } from './window-refunds';
import { IdempotencyStore } from './idempotency.store';
import { ApprovingPaymentGateway, PaymentGateway } from './payment-gateway';
import { PaymentReconciler } from './payment-reconciler';
import { PurchaseCancellation } from './purchase-cancellation';
import { PurchaseCheckout } from './purchase-checkout';
import { PurchaseFlusher } from './purchase-flusher';
import { PurchaseFlushStore } from './purchase-flush.store';
import { PurchaseReader } from './purchase-reader';
import { PurchaseService } from './purchase.service';
import { PurchaseStore } from './purchase.store';
import { SandboxPaymentGateway } from './sandbox-payment-gateway';
import { SeatReconcileStore } from '../seats/seat-reconcile.store';
import { SalesClosureSettler } from '../seats/sales-closure-settler';
import { SeatReconciler } from '../seats/seat-reconciler';
import { SeatStateModule } from '../seats/seat-state.module';
import { TicketingModule } from '../ticketing.module';

/**
 * Buying holds and writing purchases behind to PostgreSQL. Needs the global `Env`
 * (ConfigModule), `Clock` (CoreModule), `Redis` (RedisModule) and repositories (DatabaseModule); a
 * cancel rebuilds a performance Redis lost (SeatStateModule); the seat reconciler settles closures
 * to sales (TicketingModule's SeatStateStore). Payments go through
 * `PaymentGateway`: ApprovingPaymentGateway, or SandboxPaymentGateway with PAYMENT_GATEWAY=sandbox;
 * override that provider to use another gateway.
 */
@Module({
  imports: [SeatStateModule, TicketingModule],
  providers: [
    {
      provide: PaymentGateway,
      inject: [Env, Redis],
      useFactory: (env: Env, redis: Redis): PaymentGateway =>
        env.PAYMENT_GATEWAY === 'sandbox' ? new SandboxPaymentGateway(redis) : new ApprovingPaymentGateway(env),
    },
    PurchaseStore,
    IdempotencyStore,
    ClaimRenewals,
    PurchaseCheckout,
    PurchaseService,
    PurchaseReader,
    PurchaseCancellation,
    DeadAcceptMarks,
    PurchaseFlushStore,
    PurchaseFlusher,
    PaymentReconciler,
    SeatReconcileStore,
    SalesClosureSettler,
    SeatReconciler,
    AdminPurchases,
    WindowRefunds,
    BuyerLiveState,
  ],
  exports: [
    BuyerLiveState,
    PaymentGateway,
    PurchaseFlushStore,
    PurchaseService,
    PurchaseReader,
    PurchaseCancellation,
    PurchaseFlusher,
    PaymentReconciler,
    SeatReconciler,
    AdminPurchases,
    WindowRefunds,
    PurchaseStore,
    DeadAcceptMarks,
  ],
})
export class PurchasesModule {}
