import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { Role } from '@app/auth';
import {
  ApiHarness,
  AppProcess,
  createSession,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestSession,
  waitUntil,
} from '@app/testing';
import { caller, createPerformance, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

/**
 * A canceled performance's bulk refund survives `batch` being killed: once right after a cancel
 * script (FAULT_CRASH_AFTER_CANCEL, before that purchase's PostgreSQL write and refund), once by
 * SIGKILL from outside while two batch processes refund side by side; started again, they refund
 * every purchase exactly once (attempt REFUNDED, one cancellation notice, every seat counted back
 * once). Built batch processes; real PostgreSQL and Redis.
 */
describe('bulk refund with batch killed mid-way (built batch processes, real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let admin: TestSession;
  let call: ReturnType<typeof caller>;
  let noBroker: number;
  const processes: AppProcess[] = [];

  const startBatch = async (faults: Record<string, string> = {}) => {
    const batch = new AppProcess('batch', {
      ...api.env,
      // RabbitMQ out of reach, so the outbox rows stay where the cancellations wrote them to be counted.
      RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${noBroker}`,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      ...faults,
    });
    processes.push(batch);
    await batch.waitForLine('batch started');
    return batch;
  };

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    noBroker = await freePort();
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(async () => {
    for (const batch of processes) batch.kill('SIGKILL');
    await Promise.all(processes.map((batch) => batch.exited));
    await db?.end();
    await api?.close();
  });

  it(
    'killed after a cancel script and mid-refund, started again: every purchase refunded exactly once',
    async () => {
      const total = 320;
      const performance = await createPerformance(api.app, admin, 400);
      const buyers = await Promise.all(Array.from({ length: 8 }, () => createSession(api.app)));
      // Each buyer buys one seat after another: 40 purchases each.
      await Promise.all(
        buyers.map(async (buyer, b) => {
          for (let i = 0; i < total / buyers.length; i++) {
            const held = await hold(api.app, buyer, performance.id, [performance.seatIds[b * 40 + i]]);
            const sold = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
            expect(sold.statusCode, sold.body).toBe(201);
          }
        }),
      );
      await flushPurchases(api.app);
      const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
      expect(canceled.statusCode).toBe(202);
      expect(canceled.json()).toMatchObject({ refunded: 0, remaining: total });

      const refunded = async () =>
        Number(
          (
            await db.query(
              `SELECT count(*) AS n FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id
               WHERE p.performance_id = $1 AND p.status = 'CANCELED' AND a.status = 'REFUNDED'`,
              [performance.id],
            )
          ).rows[0].n,
        );

      // Killed by itself right after its first cancel scripts, before their writes and refunds.
      const doomed = await startBatch({ FAULT_CRASH_AFTER_CANCEL: 'true' });
      expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await refunded()).toBe(0);

      // Two side by side; one killed from outside while refunds are under way.
      const [first] = await Promise.all([startBatch(), startBatch()]);
      let atKill = 0;
      await waitUntil(async () => (atKill = await refunded()) > 0, 'refunds under way', PROCESS_TEST_TIMEOUT_MS, 5);
      first.kill('SIGKILL');
      await first.exited;
      expect(atKill).toBeLessThan(total);
      await startBatch();

      await waitUntil(
        async () =>
          (await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: admin })).json()
            .status === 'COMPLETED',
        'cancellation completed',
        PROCESS_TEST_TIMEOUT_MS,
      );
      const progress = await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: admin });
      expect(progress.json()).toMatchObject({ status: 'COMPLETED', refunded: total, remaining: 0 });

      const purchases = await db.query(
        `SELECT p.status, a.status AS attempt, a.resolved_at IS NOT NULL AS resolved,
                (SELECT count(*)::int FROM outbox o WHERE o.message_id = 'purchase-canceled:' || p.id) AS notices
         FROM purchases p JOIN payment_attempts a ON a.purchase_id = p.id WHERE p.performance_id = $1`,
        [performance.id],
      );
      expect(purchases.rows).toHaveLength(total);
      for (const row of purchases.rows) {
        expect(row).toEqual({ status: 'CANCELED', attempt: 'REFUNDED', resolved: true, notices: 1 });
      }
      // Each purchase's seat given back once: every seat free, none sold twice over or under.
      const shown = await call('GET', `/performances/${performance.id}`);
      expect(shown.json()).toMatchObject({ status: 'CANCELED', available: 400, held: 0, sold: 0 });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
