import { Client } from 'pg';
import { expect } from 'vitest';
import { AppProcess, freePort, TestEnv, waitUntil } from '@app/testing';

/**
 * Starts a built api beside the in-process one (its `env`, on a free port; pushed to `processes`
 * for the caller's cleanup), holds the row lock `lockSql` takes (with `params`) in a transaction of
 * its own, sends `request(port)` to it, and SIGKILLs that api once a statement of the database waits
 * on a lock (the request reached its PostgreSQL step, whatever it did in Redis before); expects the
 * connection cut. The lock is let go after, so the caller reads what the killed request left.
 */
export async function killWhileRowLocked(options: {
  env: TestEnv;
  db: Client;
  processes: AppProcess[];
  lockSql: string;
  params: unknown[];
  request: (port: number) => Promise<Response>;
  waitsFor: string;
}): Promise<void> {
  const port = await freePort();
  const doomed = new AppProcess('api', { ...options.env, PORT: String(port) });
  options.processes.push(doomed);
  await doomed.waitForLine('api listening');
  const lock = new Client({ connectionString: options.env.DATABASE_URL });
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query(options.lockSql, options.params);
    // Settled at once, so the cut connection is an outcome to check, not an unhandled rejection.
    const sent = options.request(port).then(
      (answer) => answer.status,
      () => 'cut',
    );
    await waitUntil(
      async () =>
        (
          await options.db.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rowCount! > 0,
      options.waitsFor,
    );
    doomed.kill('SIGKILL');
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await sent).toBe('cut');
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
  }
}
