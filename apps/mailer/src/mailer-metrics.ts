import type { INestApplicationContext } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { addAmqpConnectedGauge, AmqpConnection } from '@app/messaging';
import { Mailer } from '@app/ticketing';
import { PurchaseMailConsumer } from './purchase-mail.consumer';
import { SmtpMailer } from './smtp.mailer';

/**
 * The Prometheus registry `mailer` serves on METRICS_PORT: default metrics, e-mail outcomes, per
 * mail queue (urgent, bulk) the messages handled and in hand, and per SMTP server (main, bulk) the
 * sends by result, and whether it is connected to RabbitMQ.
 */
export function mailerMetrics(app: INestApplicationContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const consumer = app.get(PurchaseMailConsumer);
  registry.registerMetric(consumer.deliveries);
  registry.registerMetric(consumer.queueMessages);
  registry.registerMetric(consumer.queueInHand);
  // MailerModule binds the Mailer port to SmtpMailer.
  registry.registerMetric((app.get(Mailer) as SmtpMailer).sends);
  addAmqpConnectedGauge(registry, app.get(AmqpConnection));
  return registry;
}
