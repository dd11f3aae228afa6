import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Metric, Registry } from 'prom-client';
import { RequestDurations } from './request-durations';

/** The Prometheus registry of one API process: default metrics, request durations, shed requests. */
@Injectable()
export class HttpMetrics {
  readonly registry = new Registry();
  /** Per method, route and status; seconds. */
  readonly requestDuration = new RequestDurations([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

  /** Requests answered 503 by load shedding, per reason (`in_flight`, `event_loop`). */
  readonly shedRequests = new Counter({
    name: 'http_requests_shed_total',
    help: 'Requests answered 503 at once because the api was past capacity (load shedding), by trigger',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client's typings name only its own metric classes; its registry reads name, help,
    // type, aggregator, get() and reset(), which RequestDurations has.
    this.registry.registerMetric(this.requestDuration as unknown as Metric);
  }
}
