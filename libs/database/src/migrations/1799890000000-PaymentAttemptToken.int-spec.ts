import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { PaymentAttemptToken1799890000000 } from './1799890000000-PaymentAttemptToken';

const BEFORE = '00000000-0000-4000-8000-000000000001';
const AFTER = '00000000-0000-4000-8000-000000000002';
const TOKEN_COLUMN = `SELECT is_nullable, character_maximum_length AS length FROM information_schema.columns
  WHERE table_name = 'payment_attempts' AND column_name = 'payment_token'`;

/** Migration PaymentAttemptToken on real PostgreSQL: its bounded lock wait, the token of an attempt, and down. */
describe('migration PaymentAttemptToken (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let userId: string;
  let performanceId: number;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PaymentAttemptToken1799890000000, async (old) => {
      ({ userId, performanceId } = await insertAccountAndPerformance(old));
      // An attempt written before the upgrade (open: the reconciler may still charge it).
      await attempt(old, BEFORE);
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  function attempt(on: DataSource, id: string, token?: string): Promise<unknown> {
    const columns = 'purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status';
    return token === undefined
      ? on.query(
          `INSERT INTO payment_attempts (${columns}) VALUES ($1::uuid, gen_random_uuid(), $2, $3, 1000, 'KRW', $1::text, 'PENDING')`,
          [id, userId, performanceId],
        )
      : on.query(
          `INSERT INTO payment_attempts (${columns}, payment_token)
           VALUES ($1::uuid, gen_random_uuid(), $2, $3, 1000, 'KRW', $1::text, 'PENDING', $4)`,
          [id, userId, performanceId, token],
        );
  }

  it('gives up within its lock_timeout while another transaction holds payment_attempts, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'payment_attempts',
      migration: PaymentAttemptToken1799890000000,
      unchanged: async (other) => expect(await other.query(TOKEN_COLUMN)).toEqual([]),
    });
  }, 60_000);

  it('adds a nullable token of up to 500 characters: an attempt from before has none', async () => {
    expect(await runMigrations(db)).toContain(PaymentAttemptToken1799890000000.name);
    expect(await db.query(TOKEN_COLUMN)).toEqual([{ is_nullable: 'YES', length: 500 }]);
    await attempt(db, AFTER, 'x'.repeat(500));
    await expect(attempt(db, '00000000-0000-4000-8000-000000000003', 'x'.repeat(501))).rejects.toThrow(/too long/);
    expect(
      await db.query(`SELECT purchase_id, length(payment_token) AS length FROM payment_attempts ORDER BY 1`),
    ).toEqual([
      { purchase_id: BEFORE, length: null },
      { purchase_id: AFTER, length: 500 },
    ]);
  });

  it('goes back down: the column gone, the attempts kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(await db.query(TOKEN_COLUMN)).toEqual([]);
    expect(await db.query(`SELECT purchase_id FROM payment_attempts ORDER BY 1`)).toEqual([
      { purchase_id: BEFORE },
      { purchase_id: AFTER },
    ]);
  });
});
