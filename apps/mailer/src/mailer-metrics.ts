import type { INestApplicationContext } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { PurchaseMailConsumer } from './purchase-mail.consumer';

/**
 * The Prometheus registry `mailer` serves on METRICS_PORT: default metrics, e-mail outcomes, and
 * per mail queue (urgent, bulk) the messages handled and in hand.
 */
export function mailerMetrics(app: INestApplicationContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const consumer = app.get(PurchaseMailConsumer);
  registry.registerMetric(consumer.deliveries);
  registry.registerMetric(consumer.queueMessages);
  registry.registerMetric(consumer.queueInHand);
  return registry;
}
