import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestEnv,
  waitUntil,
} from '@app/testing';

/**
 * PostgreSQL ending the apps' connections (a restart, a failover, an operator's
 * pg_terminate_backend, a pooler's idle timeout) is a fault the apps outlive: the pool drops the
 * dead connections and opens new ones on the next query. A connection's 'error' event without a
 * listener would end the process instead.
 */
describe('built apps when PostgreSQL ends their connections', () => {
  let env: TestEnv;
  let admin: Client;
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    admin = new Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.forceStop()));
    await admin?.end();
    await destroyTestEnv(env);
  });

  it(
    'api, batch and mailer stay up and the api answers from PostgreSQL again',
    async () => {
      const port = await freePort();
      apps.push(
        ...(await Promise.all([
          AppProcess.start('api', { ...env, PORT: String(port) }),
          AppProcess.start('batch', env),
          AppProcess.start('mailer', env),
        ])),
      );
      const signUp = (n: number) =>
        fetch(`http://127.0.0.1:${port}/api/v1/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `pg-${n}@example.com`, password: 'long-enough-1', name: 'Buyer' }),
        });
      // Every app holds pooled connections by now (migrations, the batch's loops, the relay).
      expect((await signUp(0)).status).toBe(201);
      const ended = async () =>
        (
          await admin.query<{ ended: number }>(
            `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          )
        ).rows[0].ended;
      expect(await ended()).toBeGreaterThan(0);
      // The loops keep querying: end their new connections again while they reconnect.
      await waitUntil(async () => (await ended()) > 0, 'the apps to reconnect', 60_000);
      let n = 1;
      await waitUntil(async () => (await signUp(n++)).status === 201, 'a sign-up to be stored again', 60_000);
      for (const app of apps) expect(app.hasExited, app.dump()).toBe(false);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
