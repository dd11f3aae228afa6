import { Module } from '@nestjs/common';
import { ApprovingPaymentGateway, PaymentGateway } from './payment-gateway';
import { PaymentReconciler } from './payment-reconciler';
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
    PaymentReconciler,
  ],
  exports: [PaymentGateway, PurchaseService, PurchaseFlusher, PaymentReconciler],
})
export class PurchasesModule {}
