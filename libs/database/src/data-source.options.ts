import { DataSourceOptions } from 'typeorm';
import { Env } from '@app/config';
import { PG_DRIVER } from './database-unavailable';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * Idle time (ms) after which the kernel starts probing a pooled connection (TCP keepalive): a
 * server gone from the network (a partition, a host lost) is found on an idle connection too, not
 * only by the next statement's DATABASE_QUERY_TIMEOUT_MS.
 */
export const DATABASE_KEEPALIVE_DELAY_MS = 10_000;

/** One set of DataSource options, shared by the apps and the migration CLI. */
export function dataSourceOptions(
  env: Pick<Env, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_ACQUIRE_TIMEOUT_MS' | 'DATABASE_QUERY_TIMEOUT_MS'>,
): DataSourceOptions {
  return {
    type: 'postgres',
    // An acquire timeout leaves persistence as a DatabaseUnavailableError, and so does a statement
    // not answered within `query_timeout` (its connection is closed: see PG_DRIVER).
    driver: PG_DRIVER,
    url: env.DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: {
      max: env.DATABASE_POOL_SIZE,
      connectionTimeoutMillis: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      // PostgreSQL's own statement_timeout cannot act on a server that does not run (frozen, hung,
      // cut off): this process stops waiting. runMigrations lifts it for migrations.
      query_timeout: env.DATABASE_QUERY_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: DATABASE_KEEPALIVE_DELAY_MS,
    },
  };
}
