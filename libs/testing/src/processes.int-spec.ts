import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, killRunningAppProcesses } from './processes';
import { destroyTestEnv } from './services';
import { createTestEnv, TestEnv } from './test-env';

/** A line no app ever logs: a wait for it can only time out. */
const NEVER_LOGGED = 'a line no app logs';

/**
 * The pids of the processes on this machine started with `env` (their environment carries its
 * unique Redis key prefix), found in /proc: what a test left running, whoever started it.
 */
function processesOf(env: TestEnv): number[] {
  const marker = `REDIS_KEY_PREFIX=${env.REDIS_KEY_PREFIX}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
      } catch {
        return false; // exited meanwhile, or not ours to read
      }
    })
    .map(Number);
}

describe('a built app the harness started never outlives its test', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    // Whatever the harness failed to stop (this test failing) must not outlive the file either.
    for (const pid of processesOf(env)) process.kill(pid, 'SIGKILL');
    await destroyTestEnv(env);
  });

  it('a wait for a line that times out kills the process before it fails', async () => {
    const batch = new AppProcess('batch', env);
    await expect(batch.waitForLine(NEVER_LOGGED, 1_000)).rejects.toThrow(`timed out waiting for "${NEVER_LOGGED}"`);
    expect(processesOf(env)).toEqual([]);
  });

  it('a start that does not get ready in time leaves no process behind', async () => {
    await expect(AppProcess.start('batch', env, { readyLine: NEVER_LOGGED, timeoutMs: 1_000 })).rejects.toThrow(
      'process killed',
    );
    expect(processesOf(env)).toEqual([]);
  });

  it("a process a file left running is killed by the file's cleanup", async () => {
    const mailer = new AppProcess('mailer', env);
    expect(processesOf(env)).toEqual([mailer.pid]);
    expect(await killRunningAppProcesses()).toBe(1);
    expect(processesOf(env)).toEqual([]);
  });
});
