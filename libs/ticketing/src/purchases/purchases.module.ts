import { Module } from '@nestjs/common';
import { ApprovingPaymentGateway, PaymentGateway } from './payment-gateway';
import { PaymentReconcileLoop } from './payment-reconcile.loop';
import { PaymentReconciler } from './payment-reconciler';
import { PurchaseFlushLoop } from './purchase-flush.loop';
import { PurchaseFlusher } from './purchase-flusher';
import { PurchaseService } from './purchase.service';

/**
 * Buying holds and writing purchases behind to PostgreSQL. Needs the global `Env`
 * (ConfigModule), `Redis` (RedisModule) and repositories (DatabaseModule). Payments go through
 * `PaymentGateway`, approving by default: override that provider to use another gateway.
 */
@Module({
  providers: [
    { provide: PaymentGateway, useClass: ApprovingPaymentGateway },
    PurchaseService,
    PurchaseFlusher,
    PurchaseFlushLoop,
    PaymentReconciler,
    PaymentReconcileLoop,
  ],
  exports: [
    PaymentGateway,
    PurchaseService,
    PurchaseFlusher,
    PurchaseFlushLoop,
    PaymentReconciler,
    PaymentReconcileLoop,
  ],
})
export class PurchasesModule {}
