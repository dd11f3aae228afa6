import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { EnvSource } from '@app/config';
import { cloneTemplateDatabase } from './template-database';

export const SERVER_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface TestEnv extends EnvSource {
  NODE_ENV: 'test';
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  /** Set when the run has TEST_REDIS_CLUSTER=1 (see redis-cluster.global-setup.ts). */
  REDIS_CLUSTER_NODES?: string;
  RABBITMQ_URL: string;
  RABBITMQ_NAMESPACE: string;
  LOG_DIR: string;
  LOG_CONSOLE: 'none';
  LOG_LEVEL: string;
  PASSWORD_HASH_MEMORY_KIB: string;
  PASSWORD_HASH_TIME_COST: string;
}

/**
 * A fresh, private world for one test file: its own database, Redis key prefix, RabbitMQ
 * namespace and log folder, so test files never see each other's data, whether they run one
 * after the other or at the same time. The database exists, cloned from the run's migrated
 * template (see template-database.ts), so apps started on it find no migration to run.
 * `destroyTestEnv` drops it all.
 * On a run with TEST_REDIS_CLUSTER=1 it points Redis at the run's shared local Redis Cluster.
 */
export async function createTestEnv(overrides: EnvSource = {}): Promise<TestEnv> {
  const env = createTestEnvWithoutDatabase(overrides);
  await cloneTemplateDatabase(env.DATABASE_URL);
  return env;
}

/**
 * The same names as `createTestEnv`, with no database created: for files that use no PostgreSQL,
 * or that migrate a database themselves. An app started on it creates and migrates the database
 * as in production.
 */
export function createTestEnvWithoutDatabase(overrides: EnvSource = {}): TestEnv {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return {
    NODE_ENV: 'test',
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/bo_test_${id}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: `bo_test_${id}:`,
    ...(testRedisClusterNodes() ? { REDIS_CLUSTER_NODES: testRedisClusterNodes() } : {}),
    RABBITMQ_URL,
    RABBITMQ_NAMESPACE: `bo_test_${id}`,
    LOG_DIR: mkdtempSync(join(tmpdir(), `bo-logs-${id}-`)),
    LOG_CONSOLE: 'none',
    LOG_LEVEL: 'info',
    // argon2id at its cheapest (8 KiB, 1 pass: ~1 ms a hash, not 35-90 ms): every signup and login
    // hashes, and no test but password-hasher.spec.ts tests the hashing itself.
    PASSWORD_HASH_MEMORY_KIB: '8',
    PASSWORD_HASH_TIME_COST: '1',
    // Empty is unset: a developer's `.env` pointing the bulk notices at a real server sends nothing
    // from a test; a test that wants a bulk server of its own sets it.
    SMTP_BULK_URL: '',
    // No cap on requests in flight: the race tests fire hundreds of requests at one seat at once
    // to break the seat rules, past the 256 a deployed api works on before it sheds (503);
    // load-shedding.e2e-spec.ts sets a cap of its own to test the shedding.
    SHED_MAX_IN_FLIGHT: '0',
    ...overrides,
  } as TestEnv;
}

/** REDIS_CLUSTER_NODES of the run's shared Redis Cluster, or '' (single Redis, or outside the int project). */
export function testRedisClusterNodes(): string {
  try {
    return inject('testRedisClusterNodes') ?? '';
  } catch {
    return '';
  }
}
