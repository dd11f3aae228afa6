import { DataSourceOptions } from 'typeorm';
import { Env } from '@app/config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** One set of DataSource options, shared by the apps and the migration CLI. */
export function dataSourceOptions(env: Pick<Env, 'DATABASE_URL'>): DataSourceOptions {
  return {
    type: 'postgres',
    url: env.DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: 20, connectionTimeoutMillis: 5000 },
  };
}
