import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, destroyTestEnv, TestEnv } from '@app/testing';
import { PaymentReconciler } from '@app/ticketing';
import { batchMetrics } from './batch-metrics';
import { BatchModule } from './batch.module';

/**
 * `batch`'s gauges of the payment attempts awaiting their second look for a charge (real
 * PostgreSQL): read at each scrape, an attempt counted while its look is to be made, and how long
 * the oldest has been due; gone from both once the reconciler made its look. The module runs no
 * loop here: the test makes the reconciler's passes itself.
 */
describe('batch metrics: attempts awaiting their second look (real PostgreSQL)', () => {
  const RECHECK_AFTER_SECONDS = 1200;
  let env: TestEnv;
  let context: INestApplicationContext;
  let registry: Registry;
  let db: DataSource;

  beforeAll(async () => {
    env = await createTestEnv({ PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS: String(RECHECK_AFTER_SECONDS) });
    context = await NestFactory.createApplicationContext(BatchModule.forRoot(env), { logger: false });
    registry = batchMetrics(context);
    db = context.get(DataSource);
  });
  afterAll(async () => {
    await context?.close();
    await destroyTestEnv(env);
  });

  /** A gauge's value as a scrape reads it. */
  const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0].value;
  const awaiting = () => gauge('boxoffice_payment_attempts_awaiting_recheck');
  const oldestDue = () => gauge('boxoffice_payment_attempt_oldest_due_recheck_seconds');

  /**
   * An attempt the reconciler settled DECLINED (`uncharged`) `settledAgo` ago, its second look at
   * `recheckIn` from now (an interval, negative when past).
   */
  async function settledUncharged(settledAgo: string, recheckIn: string): Promise<string> {
    const purchaseId = randomUUID();
    await db.query(
      `INSERT INTO payment_attempts (purchase_id, reservation_id, user_id, performance_id, amount, currency,
         idempotency_key, status, touched_at, resolved_at, recheck_at)
       VALUES ($1, $2, $3, 1, 1500, 'KRW', $1::uuid::text, 'DECLINED', now() - $4::interval, now() - $4::interval,
         now() + $5::interval)`,
      [purchaseId, randomUUID(), randomUUID(), settledAgo, recheckIn],
    );
    return purchaseId;
  }

  it('counts the attempts awaiting their look and how long the oldest is overdue; each leaves them once looked at', async () => {
    expect(await awaiting()).toBe(0);
    expect(await oldestDue()).toBe(0);

    // Settled 30 minutes ago: its look fell due 10 minutes ago, and one that failed put it 1 minute
    // ahead (claimRecheck), which does not make it any less overdue.
    const overdue = await settledUncharged('30 minutes', '1 minute');
    // Settled just now: its look is 20 minutes ahead, not due.
    const fresh = await settledUncharged('0 seconds', '20 minutes');
    // A DECLINED attempt whose second look was made long ago: not counted.
    await db.query(
      `INSERT INTO payment_attempts (purchase_id, reservation_id, user_id, performance_id, amount, currency,
         idempotency_key, status, resolved_at)
       VALUES ($1, $2, $3, 1, 1500, 'KRW', $1::uuid::text, 'DECLINED', now() - interval '2 days')`,
      [randomUUID(), randomUUID(), randomUUID()],
    );

    expect(await awaiting()).toBe(2);
    const overdueSeconds = await oldestDue();
    expect(overdueSeconds).toBeGreaterThanOrEqual(600);
    expect(overdueSeconds).toBeLessThan(3600);

    // The overdue one's look made: only the fresh one is left, due in the future.
    await db.query(`UPDATE payment_attempts SET recheck_at = now() - interval '1 second' WHERE purchase_id = $1`, [
      overdue,
    ]);
    const reconciler = context.get(PaymentReconciler);
    // The default gateway answers the charge its key would have (docs/guide/buying.md, Purchases): refunded.
    expect(await reconciler.reconcileOnce()).toBe('recheck_refunded');
    expect(await awaiting()).toBe(1);
    expect(await oldestDue()).toBe(0);

    // The fresh one's look, made due and made: none left.
    await db.query(`UPDATE payment_attempts SET recheck_at = now() - interval '1 second' WHERE purchase_id = $1`, [
      fresh,
    ]);
    expect(await reconciler.reconcileOnce()).toBe('recheck_refunded');
    expect(await reconciler.reconcileOnce()).toBeNull();
    expect(await awaiting()).toBe(0);
    expect(await oldestDue()).toBe(0);
  });
});
