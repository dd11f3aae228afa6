import {
  DataSource,
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { describe, expect, it } from 'vitest';
import { ConflictError, DependencyUnavailableError, StoreUnavailableError } from '@app/core';
import {
  asDatabaseDown,
  asDatabaseError,
  DatabaseUnavailableError,
  PG_DRIVER,
  raiseDatabaseUnavailable,
} from './database-unavailable';

/** pg's DatabaseError as the server sends it: a message and a SQLSTATE. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
/** A Node socket error. */
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
/** TypeORM's wrapper around a driver's error. */
const failedQuery = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('asDatabaseError: PostgreSQL not there is a DatabaseUnavailableError (down)', () => {
  const down: [string, Error][] = [
    ['57P01 admin_shutdown', serverError('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', serverError('57P02', 'terminating connection because of crash of another server process')],
    ['57P03 shutting down', serverError('57P03', 'the database system is shutting down')],
    ['57P03 starting up', serverError('57P03', 'the database system is starting up')],
    ['57P05 idle_session_timeout', serverError('57P05', 'terminating connection due to idle-session timeout')],
    ['53300 too_many_connections', serverError('53300', 'sorry, too many clients already')],
    ['08006 connection_failure', serverError('08006', 'connection failure')],
    ['08003 connection_does_not_exist', serverError('08003', 'connection does not exist')],
    ['08001 unable to connect', serverError('08001', 'could not connect')],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT', socketError('ETIMEDOUT')],
    ['EPIPE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['EHOSTUNREACH', socketError('EHOSTUNREACH')],
    [
      'ECONNREFUSED on IPv6 and IPv4 (AggregateError)',
      new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''),
    ],
    ['pg: connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    ['pg: connection terminated', new Error('Connection terminated')],
    ['pg: client broke', new Error('Client has encountered a connection error and is not queryable')],
    ['pg: client closed', new Error('Client was closed and is not queryable')],
    ['57P03 words without a code', new Error('the database system is shutting down')],
    ['starting up, words without a code', new Error('the database system is starting up')],
    ['TypeORM around 57P01', failedQuery(serverError('57P01', 'terminating connection due to administrator command'))],
    ['TypeORM around a lost connection', failedQuery(new Error('Connection terminated unexpectedly'))],
    ['TypeORM around ECONNREFUSED', failedQuery(socketError('ECONNREFUSED'))],
    ['pg: no answer within query_timeout (a frozen server)', new Error('Query read timeout')],
    ['TypeORM around no answer within query_timeout', failedQuery(new Error('Query read timeout'))],
  ];
  it.each(down)('%s', (_, error) => {
    for (const translate of [asDatabaseError, asDatabaseDown]) {
      const translated = translate(error);
      expect(translated).toBeInstanceOf(DatabaseUnavailableError);
      // The shape every unavailable dependency answers with, and not Redis' (which the catalog cache rides out).
      expect(translated).toBeInstanceOf(DependencyUnavailableError);
      expect(translated).not.toBeInstanceOf(StoreUnavailableError);
      expect(translated).toMatchObject({
        kind: 'unavailable',
        code: 'ServiceUnavailable',
        reason: 'down',
        message: 'the service is temporarily unavailable; retry shortly',
        retryAfterSeconds: 1,
        cause: error,
      });
    }
  });
});

describe('what asDatabaseError leaves alone, and what only it translates', () => {
  const left: [string, unknown][] = [
    ['a syntax error', serverError('42601', 'syntax error at or near "SELEC"')],
    ['a unique violation', failedQuery(serverError('23505', 'duplicate key value violates unique constraint'))],
    ['57P04 database_dropped', serverError('57P04', 'database dropped')],
    ['57014 query_canceled (statement timeout)', serverError('57014', 'canceling statement due to statement timeout')],
    ['a runner released by its owner (a bug)', new QueryRunnerAlreadyReleasedError()],
    ['an AggregateError of other errors', new AggregateError([socketError('ECONNREFUSED'), new Error('x')], '')],
    ['a domain error', new ConflictError('already exists')],
    ['not an Error', 'the database system is shutting down'],
  ];
  it.each(left)('%s passes unchanged', (_, error) => {
    expect(asDatabaseError(error)).toBe(error);
    expect(asDatabaseDown(error)).toBe(error);
  });

  it('an acquire timeout or a lock wait ended is busy (asDatabaseError), not down: asDatabaseDown leaves it', () => {
    for (const error of [
      new Error('timeout exceeded when trying to connect'),
      serverError('55P03', 'canceling statement due to lock timeout'),
      failedQuery(serverError('55P03', 'canceling statement due to lock timeout')),
    ]) {
      expect(asDatabaseError(error)).toMatchObject({ reason: 'busy', message: 'The service is busy; retry shortly' });
      expect(asDatabaseDown(error)).toBe(error);
    }
  });

  it('a DatabaseUnavailableError passes as it is', () => {
    const error = new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'), 'down');
    expect(asDatabaseError(error)).toBe(error);
    expect(asDatabaseDown(error)).toBe(error);
  });
});

describe('raiseDatabaseUnavailable', () => {
  it('a runner TypeORM released because its connection failed: its next statement is down; one its owner released is a bug', async () => {
    // Never connects: the runners are released before any statement.
    const dataSource = new DataSource({
      type: 'postgres',
      driver: PG_DRIVER,
      url: 'postgres://postgres@127.0.0.1:1/x',
    });
    raiseDatabaseUnavailable(dataSource);
    const broken = dataSource.createQueryRunner();
    const lost = serverError('57P01', 'terminating connection due to administrator command');
    // What TypeORM does on its client's 'error' event.
    await (
      broken as unknown as { releasePostgresConnection(error?: unknown): Promise<void> }
    ).releasePostgresConnection(lost);
    const error: unknown = await broken.query('COMMIT').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ reason: 'down', cause: lost });
    // Through its manager (a repository's statement in a transaction), refused before the runner's own query.
    const viaManager: unknown = await broken.manager.query('SELECT 1').catch((e: unknown) => e);
    expect(viaManager).toBeInstanceOf(DatabaseUnavailableError);
    expect(viaManager).toMatchObject({ reason: 'down', cause: lost });

    const released = dataSource.createQueryRunner();
    await released.release();
    expect(await released.query('SELECT 1').catch((e: unknown) => e)).toBeInstanceOf(QueryRunnerAlreadyReleasedError);
    expect(await released.manager.query('SELECT 1').catch((e: unknown) => e)).toBeInstanceOf(
      QueryRunnerProviderAlreadyReleasedError,
    );
  });
});
