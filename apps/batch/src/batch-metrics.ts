import type { INestApplicationContext } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { OutboxRepository } from '@app/database';
import { OutboxRelayLoop } from './loops/outbox-relay.loop';
import { PurchaseFlushLoop } from './loops/purchase-flush.loop';
import { PurchaseFlusher } from '@app/ticketing';

/**
 * The Prometheus registry `batch` serves on METRICS_PORT: the process's default metrics, the
 * flush and relay counters of its loops, the flush lag (purchase → commit), and the outbox backlog, counted in PostgreSQL at each
 * scrape (NaN while PostgreSQL cannot be asked).
 */
export function batchMetrics(app: INestApplicationContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const flushLoop = app.get(PurchaseFlushLoop);
  registry.registerMetric(flushLoop.flushed);
  registry.registerMetric(flushLoop.failedPasses);
  registry.registerMetric(app.get(PurchaseFlusher).lag);
  registry.registerMetric(app.get(OutboxRelayLoop).published);
  const outbox = app.get(OutboxRepository);
  new Gauge({
    name: 'boxoffice_outbox_backlog',
    help: 'Outbox messages not yet published to RabbitMQ',
    registers: [registry],
    async collect() {
      this.set(await outbox.countUnpublished().catch(() => NaN));
    },
  });
  return registry;
}
