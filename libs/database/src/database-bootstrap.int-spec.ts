import type { MigrationInterface, QueryRunner } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, dropDatabase, freePort } from '@app/testing';
import { dataSourceOptions } from './data-source.options';
import { DatabaseConnectError, openDatabase, runMigrations } from './database-bootstrap';
import { DatabaseUnavailableError, raiseDatabaseUnavailable } from './database-unavailable';

describe('openDatabase (real PostgreSQL)', () => {
  const env = createTestEnvWithoutDatabase();
  afterAll(async () => dropDatabase(env.DATABASE_URL));

  it('creates a missing database and opens it', async () => {
    const options = dataSourceOptions(parseEnv(env));
    const dataSource = await openDatabase({ ...options, url: env.DATABASE_URL });
    try {
      expect(await dataSource.query('SELECT current_database() AS name')).toEqual([
        { name: new URL(env.DATABASE_URL).pathname.slice(1) },
      ]);
    } finally {
      await dataSource.destroy();
    }
  });

  // PostgreSQL down, as the start sees it: nothing listens at DATABASE_URL's port.
  it('says which host:port of DATABASE_URL it could not reach, and not its password', async () => {
    const port = await freePort();
    const url = `postgres://boxoffice:pg-secret-password@127.0.0.1:${port}/boxoffice`;
    const options = dataSourceOptions(parseEnv({ ...env, DATABASE_URL: url }));
    const failure = await openDatabase({ ...options, url }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseConnectError);
    const { message } = failure as DatabaseConnectError;
    expect(message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(String((failure as Error).stack)).not.toContain('pg-secret-password');
  });
});

/** A migration slower than the test's DATABASE_QUERY_TIMEOUT_MS (an index build, a backfill). */
class SlowMigration1700000000000 implements MigrationInterface {
  name = 'SlowMigration1700000000000';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('SELECT pg_sleep(1.5)');
  }
  async down(): Promise<void> {}
}

describe('runMigrations (real PostgreSQL)', () => {
  const env = createTestEnvWithoutDatabase();
  afterAll(async () => dropDatabase(env.DATABASE_URL));

  it('runs a migration longer than DATABASE_QUERY_TIMEOUT_MS, which still bounds the other statements', async () => {
    const options = dataSourceOptions(parseEnv({ ...env, DATABASE_QUERY_TIMEOUT_MS: '1000' }));
    const dataSource = await openDatabase(
      {
        ...options,
        migrations: [SlowMigration1700000000000],
        url: env.DATABASE_URL,
      },
      raiseDatabaseUnavailable,
    );
    try {
      expect(await runMigrations(dataSource)).toEqual(['SlowMigration1700000000000']);
      expect(await dataSource.query('SELECT pg_sleep(1.5)').catch((e: unknown) => e)).toBeInstanceOf(
        DatabaseUnavailableError,
      );
    } finally {
      await dataSource.destroy();
    }
  });
});
