import { DataSource } from 'typeorm';
import { expect } from 'vitest';
import { ensureDatabase, runMigrations } from '@app/database';
import { migrationDataSource, MigratedDatabase, withClose } from './database-rows';
import { createTestEnvWithoutDatabase, TestEnv } from './test-env';

/**
 * What a migration's int-spec shares: the database at the state just before the migration, the
 * rows most of them seed there, and the check that a migration needing a lock gives up at its
 * lock_timeout instead of queueing the tables' readers behind itself.
 */

/** The migrations of `all` (in order) before `migration`, and up to it inclusive. */
function migrationsAround(all: Function[], migration: Function): { before: Function[]; upTo: Function[] } {
  const at = all.indexOf(migration);
  if (at < 0) throw new Error(`${migration.name} is not in the migration list`);
  return { before: all.slice(0, at), upTo: all.slice(0, at + 1) };
}

/**
 * A database of its own with the migrations of `all` before `migration` run and `seed` given a
 * DataSource on it to write the rows the upgrade must carry; returned open on a DataSource that
 * knows the migrations up to `migration`, which is not run yet. `close` destroys the DataSource
 * and drops the database. `seed` writes by SQL of the schema before the migration, not through
 * today's repositories: their statements name columns later migrations add.
 */
export async function openDatabaseBefore(
  all: Function[],
  migration: Function,
  seed?: (old: DataSource) => Promise<void>,
): Promise<MigratedDatabase> {
  const { before, upTo } = migrationsAround(all, migration);
  const env = createTestEnvWithoutDatabase();
  await ensureDatabase(env.DATABASE_URL);
  const old = await migrationDataSource(env, before).initialize();
  try {
    await runMigrations(old);
    await seed?.(old);
  } finally {
    await old.destroy();
  }
  return withClose(env, await migrationDataSource(env, upTo).initialize());
}

/**
 * A buyer's account, an event (KRW) and a performance of one seat starting in a day, written
 * with plain SQL (the schema of migration 1799300000000 or later): the rows a purchase or ticket
 * of a migration's int-spec hangs on.
 */
export async function insertAccountAndPerformance(db: DataSource): Promise<{ userId: string; performanceId: number }> {
  const [{ id: userId }] = await db.query(
    `INSERT INTO users (email, email_key, name, password_hash) VALUES ('a@example.test', 'a@example.test', 'A', 'x')
     RETURNING id`,
  );
  const [{ id: performanceId }] = await db.query(
    `WITH event AS (INSERT INTO events (title, venue, currency) VALUES ('S', 'H', 'KRW') RETURNING id)
     INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
     SELECT id, now() + interval '1 day', now(), 1 FROM event RETURNING id`,
  );
  return { userId, performanceId };
}

/** How long the lock check lets the migration wait before calling it stuck (its lock_timeout is 5 s). */
const STUCK_AFTER_MS = 40_000;

/**
 * Runs the pending migrations on `migrating` (a DataSource of `env`'s database) while another
 * connection's open transaction reads `table` (a report, a stuck session) or runs `holdWith`, and checks they give
 * up at their lock_timeout (not the holder's whole transaction): the error names the table and
 * says to retry, its cause is PostgreSQL's lock_not_available (55P03), and `migration` is not
 * recorded. `unchanged(other)` then checks, on the other connection and while the lock is still
 * held, that the schema is as it was. The lock is let go before this returns; a retry is the
 * caller's.
 */
export async function expectGivesUpOnLockedTable(
  env: TestEnv,
  migrating: DataSource,
  options: {
    table: string;
    migration: Function;
    unchanged: (other: DataSource) => Promise<void>;
    /** What the other transaction runs to hold its lock; a read of `table` unless given. */
    holdWith?: string;
  },
): Promise<void> {
  const other = await migrationDataSource(env, []).initialize();
  const holding = other.createQueryRunner();
  let timer: NodeJS.Timeout | undefined;
  try {
    await holding.startTransaction();
    await holding.query(options.holdWith ?? `SELECT count(*) FROM ${options.table}`);
    const startedAt = performance.now();
    const failure: unknown = await Promise.race([
      runMigrations(migrating).then(
        () => 'migrated',
        (error: unknown) => error,
      ),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(`still waiting after ${STUCK_AFTER_MS} ms`), STUCK_AFTER_MS);
      }),
    ]);
    const waitedMs = performance.now() - startedAt;
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(new RegExp(`rolled back, nothing changed: .*"${options.table}".*Retry`));
    expect((failure as Error).cause).toMatchObject({ code: '55P03' });
    // Its lock_timeout (5 s), not an immediate refusal.
    expect(waitedMs).toBeGreaterThanOrEqual(4_900);
    expect(await other.query('SELECT 1 FROM migrations WHERE name = $1', [options.migration.name])).toEqual([]);
    await options.unchanged(other);
  } finally {
    clearTimeout(timer);
    if (holding.isTransactionActive) await holding.rollbackTransaction();
    await holding.release();
    await other.destroy();
  }
}
