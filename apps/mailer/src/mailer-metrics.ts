import type { INestApplicationContext } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { PurchaseMailConsumer } from './purchase-mail.consumer';

/** The Prometheus registry `mailer` serves on METRICS_PORT: default metrics and e-mail outcomes. */
export function mailerMetrics(app: INestApplicationContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.registerMetric(app.get(PurchaseMailConsumer).deliveries);
  return registry;
}
