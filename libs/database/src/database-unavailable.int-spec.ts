import { createServer, Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, SERVER_DATABASE_URL } from '@app/testing';
import { DataSource } from 'typeorm';
import {
  asDatabaseError,
  DatabaseUnavailableError,
  PG_DRIVER,
  raiseDatabaseUnavailable,
  withQueryTimeout,
} from './database-unavailable';

describe('a connection not had in time is a DatabaseUnavailableError (real PostgreSQL)', () => {
  // Accepts connections and never answers: a PostgreSQL that cannot open a session in time.
  let silent: Server;
  let silentPort: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket));
    silentPort = await freePort();
    await new Promise<void>((resolve) => silent.listen(silentPort, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('every connection of the pool busy: 503-kind error with Retry-After 1 s, pg error as cause', async () => {
    const pool = new PG_DRIVER.Pool({ connectionString: SERVER_DATABASE_URL, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    try {
      const error: unknown = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1 });
      expect((error as DatabaseUnavailableError).cause).toMatchObject({
        message: 'timeout exceeded when trying to connect',
      });
      // The callback form (TypeORM's) too.
      const viaCallback = await new Promise((resolve) => pool.connect((e) => resolve(e)));
      expect(viaCallback).toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      held.release();
    }
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });

  it('a new connection not opened in time: the same', async () => {
    const pool = new PG_DRIVER.Pool({ host: '127.0.0.1', port: silentPort, max: 1, connectionTimeoutMillis: 200 });
    const error: unknown = await pool.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as DatabaseUnavailableError).cause).toMatchObject({
      message: 'Connection terminated due to connection timeout',
    });
    await pool.end();
  });

  it('any other error passes unchanged', async () => {
    const pool = new PG_DRIVER.Pool({ connectionString: SERVER_DATABASE_URL, max: 1 });
    const error: unknown = await pool.query('SELEC 1').catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: '42601' });
    await pool.end();
  });

  it('a lock not had within lock_timeout is a DatabaseUnavailableError, as TypeORM or pg raises it', async () => {
    const pool = new PG_DRIVER.Pool({ connectionString: SERVER_DATABASE_URL, max: 2 });
    const holder = await pool.connect();
    const waiter = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(20261203)');
      await waiter.query('BEGIN');
      await waiter.query(`SET LOCAL lock_timeout = '50ms'`);
      const error: unknown = await waiter.query('SELECT pg_advisory_xact_lock(20261203)').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '55P03' });
      expect(asDatabaseError(error)).toBeInstanceOf(DatabaseUnavailableError);
      expect(asDatabaseError({ driverError: error })).not.toBeInstanceOf(DatabaseUnavailableError);
      expect(asDatabaseError(Object.assign(new Error('query failed'), { driverError: error }))).toBeInstanceOf(
        DatabaseUnavailableError,
      );
    } finally {
      await waiter.query('ROLLBACK');
      await holder.query('ROLLBACK');
      waiter.release();
      holder.release();
      await pool.end();
    }
  });

  it('a pooled connection PostgreSQL ends while nobody listens on its client does not end the process', async () => {
    const pool = new PG_DRIVER.Pool({ connectionString: SERVER_DATABASE_URL, max: 1 });
    const admin = new PG_DRIVER.Client({ connectionString: SERVER_DATABASE_URL });
    await admin.connect();
    try {
      const client = await pool.connect();
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      // Checked out, no query running, and no listener but the client's own (as between owners).
      const ended = new Promise((resolve) => client.once('end', resolve));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await ended;
      client.release(true);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  it('a statement whose connection PostgreSQL ends (57P01), and the commit after it, are DatabaseUnavailableErrors through TypeORM', async () => {
    const dataSource = new DataSource({
      type: 'postgres',
      driver: PG_DRIVER,
      url: SERVER_DATABASE_URL,
      extra: { max: 2 },
    });
    raiseDatabaseUnavailable(dataSource);
    await dataSource.initialize();
    const admin = new PG_DRIVER.Client({ connectionString: SERVER_DATABASE_URL });
    await admin.connect();
    try {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      const pid = ((await runner.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[])[0].pid;
      const sleeping = runner.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const ended = await sleeping;
      expect(ended).toBeInstanceOf(DatabaseUnavailableError);
      expect(ended).toMatchObject({ reason: 'down', retryAfterSeconds: 1 });
      // The commit that follows, on the dead client or on the runner TypeORM released with it, is the lost connection too.
      const commit: unknown = await runner.commitTransaction().catch((e: unknown) => e);
      expect(commit).toBeInstanceOf(DatabaseUnavailableError);
      await runner.release();
      // Other errors stay TypeORM's; the pool serves again.
      expect(await dataSource.query('SELEC 1').catch((e: unknown) => e)).not.toBeInstanceOf(DatabaseUnavailableError);
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await dataSource.destroy();
    }
  });
});

describe('a statement not answered within query_timeout (real PostgreSQL, pg_sleep standing in for a silent server)', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    // One connection: a timed-out client given back to the pool would hold every later statement.
    dataSource = new DataSource({
      type: 'postgres',
      driver: PG_DRIVER,
      url: SERVER_DATABASE_URL,
      extra: { max: 1, query_timeout: 300, connectionTimeoutMillis: 5000 },
    });
    raiseDatabaseUnavailable(dataSource);
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('fails as DatabaseUnavailableError (down) in a transaction, and its connection is never reused', async () => {
    const failed: unknown = await dataSource
      .transaction((manager) => manager.query('SELECT pg_sleep(5)'))
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(DatabaseUnavailableError);
    expect(failed).toMatchObject({ reason: 'down', retryAfterSeconds: 1 });
    // The one connection was closed and a new one opened: the next statements answer at once.
    for (let i = 0; i < 3; i += 1) expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('fails as DatabaseUnavailableError (down) outside a transaction and through the pool, its connection dropped', async () => {
    expect(await dataSource.query('SELECT pg_sleep(5)').catch((e: unknown) => e)).toBeInstanceOf(
      DatabaseUnavailableError,
    );
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const pool = (dataSource.driver as unknown as { master: InstanceType<typeof PG_DRIVER.Pool> }).master;
    expect(await pool.query('SELECT pg_sleep(5)').catch((e: unknown) => e)).toBeInstanceOf(DatabaseUnavailableError);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('withQueryTimeout lifts the bound for its work only', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await withQueryTimeout(runner, false, () => runner.query('SELECT pg_sleep(0.6)'));
      expect(await runner.query('SELECT pg_sleep(5)').catch((e: unknown) => e)).toBeInstanceOf(
        DatabaseUnavailableError,
      );
    } finally {
      await runner.release();
    }
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
