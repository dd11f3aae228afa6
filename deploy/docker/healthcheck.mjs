// Docker HEALTHCHECK of the boxoffice image. The api is healthy when /health/ready answers 200
// (PostgreSQL and Redis reachable; a RabbitMQ outage only marks it degraded, for the outbox
// holds purchase events until the broker is back). batch and mailer serve no HTTP: they are healthy
// while their process runs, and Docker restarts them when it exits.
import { readFileSync } from 'node:fs';

const processName = readFileSync('/tmp/boxoffice-process', 'utf8').trim();
if (processName !== 'api') process.exit(0);

try {
  const response = await fetch(`http://127.0.0.1:${process.env.PORT ?? '3000'}/health/ready`, {
    signal: AbortSignal.timeout(4000),
  });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
