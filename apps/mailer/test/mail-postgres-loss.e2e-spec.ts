import { INestApplicationContext } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestEnv,
  createTestEnvWithoutDatabase,
  destroyTestEnv,
  PrivatePostgres,
  TestEnv,
  TestSmtpServer,
  waitUntil,
} from '@app/testing';
import { dataSourceOf, handledSince, mailOutcomes, startMailer, startRelay } from './mail-harness';
import { deliveriesByPurchase, expectOneEmailEach, seedPerformance, seedPurchases } from './purchase-fixture';

/**
 * PostgreSQL lost between the SMTP server's answer and the commit of the delivery row: as the
 * test SMTP server takes each e-mail, before it answers, the test ends (pg_terminate_backend) the
 * sessions that sit in a transaction holding a claim (a lock on email_deliveries) on the test's
 * database, the mailer's, and not the fixture's, still seeding later purchases; the commit that should follow the answer fails ("terminating connection due to
 * administrator command", the runner released). The same happens to a mailer whose PostgreSQL
 * restarts at that moment. Only the test's own database is touched on the shared server.
 */
describe('purchase e-mails when PostgreSQL ends the mailer’s connection after the SMTP server took the e-mail', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let admin: Client;
  let performanceId: number;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({ SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '100', MAIL_RETRY_MAX_MS: '400' });
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    admin = new Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
    performanceId = await seedPerformance(db, 20);
  });
  afterAll(async () => {
    await admin?.end();
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('sends each e-mail once: the delivery is recorded once PostgreSQL answers, not sent again', async () => {
    const ended = new Map<string, number>();
    smtp.beforeAnswering(async (email) => {
      // Only the first copy of each message: a second copy (the bug) is taken as it comes.
      if (ended.has(email.messageIdHeader)) return;
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'
            AND pid IN (SELECT pid FROM pg_locks WHERE relation = 'email_deliveries'::regclass)`,
      );
      ended.set(email.messageIdHeader, rowCount ?? 0);
    });
    const before = await mailOutcomes(mailer);
    const purchases = await seedPurchases(db, performanceId, 10);

    // Every message settled for good (a try that threw is counted as `retried`, not here), and any
    // second copy a retry would send is out by then.
    await waitUntil(async () => (await handledSince(mailer, before)) >= purchases.length, 'every message handled');
    expect(smtp.hookFailures).toEqual([]);
    // A claim transaction ended under each e-mail (one hook may end several: the mailer sends at once).
    expect([...ended.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(purchases.length);
    const emailCount = (purchase: (typeof purchases)[number]) =>
      smtp.received.filter((e) => e.to.includes(purchase.buyerEmail)).length;
    expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
    expect(new Set(smtp.received.map((e) => e.messageIdHeader)).size).toBe(smtp.received.length);
    const rows: { smtp_message_id: string | null; uncertain: boolean }[] = await db.query(
      'SELECT smtp_message_id, uncertain FROM email_deliveries',
    );
    expect(rows.every((row) => row.smtp_message_id !== null && !row.uncertain)).toBe(true);
    smtp.beforeAnswering(undefined);
  });
});

/**
 * PostgreSQL stopped (`pg_ctl -m fast stop`, a server of the test's own) the moment the SMTP server
 * has the first e-mail, and started again 2 s later: the mailer learns the e-mail was taken while
 * PostgreSQL refuses connections, and records it once PostgreSQL is back.
 */
describe('purchase e-mails when PostgreSQL restarts while the SMTP server takes one', () => {
  let pg: PrivatePostgres;
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let performanceId: number;
  let restarted: Promise<void> | undefined;

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    smtp = await TestSmtpServer.create();
    const base = createTestEnvWithoutDatabase({
      SMTP_URL: smtp.url,
      MAIL_RETRY_BASE_MS: '100',
      MAIL_RETRY_MAX_MS: '400',
      // Retried while PostgreSQL is down, never dead-lettered for it.
      MAIL_MAX_ATTEMPTS: '50',
    });
    // The name the shared server's test databases have, so destroyTestEnv drops nothing else there.
    env = { ...base, DATABASE_URL: pg.url(new URL(base.DATABASE_URL).pathname.slice(1)) };
    relay = await startRelay(env);
    mailer = await startMailer(env);
    db = dataSourceOf(relay);
    performanceId = await seedPerformance(db, 20);
  });
  afterAll(async () => {
    await restarted;
    await mailer?.close();
    await relay?.close();
    await smtp?.stop();
    if (env) await destroyTestEnv(env);
    await pg?.destroy();
  });

  it('sends each e-mail once', async () => {
    let stopped: Promise<void> | undefined;
    // Each e-mail in flight at the first one is answered once PostgreSQL is down too.
    smtp.beforeAnswering(async () => {
      if (!stopped) {
        stopped = pg.stop();
        restarted = stopped
          .then(() => new Promise((resolve) => setTimeout(resolve, 2_000)))
          .then(() => pg.startServer());
      }
      await stopped;
    });
    const before = await mailOutcomes(mailer);
    const purchases = await seedPurchases(db, performanceId, 5);

    await waitUntil(
      async () => restarted !== undefined && (await handledSince(mailer, before).catch(() => 0)) >= purchases.length,
      'every message handled',
      45_000,
    );
    await restarted;
    expect(smtp.hookFailures).toEqual([]);
    const emailCount = (purchase: (typeof purchases)[number]) =>
      smtp.received.filter((e) => e.to.includes(purchase.buyerEmail)).length;
    expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
    smtp.beforeAnswering(undefined);
  });
});
