import { createHash } from 'node:crypto';
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
import { PaymentAttemptTokenSettled1799940000000 } from './1799940000000-PaymentAttemptTokenSettled';
import { PaymentAttemptRecheckIndex1799940000001 } from './1799940000001-PaymentAttemptRecheckIndex';

const NEW_COLUMNS = `SELECT column_name FROM information_schema.columns
  WHERE table_name = 'payment_attempts' AND column_name IN ('payment_token_sha256', 'recheck_at') ORDER BY 1`;

/** Attempts written before the upgrade, one of each status with a token, and one without. */
const BEFORE: [id: string, status: string, token: string | null][] = [
  ['00000000-0000-4000-8000-000000000001', 'PENDING', 'pm_pending'],
  ['00000000-0000-4000-8000-000000000002', 'CHARGED', 'pm_charged'],
  ['00000000-0000-4000-8000-000000000003', 'COMPLETED', 'pm_completed'],
  ['00000000-0000-4000-8000-000000000004', 'REFUND_OWED', 'pm_owed'],
  ['00000000-0000-4000-8000-000000000005', 'REFUNDED', 'pm_refunded'],
  ['00000000-0000-4000-8000-000000000006', 'DECLINED', 'tok_decline'],
  ['00000000-0000-4000-8000-000000000007', 'COMPLETED', null],
];

/**
 * Migration PaymentAttemptTokenSettled on real PostgreSQL: the bounded lock wait, the tokens of
 * settled attempts cleared (their SHA-256 kept), and down.
 */
describe('migration PaymentAttemptTokenSettled (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, PaymentAttemptTokenSettled1799940000000, async (old) => {
      const { userId, performanceId } = await insertAccountAndPerformance(old);
      for (const [id, status, token] of BEFORE) {
        await old.query(
          `INSERT INTO payment_attempts
             (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status, payment_token)
           VALUES ($1::uuid, gen_random_uuid(), $2, $3, 1000, 'KRW', $1::text, $4, $5)`,
          [id, userId, performanceId, status, token],
        );
      }
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  it('gives up within its lock_timeout while another transaction holds payment_attempts, changes nothing, and says to retry', async () => {
    await expectGivesUpOnLockedTable(database.env, db, {
      table: 'payment_attempts',
      migration: PaymentAttemptTokenSettled1799940000000,
      unchanged: async (other) => expect(await other.query(NEW_COLUMNS)).toEqual([]),
    });
  }, 60_000);

  it('adds the columns and changes no row; the next migration, outside a transaction and in batches, clears the token of every settled attempt, keeps an open one’s, and keeps the SHA-256 of each', async () => {
    expect(await runMigrations(db)).toContain(PaymentAttemptTokenSettled1799940000000.name);
    const unchanged: { payment_token: string | null; payment_token_sha256: Buffer | null }[] = await db.query(
      `SELECT payment_token, payment_token_sha256 FROM payment_attempts ORDER BY purchase_id`,
    );
    expect(unchanged).toEqual(BEFORE.map(([, , token]) => ({ payment_token: token, payment_token_sha256: null })));

    // More than one batch of the backfill (1,000 an UPDATE): settled attempts of an on-sale.
    await db.query(
      `INSERT INTO payment_attempts
         (purchase_id, reservation_id, user_id, performance_id, amount, currency, idempotency_key, status, payment_token)
       SELECT gen_random_uuid(), gen_random_uuid(), a.user_id, a.performance_id, 1000, 'KRW', 'bulk-' || n, 'COMPLETED', 'pm_bulk_' || n
       FROM generate_series(1, 2500) n, (SELECT user_id, performance_id FROM payment_attempts LIMIT 1) a`,
    );
    const runner = db.createQueryRunner();
    try {
      await new PaymentAttemptRecheckIndex1799940000001().up(runner);
    } finally {
      await runner.release();
    }
    const rows: { purchase_id: string; payment_token: string | null; payment_token_sha256: Buffer | null }[] =
      await db.query(
        `SELECT purchase_id, payment_token, payment_token_sha256, recheck_at FROM payment_attempts
         WHERE idempotency_key NOT LIKE 'bulk-%' ORDER BY 1`,
      );
    expect(rows).toEqual(
      BEFORE.map(([id, status, token]) => ({
        purchase_id: id,
        payment_token: status === 'PENDING' || status === 'CHARGED' ? token : null,
        payment_token_sha256: token === null ? null : createHash('sha256').update(token).digest(),
        recheck_at: null,
      })),
    );
    const [bulk] = await db.query(
      `SELECT count(*)::int AS attempts,
              count(*) FILTER (WHERE payment_token_sha256 =
                sha256(convert_to(replace(idempotency_key, 'bulk-', 'pm_bulk_'), 'UTF8')))::int AS digested,
              count(*) FILTER (WHERE payment_token IS NOT NULL)::int AS with_token
       FROM payment_attempts WHERE idempotency_key LIKE 'bulk-%'`,
    );
    expect(bulk).toEqual({ attempts: 2500, digested: 2500, with_token: 0 });
  });

  it('goes back down: the columns gone, the attempts kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(await db.query(NEW_COLUMNS)).toEqual([]);
    expect(await db.query(`SELECT count(*)::int AS count FROM payment_attempts`)).toEqual([
      { count: BEFORE.length + 2500 },
    ]);
  });
});
