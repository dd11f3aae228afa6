import { Gauge, Registry } from 'prom-client';
import type { AmqpConnection } from './amqp.connection';

/**
 * Adds `boxoffice_rabbitmq_connected` to `registry`: 1 while the process's AMQP connection is
 * connected (amqp-connection-manager's `isConnected`, the api's readiness reads the same), 0 while
 * it is not (the broker gone, refusing, or silent past the heartbeat), read at each scrape. Without
 * it a `mailer` cut off from the broker showed nothing: its liveness stays 200 and its counters
 * are flat, as on a quiet night (observability trial 2026-12-07, B6).
 */
export function addAmqpConnectedGauge(registry: Registry, amqp: Pick<AmqpConnection, 'isConnected'>): Gauge {
  return new Gauge({
    name: 'boxoffice_rabbitmq_connected',
    help: 'Whether this process is connected to RabbitMQ (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(amqp.isConnected() ? 1 : 0);
    },
  });
}
