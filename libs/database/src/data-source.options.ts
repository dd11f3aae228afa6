import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { Env } from '@app/config';
import { ENTITIES } from './entities';

/** One set of DataSource options, shared by the apps and the migration CLI. */
export function dataSourceOptions(env: Pick<Env, 'DATABASE_URL'>): DataSourceOptions {
  return {
    type: 'postgres',
    url: env.DATABASE_URL,
    entities: ENTITIES,
    migrations: [join(__dirname, 'migrations', '*.{js,ts}')],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: 20, connectionTimeoutMillis: 5000 },
  };
}
