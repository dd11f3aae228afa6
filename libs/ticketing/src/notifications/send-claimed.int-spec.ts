import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dataSourceOptions,
  DeliveryClaim,
  EmailDeliveriesRepository,
  openDatabase,
  TransactionRunner,
} from '@app/database';
import { createTestEnv, destroyTestEnv, TestEnv } from '@app/testing';
import { Mailer, OutgoingEmail } from './mailer.port';
import { deliverInTransaction, sendClaimed } from './send-claimed';

/** The mailer's pool, shrunk: the first copy's transaction and two more connections. */
const POOL_SIZE = 3;
const CLAIM: DeliveryClaim = {
  messageId: 'password-reset:6f9d2c1e-0000-4000-8000-000000000001',
  purchaseId: null,
  recipient: 'buyer@example.test',
};
const EMAIL = () => ({
  to: { name: 'Buyer', address: 'buyer@example.test' },
  subject: 'Reset your password',
  text: 'text',
  html: '<p>html</p>',
  stream: 'urgent' as const,
});

describe('copies of a message redelivered while its first copy is at the mail server (real PostgreSQL, a pool of 3)', () => {
  let env: TestEnv;
  let db: Awaited<ReturnType<typeof openDatabase>>;

  beforeAll(async () => {
    env = await createTestEnv();
    db = await openDatabase({
      ...dataSourceOptions({
        DATABASE_URL: env.DATABASE_URL,
        DATABASE_POOL_SIZE: POOL_SIZE,
        DATABASE_ACQUIRE_TIMEOUT_MS: 2000,
        DATABASE_QUERY_TIMEOUT_MS: 15_000,
      }),
      url: env.DATABASE_URL,
    });
  });
  afterAll(async () => {
    await db?.destroy();
    if (env) await destroyTestEnv(env);
  });

  it('wait holding no pool connection: other work still gets one, and the e-mail goes out once', async () => {
    const sent: OutgoingEmail[] = [];
    let atServer!: () => void;
    const reachedServer = new Promise<void>((resolve) => (atServer = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // The first copy's e-mail sits at the server (a slow SMTP reply) until the test answers it.
    const mailer = {
      send: async (email: OutgoingEmail) => {
        sent.push(email);
        atServer();
        await answered;
        return { smtpMessageId: '<smtp-1@mail.test>' };
      },
    } as unknown as Mailer;
    const deps = {
      mailer,
      transactions: new TransactionRunner(db),
      deliveries: new EmailDeliveriesRepository(db),
      mailFrom: 'boxoffice <tickets@boxoffice.test>',
    };
    const deliver = () =>
      deliverInTransaction(deps, CLAIM.messageId, (manager) => sendClaimed(deps, manager, CLAIM, EMAIL));

    const first = deliver();
    await reachedServer;
    // Three redelivered copies: more than the pool has left. Each waiting in a transaction would
    // take the two free connections, and the third copy and the query below would wait for one.
    const copies = [deliver(), deliver(), deliver()];
    const [{ inTransaction }] = await db.query<{ inTransaction: number }[]>(
      `SELECT count(*)::int AS "inTransaction" FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`,
    );
    // Only the first copy's transaction; the copies hold none.
    expect(inTransaction).toBe(1);

    answer();
    await expect(first).resolves.toBe('sent');
    await expect(Promise.all(copies)).resolves.toEqual(['already-sent', 'already-sent', 'already-sent']);
    expect(sent).toHaveLength(1);
    const rows = await db.query<{ count: number }[]>(
      'SELECT count(*)::int AS count FROM email_deliveries WHERE message_id = $1',
      [CLAIM.messageId],
    );
    expect(rows).toEqual([{ count: 1 }]);
  });
});
