import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, createTestEnv, destroyTestEnv, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { dataSourceOf, startRelay } from './mail-harness';
import { deliveriesByPurchase, seedPerformance, seedPurchases, SeededPurchase } from './purchase-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The built `mailer` as its own process (`npm run build` first; `npm test` does). */
describe('mailer process killed or stopped mid-delivery', () => {
  let env: TestEnv;
  let smtp: TestSmtpServer;
  let relay: INestApplicationContext;
  let db: DataSource;
  let performanceId: number;
  const running: AppProcess[] = [];

  const emailsTo = (purchase: SeededPurchase) => smtp.received.filter((e) => e.to.includes(purchase.buyerEmail));
  /** Lets the mailer through a few e-mails at a time until `count` went out; it stays stalled. */
  const letThrough = async (count: number) => {
    smtp.holdReplies();
    while (smtp.received.length < count) {
      await waitUntil(() => smtp.heldCount > 0, 'e-mails in flight');
      smtp.answerHeld();
    }
    await waitUntil(() => smtp.heldCount > 0, 'e-mails in flight');
  };
  const startMailerProcess = async () => {
    const mailer = new AppProcess('mailer', { ...env, LOG_CONSOLE: 'json' });
    running.push(mailer);
    await mailer.waitForLine('mailer started');
    return mailer;
  };

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    env = createTestEnv({ SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '100', MAIL_RETRY_MAX_MS: '400' });
    relay = await startRelay(env);
    db = dataSourceOf(relay);
    performanceId = await seedPerformance(db, 120);
  });
  afterAll(async () => {
    for (const mailer of running) mailer.kill('SIGKILL');
    await relay?.close();
    await smtp?.stop();
    await destroyTestEnv(env);
  });

  it('SIGKILL while e-mails are in flight, restart: every purchase gets exactly one e-mail', async () => {
    const purchases = await seedPurchases(db, performanceId, 40);
    smtp.holdReplies();
    const first = await startMailerProcess();
    // The server stalls: the mailer has e-mails handed over but not answered, their claims uncommitted.
    await letThrough(10);
    await sleep(300);
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await waitUntil(() => smtp.heldCount === 0, 'in-flight e-mails dropped with their connections');
    smtp.releaseReplies();
    const sentBeforeKill = smtp.received.length;
    expect(sentBeforeKill).toBeLessThan(40);

    const second = await startMailerProcess();
    await waitUntil(() => purchases.every((p) => emailsTo(p).length > 0), 'every e-mail after the restart', 45_000);
    await sleep(500);
    expect(purchases.map((p) => emailsTo(p).length)).toEqual(purchases.map(() => 1));
    const deliveries = await deliveriesByPurchase(db);
    expect(purchases.every((p) => deliveries.get(p.purchaseId) === 1)).toBe(true);
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM while e-mails are in flight: it finishes them, takes no more, and exits cleanly', async () => {
    const purchases = await seedPurchases(db, performanceId, 20);
    smtp.holdReplies();
    const mailer = await startMailerProcess();
    await letThrough(40 + 3);
    mailer.kill('SIGTERM');
    await mailer.waitForLine('SIGTERM received');
    await sleep(300);
    const inFlight = smtp.heldCount;
    smtp.releaseReplies();
    expect(await mailer.exited).toEqual({ code: 0, signal: null });
    expect(mailer.dump()).toContain('stopped cleanly');
    // What was in flight was sent and recorded; the rest waits in the queue for the next mailer.
    const deliveries = await deliveriesByPurchase(db);
    const done = purchases.filter((p) => emailsTo(p).length === 1);
    expect(done.length).toBeGreaterThanOrEqual(inFlight);
    expect(done.every((p) => deliveries.get(p.purchaseId) === 1)).toBe(true);
    expect(purchases.filter((p) => deliveries.has(p.purchaseId))).toHaveLength(done.length);

    await startMailerProcess();
    await waitUntil(() => purchases.every((p) => emailsTo(p).length > 0), 'the rest after a new start', 45_000);
    await sleep(500);
    expect(purchases.map((p) => emailsTo(p).length)).toEqual(purchases.map(() => 1));
  });
});
