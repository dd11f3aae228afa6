import pg from 'pg';
import type { PoolClient } from 'pg';
import {
  DataSource,
  QueryRunner,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { DependencyUnavailableError, DomainError, UNREACHABLE_SOCKET_CODES } from '@app/core';

/**
 * PostgreSQL cannot serve the request now (a DependencyUnavailableError: 503 with `Retry-After`,
 * 1 s). `busy`: no connection came within
 * DATABASE_ACQUIRE_TIMEOUT_MS (every connection of the pool busy, or a new one not opened in time),
 * or a row lock not within ROW_LOCK_TIMEOUT_MS; nothing was written. `down`: PostgreSQL is not
 * there (restarting, failing over, refusing connections, or it ended this connection), or did not
 * answer a statement within DATABASE_QUERY_TIMEOUT_MS (hung, frozen, cut off: the connection is
 * closed); a transaction it cut off was rolled back, though one cut off in its COMMIT may have
 * committed, and a statement of no transaction that the server had received may still run once it
 * answers again, as with any lost connection. `cause` is pg's (or TypeORM's) error.
 */
export class DatabaseUnavailableError extends DependencyUnavailableError {
  constructor(
    cause: unknown,
    readonly reason: 'busy' | 'down' = 'busy',
  ) {
    super(cause, reason === 'busy' ? 'The service is busy; retry shortly' : undefined);
  }
}

/**
 * pg's errors for a connection not had within `connectionTimeoutMillis`: the wait for a pooled
 * one (pg-pool), and the connect of a new one (its cause is the socket's error).
 */
const ACQUIRE_TIMEOUTS = new Set([
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
]);

/**
 * SQLSTATEs of a wait PostgreSQL cut short (ROW_LOCK_TIMEOUT_MS): `lock_timeout` (55P03), and
 * `idle_in_transaction_session_timeout` ending a transaction that sat on its lock (25P03).
 */
const LOCK_WAITS_ENDED = new Set(['55P03', '25P03']);

/**
 * The longest wait (ms) for a performance's row lock. Past it, the request fails as a
 * DatabaseUnavailableError (503, retried), instead of waiting on a stalled process and holding a
 * pooled connection meanwhile.
 */
export const ROW_LOCK_TIMEOUT_MS = 10_000;

/**
 * The longest a transaction holding a performance's row may sit idle (ms): a rebuild's, while it
 * writes Redis (PerformanceRepository.whileRowShared). Half the lock wait, so a change waiting
 * for the row outlasts a stalled holder by seconds, also on a loaded host (with equal bounds the
 * change's own wait could end first: a 503 instead of the change).
 */
export const IDLE_HOLDER_TIMEOUT_MS = ROW_LOCK_TIMEOUT_MS / 2;

/**
 * SQLSTATEs of a server that cannot serve now but will: `admin_shutdown` (57P01: a fast or smart
 * shutdown, `pg_terminate_backend`), `crash_shutdown` (57P02: another backend crashed),
 * `cannot_connect_now` (57P03: starting up, shutting down, in recovery), `idle_session_timeout`
 * (57P05), `too_many_connections` (53300). Besides these, the whole class 08 (connection
 * exceptions).
 */
const SERVER_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);

/**
 * pg's error for a statement PostgreSQL did not answer within `query_timeout`
 * (DATABASE_QUERY_TIMEOUT_MS): a server that stopped answering without closing its connections.
 */
export const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * pg's own errors for a connection that broke or ended under a query, or whose statement was not
 * answered in time (its connection is closed then: ListenedClient).
 */
const CLIENT_MESSAGES = new Set([
  QUERY_TIMEOUT_MESSAGE,
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

/**
 * The server's words for 57P03, for an error that lost its code (during the startup packet pg
 * may give only the message): "the database system is starting up", "… is shutting down", "… is
 * in recovery mode", "… is not yet accepting connections".
 */
const SERVER_MESSAGE_START = 'the database system is ';

/**
 * `error` as the domain sees it: an acquire timeout, or a row lock not had within
 * ROW_LOCK_TIMEOUT_MS, as a `DatabaseUnavailableError` (`busy`); PostgreSQL not there (see
 * `isDatabaseDown`) as one (`down`); a `DatabaseUnavailableError` or any other error unchanged.
 * Takes pg's errors and TypeORM's `QueryFailedError` around them (`driverError`) alike.
 */
export function asDatabaseError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof DomainError) return error;
  if (ACQUIRE_TIMEOUTS.has(error.message)) return new DatabaseUnavailableError(error);
  const code = sqlState(error);
  if (code !== undefined && LOCK_WAITS_ENDED.has(code)) return new DatabaseUnavailableError(error);
  return asDatabaseDown(error);
}

