import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, Env, loadEnv } from '@app/config';
import { createLogger, MetricsServer, ShutdownSignals } from '@app/logging';
import { batchMetrics } from './batch-metrics';
import { batchReadiness } from './batch-readiness';
import { BatchModule } from './batch.module';
import { AuthEventPruneLoop } from './loops/auth-event-prune.loop';
import { BulkRefundLoop } from './loops/bulk-refund.loop';
import { EmailDeliveryPruneLoop } from './loops/email-delivery-prune.loop';
import { RefreshTokenPruneLoop } from './loops/refresh-token-prune.loop';
import { RescheduleNoticeLoop } from './loops/reschedule-notice.loop';
import { HoldSweepLoop } from './loops/hold-sweep.loop';
import { OutboxRelayLoop } from './loops/outbox-relay.loop';
import { PaymentReconcileLoop } from './loops/payment-reconcile.loop';
import { PurchaseFlushLoop } from './loops/purchase-flush.loop';
import { SeatReconcileLoop } from './loops/seat-reconcile.loop';
import { WaitingRoomAdmitLoop } from './loops/waiting-room-admit.loop';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger({ app: 'batch', level: env.LOG_LEVEL, dir: env.LOG_DIR, console: env.LOG_CONSOLE });
  const signals = ShutdownSignals.listen(logger);
  const app = await NestFactory.createApplicationContext(BatchModule.forRoot(), { logger, abortOnError: false });
  await app.init();
  // Frees the seats of expired holds within 2 s (P3); several batch processes may sweep at once.
  app.get(HoldSweepLoop).start();
  // Writes purchases older than PURCHASE_FLUSH_AGE_SECONDS to PostgreSQL (P4); any number of
  // batch processes may flush at once. SIGTERM lets the batch in progress finish first.
  app.get(PurchaseFlushLoop).start();
  // Publishes the outbox (purchase-completed messages) to RabbitMQ; any number of relays may run.
  app.get(OutboxRelayLoop).start();
  // Refunds charges whose purchase never happened, once untouched for PAYMENT_RECONCILE_AFTER_SECONDS
  // (P9); any number of batch processes may reconcile at once (row locks, SKIP LOCKED).
  app.get(PaymentReconcileLoop).start();
  // Admits waiting-room buyers at each room's rate and shuffles pre-queues at their opening;
  // any number of batch processes may admit at once (one atomic script per step).
  app.get(WaitingRoomAdmitLoop).start();
  // Repairs seats a lost Redis write (a failover) left shown sold or held with nothing behind
  // them, or shown free while PostgreSQL has them sold; any number of batch processes may run it.
  app.get(SeatReconcileLoop).start();
  // Cancels and refunds every paid purchase of each canceled performance, through the one refund
  // path (PurchaseCancellation); any number of batch processes may run it (each purchase once).
  app.get(BulkRefundLoop).start();
  // Queues one new-date notice per paid purchase of each performance whose startsAt moved; any
  // number of batch processes may run it (a page per transaction, the move's row locked).
  app.get(RescheduleNoticeLoop).start();
  // Deletes refresh tokens a day after they expired (each login and refresh adds one), then hourly;
  // any number of batch processes may run it (SKIP LOCKED).
  app.get(RefreshTokenPruneLoop).start();
  // Deletes account events older than AUTH_EVENT_RETENTION_DAYS, and records of e-mails sent longer
  // than EMAIL_DELIVERY_RETENTION_DAYS ago that no e-mail to come reads, at start then hourly
  // (`forever`: not at all); any number of batch processes may run them (SKIP LOCKED).
  app.get(AuthEventPruneLoop).start();
  app.get(EmailDeliveryPruneLoop).start();
  // Liveness, readiness and metrics for Docker's health check, a probe and Prometheus, when
  // METRICS_PORT is set.
  const metricsPort = app.get(Env).METRICS_PORT;
  const metrics =
    metricsPort === undefined
      ? undefined
      : await MetricsServer.start(batchMetrics(app), metricsPort, app.get(Env).HOST, batchReadiness(app));
  logger.log(`batch started${metrics ? ` (metrics, liveness and readiness on port ${metricsPort})` : ''}`, 'Main');
  await signals.closeOnSignal(app, metrics);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
