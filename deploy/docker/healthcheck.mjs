// Docker HEALTHCHECK of the boxoffice image. The api is healthy when /health/ready answers 200
// (PostgreSQL and Redis reachable; a RabbitMQ outage only marks it degraded, for the outbox
// holds purchase events until the broker is back). batch and mailer are healthy while
// /health/live answers 200 on METRICS_PORT (9464 unless set, as the image runs in production).
// The one-off commands (seed, admin-create) have nothing to check.
import { readFileSync } from 'node:fs';

const processName = readFileSync('/tmp/boxoffice-process', 'utf8').trim();
const url =
  processName === 'api'
    ? `http://127.0.0.1:${process.env.PORT ?? '3000'}/health/ready`
    : processName === 'batch' || processName === 'mailer'
      ? `http://127.0.0.1:${process.env.METRICS_PORT ?? '9464'}/health/live`
      : undefined;
if (url === undefined) process.exit(0);

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
