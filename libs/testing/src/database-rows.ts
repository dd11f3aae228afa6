import { randomUUID } from 'node:crypto';
import { DataSource, DataSourceOptions } from 'typeorm';
import { parseEnv } from '@app/config';
import { dataSourceOptions, ensureDatabase, PurchaseRepository, PurchaseStatus, runMigrations } from '@app/database';
import { dropDatabase } from './services';
import { createTestEnv, createTestEnvWithoutDatabase, TestEnv } from './test-env';

/**
 * Rows the repository int-specs write straight into PostgreSQL to arrange a case: accounts, a
 * show with seats, a paid purchase with its tickets. Prices in minor units of KRW.
 */

/** A database of a test file's own (createTestEnv), migrated and open; see {@link openMigratedDatabase}. */
export interface MigratedDatabase {
  env: TestEnv;
  db: DataSource;
  /** Destroys the DataSource and drops the database. */
  close(): Promise<void>;
}

/** `env` and its open `db`, with the `close` that destroys the one and drops the other's database. */
export function withClose(env: TestEnv, db: DataSource): MigratedDatabase {
  return {
    env,
    db,
    close: async () => {
      await db.destroy();
      await dropDatabase(env.DATABASE_URL);
    },
  };
}

/**
 * The test's own wait for a statement's answer, in ms: a fixture of hundreds of thousands of rows
 * (the sales report's 200,000 tickets) took more than the api's 15 s on a loaded CI host. Specs of
 * the wait itself open their own connection with theirs.
 */
const FIXTURE_QUERY_TIMEOUT_MS = 300_000;

/** The apps' DataSource options on `env`'s database, with the test's FIXTURE_QUERY_TIMEOUT_MS. */
function testDataSourceOptions(env: TestEnv): DataSourceOptions {
  return dataSourceOptions({ ...parseEnv(env), DATABASE_QUERY_TIMEOUT_MS: FIXTURE_QUERY_TIMEOUT_MS });
}

/**
 * Makes the test file's database, runs the migrations on it and opens it as a TypeORM DataSource
 * whose statements may run for up to FIXTURE_QUERY_TIMEOUT_MS.
 */
export async function openMigratedDatabase(): Promise<MigratedDatabase> {
  const env = await createTestEnv();
  await ensureDatabase(env.DATABASE_URL);
  const db = await new DataSource(testDataSourceOptions(env)).initialize();
  await runMigrations(db);
  return withClose(env, db);
}

/**
 * Inserts an account under `email` (also its key: give it in lower case), named `name`, with a
 * password hash nothing matches; its e-mail verified now when `verified`. Answers its id.
 */
export async function insertUser(db: DataSource, email: string, name: string, verified = false): Promise<string> {
  const [{ id }] = await db.query(
    `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
     VALUES ($1::text, $1::text, $2, 'not-a-hash', CASE WHEN $3::boolean THEN now() END) RETURNING id`,
    [email, name, verified],
  );
  return id;
}

/**
 * Inserts an event `title` at Hall in KRW with one performance on sale since now, starting at
 * `startsAt` (default 2030-03-01T10:00:00Z), of `seats` seats (default none): section A, row 1
 * (label '1'), numbers and positions 1 to `seats`, grade R, 1000 each. Answers the performance's
 * id and its seat ids in position order.
 */
export async function insertShow(
  db: DataSource,
  options: { title?: string; startsAt?: Date | string; seats?: number } = {},
): Promise<{ performanceId: number; seatIds: number[] }> {
  const seats = options.seats ?? 0;
  const [event] = await db.query(
    `INSERT INTO events (title, venue, currency) VALUES ($1, 'Hall', 'KRW') RETURNING id`,
    [options.title ?? 'Show'],
  );
  const [{ id: performanceId }] = await db.query(
    `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats) VALUES ($1, $2, now(), $3) RETURNING id`,
    [event.id, options.startsAt ?? '2030-03-01T10:00:00Z', seats],
  );
  const rows: { id: number }[] = await db.query(
    `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
     SELECT $1, n, 'A', 1, '1', n, 'R', 1000 FROM generate_series(1, $2::int) n RETURNING id`,
    [performanceId, seats],
  );
  return { performanceId, seatIds: rows.map((row) => row.id).sort((a, b) => a - b) };
}

/**
 * Writes a PAID purchase of `seatIds` by `userId` as the flusher does (PurchaseRepository.writeBatch,
 * 30 s statement bound), for 1000 a seat in KRW. Answers its id and its tickets' ids in seat order.
 * Needs today's schema (every migration run): not for a migration's spec before it runs.
 */
export async function writePaidPurchase(
  db: DataSource,
  purchase: { userId: string; performanceId: number; seatIds: number[] },
): Promise<{ purchaseId: string; ticketIds: string[] }> {
  const purchaseId = randomUUID();
  await new PurchaseRepository(db).writeBatch(
    {
      purchases: [
        {
          id: purchaseId,
          reservationId: randomUUID(),
          userId: purchase.userId,
          performanceId: purchase.performanceId,
          seatIds: purchase.seatIds,
          amount: 1000 * purchase.seatIds.length,
          currency: 'KRW',
          chargeId: `charge-${purchaseId}`,
          status: PurchaseStatus.Paid,
          createdAt: new Date(),
          canceledAt: null,
        },
      ],
      cancellations: [],
    },
    { statementTimeoutMs: 30_000 },
  );
  const rows: { id: string }[] = await db.query(
    `SELECT id::text AS id FROM tickets WHERE purchase_id = $1 ORDER BY seat_id`,
    [purchaseId],
  );
  return { purchaseId, ticketIds: rows.map((row) => row.id) };
}

/** A DataSource on `env`'s database that knows only `migrations`, not initialized (a migration's int-spec runs them). */
export function migrationDataSource(env: TestEnv, migrations: Function[]): DataSource {
  return new DataSource({ ...testDataSourceOptions(env), migrations });
}

/**
 * A database of its own (createTestEnvWithoutDatabase: no template, nothing migrated) with only
 * `migrations` run on it, open on a DataSource that knows them: the state a migration under test
 * meets. `close` destroys the DataSource and drops the database.
 */
export async function openDatabaseWith(migrations: Function[]): Promise<MigratedDatabase> {
  const env = createTestEnvWithoutDatabase();
  await ensureDatabase(env.DATABASE_URL);
  const db = await migrationDataSource(env, migrations).initialize();
  await runMigrations(db);
  return withClose(env, db);
}