/**
 * `error` as a `DatabaseUnavailableError` (`down`) when it says PostgreSQL is not there now
 * (`isDatabaseDown`); else unchanged. What every statement raises (raiseDatabaseUnavailable); lock
 * waits and timeouts are left to the callers that bound them.
 */
export function asDatabaseDown(error: unknown): unknown {
  return !(error instanceof DomainError) && isDatabaseDown(error) ? new DatabaseUnavailableError(error, 'down') : error;
}

/**
 * True when `error` (pg's, or TypeORM's around pg's) says PostgreSQL is not there now: a
 * SQLSTATE of SERVER_UNAVAILABLE or class 08, a socket error of UNREACHABLE_SOCKET_CODES (also
 * each one of an AggregateError, Node's for an address tried on IPv4 and IPv6), pg's words for a
 * connection that broke, or the server's words for 57P03.
 */
export function isDatabaseDown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = sqlState(error);
  if (
    code !== undefined &&
    (SERVER_UNAVAILABLE.has(code) || code.startsWith('08') || UNREACHABLE_SOCKET_CODES.has(code))
  ) {
    return true;
  }
  const driverError = (error as { driverError?: unknown }).driverError;
  const message = driverError instanceof Error ? driverError.message : error.message;
  if (CLIENT_MESSAGES.has(message) || message.startsWith(SERVER_MESSAGE_START)) return true;
  const errors = (error as { errors?: unknown }).errors;
  return error instanceof AggregateError && Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseDown);
}

/** The SQLSTATE (or a socket error's code) of pg's error, or of the one TypeORM wraps. */
function sqlState(error: Error): string | undefined {
  const code = (error as { driverError?: { code?: unknown } }).driverError?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Rejects with `asDatabaseError(error)`: for a transaction that waits for a row lock. */
export function rethrowAsDatabaseError(error: unknown): never {
  throw asDatabaseError(error);
}

/**
 * Bounds the transaction's waits for locks by ROW_LOCK_TIMEOUT_MS, and, with `idle`, the time it
 * may sit idle in between its statements by IDLE_HOLDER_TIMEOUT_MS (SET LOCAL: until its end).
 */
export function boundLockWaits(
  manager: { query(sql: string, parameters?: unknown[]): Promise<unknown> },
  idle = false,
): Promise<unknown> {
  return manager.query(
    idle
      ? `SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)`
      : `SELECT set_config('lock_timeout', $1, true)`,
    idle ? [String(ROW_LOCK_TIMEOUT_MS), String(IDLE_HOLDER_TIMEOUT_MS)] : [String(ROW_LOCK_TIMEOUT_MS)],
  );
}

type ConnectCallback = (
  err: Error | undefined,
  client: PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/** What ListenedClient reaches of pg's Client: its socket, and whether it takes queries. */
interface ClientInternals {
  connection: { stream: { destroy(): void } };
  _queryable: boolean;
}

/**
 * pg's Client, never without an 'error' listener. PostgreSQL ending a connection (a restart,
 * `pg_terminate_backend`) while no query runs on it makes the client emit 'error'; between the
 * moment TypeORM's query runner takes its listener off and the pool puts its own on, nobody
 * listened, and the unhandled event ended the process (batch, in the connections e2e). The owner
 * still learns of it: the pool drops a broken idle client, the next query fails.
 *
 * A statement not answered within `query_timeout` closes the connection: pg (8.x) fails the
 * statement but leaves the client waiting for the server's answer, so a client given back to the
 * pool (TypeORM's query runners release without an error, their ROLLBACK queued behind) would
 * hold every later statement behind the silent one. Marked not queryable at once, its later
 * statements fail at once (as `down`), the pool drops it on release, and the socket is closed
 * (its end tells TypeORM's runner, as a lost connection does).
 */
class ListenedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => {});
  }

  // pg's query takes its callback last, or answers with a promise when given none.
  override query(...args: unknown[]): never {
    const query = super.query as unknown as (...args: unknown[]) => unknown;
    const last = args.at(-1);
    if (typeof last === 'function') {
      const callback = last as (error: unknown, result?: unknown) => void;
      args[args.length - 1] = (error: unknown, result?: unknown) => {
        this.closeIfUnanswered(error);
        callback(error, result);
      };
      return query.apply(this, args) as never;
    }
    const result = query.apply(this, args);
    if (!(result instanceof Promise)) return result as never;
    return result.catch((error: unknown) => {
      this.closeIfUnanswered(error);
      throw error;
    }) as never;
  }

  private closeIfUnanswered(error: unknown): void {
    if (!(error instanceof Error) || error.message !== QUERY_TIMEOUT_MESSAGE) return;
    const internals = this as unknown as ClientInternals;
    internals._queryable = false;
    internals.connection.stream.destroy();
  }
}

