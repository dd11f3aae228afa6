import pg from 'pg';
import type { PoolClient } from 'pg';
import { DomainError } from '@app/core';

/**
 * No PostgreSQL connection came within DATABASE_ACQUIRE_TIMEOUT_MS: every connection of the pool
 * busy (a burst), or a new one not opened in time. Not a fault of the request, so the edge answers
 * 503 with `Retry-After` (`retryAfterSeconds`: 1 s); nothing was written. `cause` is pg's error.
 */
export class DatabaseUnavailableError extends DomainError {
  constructor(readonly cause: unknown) {
    super('unavailable', 'ServiceUnavailable', 'The service is busy; retry shortly', undefined, 1);
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
 * `error` as the domain sees it: an acquire timeout, or a row lock not had within
 * ROW_LOCK_TIMEOUT_MS, as a `DatabaseUnavailableError`; else unchanged.
 */
export function asDatabaseError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (ACQUIRE_TIMEOUTS.has(error.message)) return new DatabaseUnavailableError(error);
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
    (error as { code?: unknown }).code;
  return typeof code === 'string' && LOCK_WAITS_ENDED.has(code) ? new DatabaseUnavailableError(error) : error;
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

/**
 * pg's Client, never without an 'error' listener. PostgreSQL ending a connection (a restart,
 * `pg_terminate_backend`) while no query runs on it makes the client emit 'error'; between the
 * moment TypeORM's query runner takes its listener off and the pool puts its own on, nobody
 * listened, and the unhandled event ended the process (batch, in the connections e2e). The owner
 * still learns of it: the pool drops a broken idle client, the next query fails.
 */
class ListenedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => {});
  }
}

/**
 * pg's Pool of ListenedClients, its `connect` (how TypeORM and `query` take a connection) failing
 * as `asDatabaseError` says.
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
}

/** The `pg` module TypeORM loads (DataSourceOptions `driver`): pg itself with the translating Pool. */
export const PG_DRIVER: typeof pg = Object.create(pg, { Pool: { value: TranslatingPool } }) as typeof pg;
