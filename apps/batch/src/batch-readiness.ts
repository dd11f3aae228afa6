import { INestApplicationContext, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { StoreUnavailableError } from '@app/core';
import type { Readiness } from '@app/logging';
import { probeScripts, ReplicaWatch } from '@app/redis';

/** Longest wait (ms) for each dependency's check, as the api's readiness waits. */
const CHECK_TIMEOUT_MS = 1500;

type Check = { status: 'up' } | { status: 'down'; message: string; setting?: string };

/**
 * `batch`'s readiness (`GET /health/ready` on METRICS_PORT): PostgreSQL answers `SELECT 1`, Redis
 * runs a Lua script, and with REDIS_WAIT_REPLICAS every Redis primary has that many connected
 * replicas (ReplicaWatch: else no flushed purchase is written, each batch left pending). Not ready
 * names what is down; why (an address, a driver's message) goes to the log, except a replica
 * shortfall, which the message gives, as the api's readiness does: "not ready: redis down:
 * REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas". RabbitMQ is not checked: the
 * outbox keeps the messages until it is back.
 */
export function batchReadiness(app: INestApplicationContext): () => Promise<Readiness> {
  const logger = new Logger('Health');
  const db = app.get(DataSource);
  const redis = app.get(Redis);
  const replicas = app.get(ReplicaWatch);
  const postgres = () => within(db.query('SELECT 1').then((): Check => ({ status: 'up' })));
  const redisCheck = () =>
    within(
      (async (): Promise<Check> => {
        await probeScripts(redis);
        const shortfall = await replicas.check();
        return shortfall === null ? { status: 'up' } : { status: 'down', message: shortfall, setting: shortfall };
      })(),
    );
  return async () => {
    const [postgresCheck, redisState] = await Promise.all([postgres(), redisCheck()]);
    const failed = Object.entries({ postgres: postgresCheck, redis: redisState }).flatMap(([name, check]) =>
      check.status === 'down' ? [{ name, ...check }] : [],
    );
    if (failed.length === 0) return { ready: true, details: { postgres: { status: 'up' }, redis: { status: 'up' } } };
    logger.warn(`not ready: ${failed.map(({ name, message }) => `${name} (${message})`).join(', ')} down`);
    // A setting the deployment cannot meet is said to whoever asks; an address or a driver's message is not.
    const settings = failed.flatMap(({ setting }) => (setting ? [setting] : []));
    const names = failed.map(({ name }) => name).join(', ');
    return {
      ready: false,
      message: `not ready: ${names} down${settings.length > 0 ? `: ${settings.join('; ')}` : ''}`,
      details: Object.fromEntries(failed.map(({ name }) => [name, { status: 'down' as const }])),
    };
  };
}

/** `check`'s answer, or down with why once it failed or took CHECK_TIMEOUT_MS. */
async function within(check: Promise<Check>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'down', message: 'timeout' }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      check.catch((error: unknown): Check => {
        // For the operator: what the server or driver said, behind the domain's StoreUnavailableError.
        const cause = error instanceof StoreUnavailableError ? error.cause : error;
        return { status: 'down', message: cause instanceof Error ? cause.message : 'unreachable' };
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
