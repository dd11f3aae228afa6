import 'reflect-metadata';
import { loadEnv, warnUnknownEnvFileKeys } from '@app/config';
import { dataSourceOptions } from './data-source.options';
import { openDatabase, revertLastMigration, runMigrations } from './database-bootstrap';
import { migrateFailureText, parseMigrateArgs } from './migrate-args';

/**
 * `npm run migration:run` (`migrate.js`): applies the pending migrations as the apps do at start —
 * the database created when missing, then every migration in a transaction of its own under the
 * apps' advisory lock — so it may run beside replicas starting (or another run) and they take
 * turns. TypeORM's own CLI took no lock: two at once on an empty database both created the first
 * tables and one failed (a duplicate key in `pg_type`). Prints what it applied.
 *
 * `npm run migration:revert` (`migrate.js revert [--transaction each|all|none]`): reverts the last
 * applied migration under the same lock, so it waits for a replica migrating at its start (or a
 * run) instead of undoing a migration under it, and prints what it reverted; `--transaction none`
 * runs its `down` outside a transaction (the migrations that drop or build indexes CONCURRENTLY).
 *
 * Exits 1 on a failure (a run having applied the migrations before the one that failed).
 */
async function main(): Promise<void> {
  const command = parseMigrateArgs(process.argv.slice(2));
  const env = loadEnv();
  warnUnknownEnvFileKeys();
  const dataSource = await openDatabase({ ...dataSourceOptions(env), url: env.DATABASE_URL });
  try {
    if (command.command === 'revert') {
      const reverted = await revertLastMigration(dataSource, command.transaction);
      console.log(reverted ? `reverted migration: ${reverted}` : 'no migration to revert');
      return;
    }
    const applied = await runMigrations(dataSource);
    console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(migrateFailureText(error));
  process.exit(1);
});
