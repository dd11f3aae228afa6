import 'reflect-metadata';
import { ConfigError, loadEnv } from '@app/config';
import { dataSourceOptions } from './data-source.options';
import { DatabaseConnectError, openDatabase, runMigrations } from './database-bootstrap';

/**
 * `npm run migration:run`: applies the pending migrations as the apps do at start — the database
 * created when missing, then every migration in a transaction of its own under the apps' advisory
 * lock — so it may run beside replicas starting (or another run) and they take turns. TypeORM's own
 * CLI took no lock: two at once on an empty database both created the first tables and one failed
 * (a duplicate key in `pg_type`). Prints what it applied; exits 1 on a failure, having applied the
 * migrations before the one that failed.
 */
async function main(): Promise<void> {
  const env = loadEnv();
  const dataSource = await openDatabase({ ...dataSourceOptions(env), url: env.DATABASE_URL });
  try {
    const applied = await runMigrations(dataSource);
    console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  // A setting or the database out of reach: its one line says what to fix; anything else, the stack.
  const known = error instanceof ConfigError || error instanceof DatabaseConnectError;
  console.error(known ? error.message : error);
  process.exit(1);
});