/**
 * Runs `work` with the statements of `runner`'s connection bounded by `timeoutMs` instead of
 * DATABASE_QUERY_TIMEOUT_MS (`false`: not bounded), then restores the bound: for statements
 * known to run longer (migrations; `batch`'s flush, bounded by the server's statement_timeout).
 * pg reads the bound from the connection's parameters at each statement.
 */
export async function withQueryTimeout<T>(
  runner: QueryRunner,
  timeoutMs: number | false,
  work: () => Promise<T>,
): Promise<T> {
  await runner.connect();
  const client = (runner as unknown as { databaseConnection: { connectionParameters: { query_timeout?: unknown } } })
    .databaseConnection;
  const parameters = client.connectionParameters;
  const before = parameters.query_timeout;
  parameters.query_timeout = timeoutMs;
  try {
    return await work();
  } finally {
    parameters.query_timeout = before;
  }
}

/**
 * pg's Pool of ListenedClients, its `connect` (how TypeORM and `query` take a connection) failing
 * as `asDatabaseError` says, and its `query` (a repository's one round trip without TypeORM) as
 * `asDatabaseDown` says.
 */
class TranslatingPool extends pg.Pool {
  constructor(options?: pg.PoolConfig) {
    super({ ...options, Client: ListenedClient as unknown as new () => pg.ClientBase });
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<PoolClient> | void {
    if (callback === undefined) {
      return super.connect().catch((error: unknown) => {
        throw asDatabaseError(error);
      });
    }
    super.connect((error, client, done) => callback(error && (asDatabaseError(error) as Error), client, done));
  }

  // pg-pool's query takes its callback last, or answers with a promise when given none.
  override query(...args: unknown[]): never {
    const query = super.query as unknown as (...args: unknown[]) => Promise<unknown> | undefined;
    const last = args.at(-1);
    if (typeof last === 'function') {
      const callback = last as (error: unknown, result?: unknown) => void;
      args[args.length - 1] = (error: unknown, result?: unknown) => callback(error && asDatabaseDown(error), result);
      return query.apply(this, args) as never;
    }
    return query.apply(this, args)!.catch((error: unknown) => {
      throw asDatabaseDown(error);
    }) as never;
  }
}

/** What raiseDatabaseUnavailable reaches of TypeORM's PostgresQueryRunner. */
interface PatchedRunner {
  query: (...args: unknown[]) => Promise<unknown>;
  releasePostgresConnection: (error?: unknown) => Promise<void>;
}

/**
 * Makes every statement of `dataSource` (its query runners': repositories, query builders,
 * transactions, their BEGIN and COMMIT) fail with `DatabaseUnavailableError` where
 * `asDatabaseDown` says so, so the services above see the domain's error, not pg's or TypeORM's
 * (the HTTP edge answers 503 with Retry-After; a worker retries as for any error). One place
 * instead of a catch at each repository. A runner whose connection broke (PostgreSQL restarted
 * or ended it) is released by TypeORM, and its next statement fails with "Query runner already
 * released" (or, through a manager, "Database connection provided by a query runner was already
 * released"): that is the lost connection too, not a bug of the caller.
 */
export function raiseDatabaseUnavailable(dataSource: DataSource): void {
  /** Runners TypeORM released because their connection failed, with the connection's error. */
  const lostRunners = new WeakMap<QueryRunner, unknown>();
  const lostAs = (runner: QueryRunner | undefined, error: unknown): unknown => {
    const lost = runner && lostRunners.get(runner);
    const released =
      error instanceof QueryRunnerAlreadyReleasedError || error instanceof QueryRunnerProviderAlreadyReleasedError;
    return lost !== undefined && released ? new DatabaseUnavailableError(lost, 'down') : asDatabaseDown(error);
  };
  const driver = dataSource.driver;
  const create = driver.createQueryRunner.bind(driver);
  driver.createQueryRunner = (mode) => {
    const runner = create(mode);
    const target = runner as unknown as PatchedRunner;
    const release = target.releasePostgresConnection.bind(runner);
    target.releasePostgresConnection = (error) => {
      if (error !== undefined && !runner.isReleased) lostRunners.set(runner, error);
      return release(error);
    };
    const query = target.query.bind(runner);
    target.query = (...args) =>
      query(...args).catch((error: unknown) => {
        throw lostAs(runner, error);
      });
    return runner;
  };
  // A manager's statement on a runner already released is refused here, before the runner's own query.
  const query = dataSource.query.bind(dataSource);
  dataSource.query = ((sql: string, parameters?: unknown[], runner?: QueryRunner) =>
    query(sql, parameters, runner).catch((error: unknown) => {
      throw lostAs(runner, error);
    })) as DataSource['query'];
}

/** The `pg` module TypeORM loads (DataSourceOptions `driver`): pg itself with the translating Pool. */
export const PG_DRIVER: typeof pg = Object.create(pg, { Pool: { value: TranslatingPool } }) as typeof pg;
