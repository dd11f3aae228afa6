import type { INestApplicationContext } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { Env } from '@app/config';
import { addAmqpConnectedGauge, AmqpConnection } from '@app/messaging';
import {
  OpenAttemptFigures,
  OutboxRepository,
  PaymentAttemptsRepository,
  PerformanceCancellationsRepository,
} from '@app/database';
import { OutboxRelayLoop } from './loops/outbox-relay.loop';
import { PurchaseFlushLoop } from './loops/purchase-flush.loop';
import {
  BulkRefund,
  PaymentReconciler,
  PurchaseFlusher,
  SeatReconciler,
  WaitingRoomFigures,
  WaitingRoomStore,
} from '@app/ticketing';
import { WaitingRoomAdmitLoop } from './loops/waiting-room-admit.loop';

/**
 * The Prometheus registry `batch` serves on METRICS_PORT: the process's default metrics, the
 * flush and relay counters of its loops, the seat reconciler's repairs, the flush lag (purchase → commit), the waiting rooms (admitted, ETA error,
 * waiting and active per performance, halted admissions by reason), the payment reconciliation's passes, and, counted in
 * PostgreSQL at each scrape (NaN while PostgreSQL cannot be asked), the outbox backlog and the open
 * payment attempts (how many, and how old the oldest is, per status) and those awaiting their second
 * look for a charge (how many, and how long the oldest has been due), the bulk refunds of canceled
 * performances (purchases refunded; cancellations still open, counted in PostgreSQL), and whether
 * it is connected to RabbitMQ.
 */
export function batchMetrics(app: INestApplicationContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const flushLoop = app.get(PurchaseFlushLoop);
  registry.registerMetric(flushLoop.flushed);
  registry.registerMetric(flushLoop.failedPasses);
  registry.registerMetric(app.get(PurchaseFlusher).lag);
  registry.registerMetric(app.get(PurchaseFlusher).unreplicated);
  registry.registerMetric(app.get(PurchaseFlusher).parked);
  registry.registerMetric(app.get(OutboxRelayLoop).published);
  registry.registerMetric(app.get(SeatReconciler).repairs);
  registry.registerMetric(app.get(PaymentReconciler).reconciled);
  registry.registerMetric(app.get(BulkRefund).canceled);
  const admitLoop = app.get(WaitingRoomAdmitLoop);
  registry.registerMetric(admitLoop.admitted);
  registry.registerMetric(admitLoop.etaError);
  registry.registerMetric(admitLoop.admissionHalted);
  // The outbox relay's connection: 0 while purchases' e-mails cannot leave.
  addAmqpConnectedGauge(registry, app.get(AmqpConnection));
  const rooms = app.get(WaitingRoomStore);
  // Queue length and active slots per performance, read from Redis at each scrape.
  new Gauge({
    name: 'boxoffice_queue_waiting',
    help: 'Buyers waiting in a waiting room (pre-queue and line)',
    labelNames: ['performance'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [performance, figures] of await roomFigures(rooms)) this.set({ performance }, figures.waiting);
    },
  });
  new Gauge({
    name: 'boxoffice_queue_active',
    help: 'Admitted buyers holding a slot of a waiting room',
    labelNames: ['performance'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [performance, figures] of await roomFigures(rooms)) this.set({ performance }, figures.active);
    },
  });
  const outbox = app.get(OutboxRepository);
  new Gauge({
    name: 'boxoffice_outbox_backlog',
    // Every outbox row waits for the broker: the relay deletes a row once its message is confirmed.
    help: 'Outbox messages not yet confirmed by RabbitMQ',
    registers: [registry],
    async collect() {
      this.set(await outbox.countUnpublished().catch(() => NaN));
    },
  });
  const cancellations = app.get(PerformanceCancellationsRepository);
  new Gauge({
    name: 'boxoffice_performance_cancellations_open',
    help: 'Canceled performances whose purchases batch is still refunding',
    registers: [registry],
    async collect() {
      this.set(await cancellations.openCount().catch(() => NaN));
    },
  });
  const attempts = app.get(PaymentAttemptsRepository);
  const openAttempts = onePerScrape(async () => {
    const rows = await attempts.openFigures();
    return new Map<string, OpenAttemptFigures>(rows.map((row) => [row.status, row]));
  });
  const openAttemptsGauge = (name: string, help: string, figure: 'count' | 'oldestSeconds') =>
    new Gauge({
      name,
      help,
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const figures = await openAttempts();
        for (const status of OPEN_STATUSES) this.set({ status }, figures?.get(status)?.[figure] ?? NaN);
      },
    });
  openAttemptsGauge(
    'boxoffice_payment_attempts_open',
    'Payment attempts batch still has work on, by status: PENDING, CHARGED (fate being settled), REFUND_OWED',
    'count',
  );
  openAttemptsGauge(
    'boxoffice_payment_attempt_oldest_open_seconds',
    'Age of the oldest open payment attempt by status (REFUND_OWED: since its purchase was canceled); 0 when none',
    'oldestSeconds',
  );
  const recheckAfterSeconds = app.get(Env).PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS;
  const rechecks = onePerScrape(() => attempts.recheckFigures(recheckAfterSeconds));
  new Gauge({
    name: 'boxoffice_payment_attempts_awaiting_recheck',
    help: 'Payment attempts settled with no charge found whose second look for a charge is still to be made',
    registers: [registry],
    async collect() {
      this.set((await rechecks())?.awaiting ?? NaN);
    },
  });
  new Gauge({
    name: 'boxoffice_payment_attempt_oldest_due_recheck_seconds',
    help: 'Seconds the oldest second look for a charge has been due and not made; 0 when none is due',
    registers: [registry],
    async collect() {
      this.set((await rechecks())?.oldestDueSeconds ?? NaN);
    },
  });
  return registry;
}

const OPEN_STATUSES = ['PENDING', 'CHARGED', 'REFUND_OWED'] as const;

/**
 * `read` once for the gauges of one scrape that show its figures (the open attempts by status, the
 * second looks): the registry collects them together, so a read still in flight is shared. Null
 * while PostgreSQL cannot be asked.
 */
function onePerScrape<T>(read: () => Promise<T>): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () =>
    (inFlight ??= read()
      .catch(() => null)
      .finally(() => {
        inFlight = null;
      }));
}

/** Figures of every room, by performance id; none while Redis cannot be asked. */
async function roomFigures(rooms: WaitingRoomStore): Promise<[string, WaitingRoomFigures][]> {
  try {
    const result: [string, WaitingRoomFigures][] = [];
    for (const performanceId of await rooms.performances()) {
      const figures = await rooms.figures(performanceId);
      if (figures) result.push([String(performanceId), figures]);
    }
    return result;
  } catch {
    return [];
  }
}
