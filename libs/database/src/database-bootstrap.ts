import { Client } from 'pg';
import { DataSource, DataSourceOptions, MigrationExecutor } from 'typeorm';
import { withQueryTimeout } from './database-unavailable';

/** Stable key of the advisory lock that lets one process at a time run migrations. */
const MIGRATION_LOCK_KEY = 4_242_001;

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
 * Runs pending migrations under an advisory lock, so replicas starting together take turns; answers
 * the names of the migrations it applied, in order.
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
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
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
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'each';
    const applied = await withQueryTimeout(runner, false, () => executor.executePendingMigrations());
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}
