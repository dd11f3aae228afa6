import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { topologyOf } from '@app/messaging';
import { AppProcess, createTestEnv, destroyTestEnv, freePort, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { BatchModule } from '../../batch/src/batch.module';
import { dataSourceOf, inspectBroker } from './mail-harness';
import { seedPerformance, seedPurchases } from './purchase-fixture';

/** The value of one series in a Prometheus text page, or undefined when it is not there. */
function valueOf(page: string, series: string): number | undefined {
  const line = page.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Built `batch` and `mailer` processes: their METRICS_PORT counters follow the work they do. */
describe('batch and mailer metrics count the work done', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let context: INestApplicationContext;
  const ports = { batch: 0, mailer: 0 };
  const running: AppProcess[] = [];

  const scrape = async (app: 'batch' | 'mailer') => (await fetch(`http://127.0.0.1:${ports[app]}/metrics`)).text();

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({ SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: '2', MAIL_RETRY_BASE_MS: '100' });
    // Only for the database (migrated at its start) and the fixtures; it runs no loop.
    context = await NestFactory.createApplicationContext(BatchModule.forRoot(env), { logger: false });
    for (const app of ['batch', 'mailer'] as const) {
      ports[app] = await freePort();
      const proc = new AppProcess(app, { ...env, PORT: String(await freePort()), METRICS_PORT: String(ports[app]) });
      running.push(proc);
      await proc.waitForLine(`${app} started`);
    }
  });
  afterAll(async () => {
    for (const proc of running) proc.kill('SIGKILL');
    await Promise.all(running.map((proc) => proc.exited));
    await context?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('batch counts the outbox it published and its backlog; mailer counts e-mails sent and failed', async () => {
    const db = dataSourceOf(context);
    const performanceId = await seedPerformance(db, 20);
    await seedPurchases(db, performanceId, 3);

    await waitUntil(
      async () => valueOf(await scrape('mailer'), 'boxoffice_mail_deliveries_total{outcome="sent"}') === 3,
      'three e-mails counted as sent',
      30_000,
    );
    expect(smtp.received.length).toBe(3);
    const batch = await scrape('batch');
    expect(valueOf(batch, 'boxoffice_outbox_published_total')).toBe(3);
    expect(valueOf(batch, 'boxoffice_outbox_backlog')).toBe(0);

    // A message the mailer cannot read is parked at once: counted as failed, never retried.
    const broker = await inspectBroker(topologyOf(parseEnv(env)));
    try {
      await broker.publishPurchaseCompleted({ hello: 'world' }, 'garbage');
    } finally {
      await broker.close();
    }
    await waitUntil(
      async () => valueOf(await scrape('mailer'), 'boxoffice_mail_deliveries_total{outcome="failed"}') === 1,
      'the malformed message counted as failed',
    );
    expect(valueOf(await scrape('mailer'), 'boxoffice_mail_deliveries_total{outcome="retried"}')).toBe(0);
  });

  it('batch shows the open payment attempts (a refund owed, and how long) and counts the reconciliation that refunds it', async () => {
    const db = dataSourceOf(context);
    const performanceId = await seedPerformance(db, 4);
    const [purchase] = await seedPurchases(db, performanceId, 1, { withOutbox: false });
    await db.query(
      `UPDATE purchases SET status = 'CANCELED', canceled_at = now() - interval '2 minutes' WHERE id = $1`,
      [purchase.purchaseId],
    );
    // Owed, and not due yet (touched now; PAYMENT_RECONCILE_AFTER_SECONDS is 60 s).
    await db.query(
      `INSERT INTO payment_attempts (purchase_id, reservation_id, user_id, performance_id, amount, currency,
         idempotency_key, charge_id, status)
       SELECT id, reservation_id, user_id, performance_id, amount, currency, id::text, 'ch_' || id, 'REFUND_OWED'
       FROM purchases WHERE id = $1`,
      [purchase.purchaseId],
    );
    const owed = await scrape('batch');
    expect(valueOf(owed, 'boxoffice_payment_attempts_open{status="REFUND_OWED"}')).toBe(1);
    expect(valueOf(owed, 'boxoffice_payment_attempts_open{status="PENDING"}')).toBe(0);
    expect(valueOf(owed, 'boxoffice_payment_attempt_oldest_open_seconds{status="REFUND_OWED"}')).toBeGreaterThanOrEqual(
      120,
    );
    expect(valueOf(owed, 'boxoffice_payment_reconciliations_total{outcome="refunded"}')).toBe(0);
    expect(valueOf(owed, 'boxoffice_payment_reconciliations_total{outcome="failed"}')).toBe(0);

    await db.query(`UPDATE payment_attempts SET touched_at = '-infinity' WHERE purchase_id = $1`, [
      purchase.purchaseId,
    ]);
    await waitUntil(
      async () => valueOf(await scrape('batch'), 'boxoffice_payment_reconciliations_total{outcome="refunded"}') === 1,
      'the owed refund made and counted',
    );
    const [attempt]: { status: string }[] = await db.query(
      'SELECT status FROM payment_attempts WHERE purchase_id = $1',
      [purchase.purchaseId],
    );
    expect(attempt.status).toBe('REFUNDED');
    const settled = await scrape('batch');
    expect(valueOf(settled, 'boxoffice_payment_attempts_open{status="REFUND_OWED"}')).toBe(0);
    expect(valueOf(settled, 'boxoffice_payment_attempt_oldest_open_seconds{status="REFUND_OWED"}')).toBe(0);
  });
});
