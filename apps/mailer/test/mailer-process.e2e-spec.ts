import { afterAll, describe, it } from 'vitest';
import {
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  PROCESS_TEST_TIMEOUT_MS,
  TestSmtpServer,
  waitUntil,
} from '@app/testing';
import { dataSourceOf, startRelay } from './mail-harness';
import {
  deliveriesByPurchase,
  expectOneEmailEach,
  seedPerformance,
  seedPurchases,
  SeededPurchase,
} from './purchase-fixture';

/**
 * A scene of its own for one test: a test SMTP server, an env (database, Redis prefix, RabbitMQ
 * namespace), an outbox relay in this process, 120 seats, and the built mailers the test starts.
 * Each test has one, so the two run at once: their mailer starts (two each, one after the other)
 * overlap instead of adding up.
 */
async function mailerScene() {
  const smtp = await TestSmtpServer.create();
  const env = await createTestEnv({ SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '100', MAIL_RETRY_MAX_MS: '400' });
  const relay = await startRelay(env);
  const db = dataSourceOf(relay);
  const performanceId = await seedPerformance(db, 120);
  const running: AppProcess[] = [];

  const emailsTo = (purchase: SeededPurchase) => smtp.received.filter((e) => e.to.includes(purchase.buyerEmail));
  const emailCount = (purchase: SeededPurchase) => emailsTo(purchase).length;
  return {
    smtp,
    db,
    performanceId,
    emailCount,
    /**
     * Waits until every purchase has its e-mail and its delivery row: the row commits after the
     * server's answer, so by then no message of these purchases is left to send (again).
     */
    allDelivered: (purchases: SeededPurchase[], what: string) =>
      waitUntil(
        async () => {
          const deliveries = await deliveriesByPurchase(db);
          return purchases.every((p) => emailCount(p) > 0 && deliveries.has(p.purchaseId));
        },
        what,
        45_000,
      ),
    /** Lets the mailer through a few e-mails at a time until `count` went out; it stays stalled. */
    letThrough: async (count: number) => {
      smtp.holdReplies();
      while (smtp.received.length < count) {
        await waitUntil(() => smtp.heldCount > 0, 'e-mails in flight');
        smtp.answerHeld();
      }
      await waitUntil(() => smtp.heldCount > 0, 'e-mails in flight');
    },
    /**
     * Waits until every answered e-mail of these purchases has its delivery row. Between the
     * server's answer and that commit a crash sends the e-mail again (the one window SMTP leaves,
     * see PurchaseMailService); rendering the QR codes of the other messages can keep the mailer's
     * event loop from that commit for a while. Afterwards the only e-mails in hand are unanswered.
     */
    answeredRecorded: (purchases: SeededPurchase[]) =>
      waitUntil(async () => {
        const deliveries = await deliveriesByPurchase(db);
        return purchases.every((p) => emailCount(p) === 0 || deliveries.has(p.purchaseId));
      }, 'answered e-mails recorded'),
    startMailerProcess: async () => {
      const mailer = new AppProcess('mailer', { ...env, LOG_CONSOLE: 'json' });
      running.push(mailer);
      await mailer.waitForLine('mailer started');
      return mailer;
    },
    /** Kills the mailers still running (a test that failed half-way), then closes the rest. */
    close: async () => {
      await Promise.all(running.map((mailer) => mailer.forceStop()));
      await relay.close();
      await smtp.stop();
      await destroyTestEnv(env);
    },
  };
}

/** The built `mailer` as its own process (`npm run build` first; `npm test` does). */
describe('mailer process killed or stopped mid-delivery', () => {
  const scenes: Awaited<ReturnType<typeof mailerScene>>[] = [];
  const scene = async () => {
    const made = await mailerScene();
    scenes.push(made);
    return made;
  };
  afterAll(async () => {
    await Promise.all(scenes.map((made) => made.close()));
  });

  it.concurrent(
    'SIGKILL while e-mails are in flight, restart: every purchase gets exactly one e-mail',
    async ({ expect }) => {
      const { smtp, db, performanceId, emailCount, allDelivered, letThrough, answeredRecorded, startMailerProcess } =
        await scene();
      const purchases = await seedPurchases(db, performanceId, 40);
      smtp.holdReplies();
      const first = await startMailerProcess();
      // The server stalls: the mailer has e-mails handed over but not answered, their claims uncommitted.
      await letThrough(10);
      await answeredRecorded(purchases);
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      await waitUntil(() => smtp.heldCount === 0, 'in-flight e-mails dropped with their connections');
      smtp.releaseReplies();
      const sentBeforeKill = smtp.received.length;
      expect(sentBeforeKill).toBeLessThan(40);

      const second = await startMailerProcess();
      await allDelivered(purchases, 'every e-mail after the restart');
      expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
      second.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.concurrent(
    'SIGTERM while e-mails are in flight: it finishes them, takes no more, and exits cleanly',
    async ({ expect }) => {
      const { smtp, db, performanceId, emailCount, allDelivered, letThrough, answeredRecorded, startMailerProcess } =
        await scene();
      const purchases = await seedPurchases(db, performanceId, 20);
      smtp.holdReplies();
      const mailer = await startMailerProcess();
      await letThrough(3);
      await answeredRecorded(purchases);
      mailer.kill('SIGTERM');
      // The urgent queue's consumer is cancelled: the messages in hand (at the server, or waiting for
      // one of the transport's connections) are all it will still send. Nothing is received while
      // replies are held. The bulk queue logs its own line (0 in hand), in either order.
      const stopped = await mailer.waitForLine('.purchase-completed: taking no more messages');
      const inHand = Number(/finishing (\d+) in hand/.exec(String(stopped.message))?.[1]);
      expect(inHand).toBeGreaterThan(0);
      const sentBefore = smtp.received.length;
      smtp.releaseReplies();
      expect(await mailer.exited).toEqual({ code: 0, signal: null });
      expect(mailer.dump()).toContain('stopped cleanly');
      // What was in flight was sent and recorded; the rest waits in the queue for the next mailer.
      const deliveries = await deliveriesByPurchase(db);
      expect(smtp.received.length - sentBefore).toBe(inHand);
      const done = purchases.filter((p) => emailCount(p) > 0);
      expectOneEmailEach(done, emailCount, deliveries);
      expect(purchases.filter((p) => deliveries.has(p.purchaseId)).map((p) => p.purchaseId)).toEqual(
        done.map((p) => p.purchaseId),
      );

      await startMailerProcess();
      await allDelivered(purchases, 'the rest after a new start');
      expectOneEmailEach(purchases, emailCount, await deliveriesByPurchase(db));
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
