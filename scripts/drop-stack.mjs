#!/usr/bin/env node
// `npm run stack:drop -- --yes`: removes what a stack left on the services, so a second stack (or
// one tried and done with) leaves nothing behind: its PostgreSQL database (DATABASE_URL), its Redis
// keys (REDIS_KEY_PREFIX, on REDIS_URL) and its RabbitMQ queues and exchanges (RABBITMQ_NAMESPACE,
// on RABBITMQ_URL; the queues are listed with `rabbitmqctl`, so run it on RabbitMQ's machine). The
// same variables and defaults as `npm start`. Stop the stack first. Without `--yes` it only says
// what it would remove. Not for a Redis Cluster (REDIS_CLUSTER_NODES).
import { parseArgs } from 'node:util';
import { dropRun } from './stack.mjs';

const { values } = parseArgs({ options: { yes: { type: 'boolean' } } });
const env = process.env;
if (env.REDIS_CLUSTER_NODES) {
  console.error('stack:drop: not for a Redis Cluster (REDIS_CLUSTER_NODES is set)');
  process.exit(2);
}
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/boxoffice';
const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
const keyPrefix = env.REDIS_KEY_PREFIX ?? 'bo:';
const namespace = env.RABBITMQ_NAMESPACE ?? 'boxoffice';
if (!database || !keyPrefix || !namespace) {
  console.error(
    'stack:drop: DATABASE_URL must name a database, REDIS_KEY_PREFIX and RABBITMQ_NAMESPACE must not be empty',
  );
  process.exit(2);
}
const what = `database "${database}", Redis keys "${keyPrefix}*", RabbitMQ "${namespace}.*"`;
if (!values.yes) {
  console.log(`stack:drop would remove ${what}; run again with --yes to remove them`);
  process.exit(0);
}
await dropRun({
  database,
  keyPrefix,
  namespace,
  serverUrl: databaseUrl,
  redisUrl: env.REDIS_URL,
  rabbitmqUrl: env.RABBITMQ_URL,
});
console.log(`stack:drop removed ${what}`);
