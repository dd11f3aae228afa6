import { DataSourceOptions } from 'typeorm';
import { Env } from '@app/config';
import { PG_DRIVER } from './database-unavailable';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** One set of DataSource options, shared by the apps and the migration CLI. */
export function dataSourceOptions(
  env: Pick<Env, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_ACQUIRE_TIMEOUT_MS'>,
): DataSourceOptions {
  return {
    type: 'postgres',
    // An acquire timeout leaves persistence as a DatabaseUnavailableError.
    driver: PG_DRIVER,
    url: env.DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: env.DATABASE_POOL_SIZE, connectionTimeoutMillis: env.DATABASE_ACQUIRE_TIMEOUT_MS },
  };
}
