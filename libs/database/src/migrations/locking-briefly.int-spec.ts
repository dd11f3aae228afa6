import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, dropDatabase } from '@app/testing';
import { dataSourceOptions } from '../data-source.options';
import { openDatabase } from '../database-bootstrap';
import { lockingBriefly } from './locking-briefly';

const LOCKED = { migration: 'Example1', tables: '"guarded"', stalls: 'every read of it', holders: 'it' };

describe('lockingBriefly outside a transaction (a revert with --transaction none; real PostgreSQL)', () => {
  const env = createTestEnvWithoutDatabase();
  afterAll(async () => dropDatabase(env.DATABASE_URL));

  it("bounds the lock wait of a statement run in no transaction, then puts the session's bound back", async () => {
    const dataSource = await openDatabase({ ...dataSourceOptions(parseEnv(env)), url: env.DATABASE_URL });
    const holder = new Client({ connectionString: env.DATABASE_URL });
    const runner = dataSource.createQueryRunner();
    try {
      await dataSource.query('CREATE TABLE guarded (id integer)');
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE guarded IN ACCESS SHARE MODE');
      await runner.connect();
      expect(runner.isTransactionActive).toBe(false);
      // Without the bound the ALTER would wait for the holder's transaction forever.
      const failure = await lockingBriefly(runner, LOCKED, async () => {
        await runner.query('ALTER TABLE guarded ADD COLUMN extra integer');
      }).catch((error: unknown) => error);
      expect(String((failure as Error).message)).toMatch(/^Migration Example1 rolled back, nothing changed/);
      expect(await runner.query('SHOW lock_timeout')).toEqual([{ lock_timeout: '0' }]);
    } finally {
      await holder.end().catch(() => undefined);
      await runner.release();
      await dataSource.destroy();
    }
  });
});
