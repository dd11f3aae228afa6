import { Client } from 'pg';
import { DataSource, DataSourceOptions, MigrationExecutor, QueryRunner } from 'typeorm';
import { withQueryTimeout } from './database-unavailable';

/** Stable key of the advisory lock that lets one process at a time run (or revert) migrations. */
export const MIGRATION_LOCK_KEY = 4_242_001;

/** Creates the database named in the URL when it does not exist yet. Safe to race. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        // 42P04: created meanwhile by another replica; 23505: the same race seen by the catalog.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Where a PostgreSQL URL points, for messages: `host:port` (port 5432 unless given; a socket
 * directory, in the host or as `?host=`, as it is), never its user, password or database.
 */
export function databaseAddress(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const host = url.searchParams.get('host') ?? (decodeURIComponent(url.hostname) || 'localhost');
  return `${host}:${url.port || '5432'}`;
}

/** PostgreSQL could not be reached or refused the login, at start: says where, and why. */
export class DatabaseConnectError extends Error {
  constructor(
    /** `host:port` of DATABASE_URL ({@link databaseAddress}). */
    readonly address: string,
    cause: unknown,
  ) {
    super(
      `cannot connect to PostgreSQL at ${address} (DATABASE_URL): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'DatabaseConnectError';
  }
}

/**
 * Opens a DataSource of `options` (whose `url` is DATABASE_URL), the database created first when
 * missing ({@link ensureDatabase}). A failure to reach PostgreSQL or to log in is rethrown as a
 * {@link DatabaseConnectError}, `cannot connect to PostgreSQL at <host:port> (DATABASE_URL): <why>`,
 * so the line a failed start logs names the setting to check, and nothing secret: a refused
 * connection otherwise reads `connect ECONNREFUSED 172.18.0.3:5432`, an address the operator never
 * wrote. `prepare` runs on the DataSource before it connects (the apps: raiseDatabaseUnavailable).
 */
export async function openDatabase(
  options: DataSourceOptions & { url: string },
  prepare?: (dataSource: DataSource) => void,
): Promise<DataSource> {
  try {
    await ensureDatabase(options.url);
    const dataSource = new DataSource(options);
    prepare?.(dataSource);
    return await dataSource.initialize();
  } catch (error) {
    throw new DatabaseConnectError(databaseAddress(options.url), error);
  }
}

/** How long a process waiting for another's migrations waits before asking for the lock again (ms). */
const MIGRATION_LOCK_RETRY_MS = 250;

/**
 * Runs `work` on the lock's connection (`runner`) holding the migration advisory lock, which replicas
 * starting together, `npm run migration:run` and `npm run migration:revert` take in turns; answers
 * what `work` answers.
 *
 * The lock is asked for again every MIGRATION_LOCK_RETRY_MS (pg_try_advisory_lock), not waited for
 * in one statement (pg_advisory_lock): a statement that waits holds its snapshot, and CREATE INDEX
 * CONCURRENTLY (see migrations/concurrent-index.ts) waits for every snapshot older than its own to
 * go, so a replica waiting for the lock would wait for the build, and the build for it, forever
 * (PostgreSQL sees no deadlock: the lock's holder is another session, idle, of the building process).
 *
 * The migrations run on the lock's own connection, their statements not bounded by
 * DATABASE_QUERY_TIMEOUT_MS (an index build or a backfill may take minutes); a lock wait still is,
 * by the migrations' own lock_timeout.
 */
async function underMigrationLock<T>(dataSource: DataSource, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    for (;;) {
      const [{ locked }]: { locked: boolean }[] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        MIGRATION_LOCK_KEY,
      ]);
      if (locked) break;
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_RETRY_MS));
    }
    return await withQueryTimeout(runner, false, () => work(runner));
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * Runs pending migrations under the migration lock ({@link underMigrationLock}), so replicas
 * starting together take turns; answers the names of the migrations it applied, in order.
 */
export function runMigrations(dataSource: DataSource): Promise<string[]> {
  return underMigrationLock(dataSource, async (runner) => {
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    return applied.map((m) => m.name);
  });
}

/**
 * How a revert runs the migration's `down`: `each` (the default) or `all`, in a transaction;
 * `none`, outside one, for a migration that drops or builds indexes CONCURRENTLY
 * (migrations/concurrent-index.ts), which PostgreSQL refuses in a transaction.
 */
export type RevertTransaction = 'each' | 'all' | 'none';

/**
 * Reverts the last applied migration (the latest by timestamp, as TypeORM picks it) under the
 * migration lock ({@link underMigrationLock}), so it never runs beside a replica migrating at its
 * start or a `migration:run`; answers its name, or null when none was applied.
 */
export function revertLastMigration(dataSource: DataSource, transaction: RevertTransaction): Promise<string | null> {
  return underMigrationLock(dataSource, async (runner) => {
    const table = dataSource.options.migrationsTableName ?? 'migrations';
    // The table is missing on a database never migrated (undoLastMigration creates it).
    const appliedNames = async (): Promise<Set<string>> => {
      const [{ found }]: { found: boolean }[] = await runner.query('SELECT to_regclass($1) IS NOT NULL AS found', [
        table,
      ]);
      if (!found) return new Set();
      const rows: { name: string }[] = await runner.query(`SELECT name FROM "${table}"`);
      return new Set(rows.map((row) => row.name));
    };
    const before = await appliedNames();
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = transaction;
    await executor.undoLastMigration();
    const after = await appliedNames();
    return [...before].find((name) => !after.has(name)) ?? null;
  });
}
