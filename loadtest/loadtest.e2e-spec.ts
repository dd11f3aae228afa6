import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, destroyTestEnv, freePort, TestEnv } from '@app/testing';

const ROOT = join(__dirname, '..');

/** The runs of scripts/loadtest.mjs still going. */
const runs = new Set<ChildProcess>();

/**
 * Stops a run its test's time limit cut off: SIGTERM makes the script stop the api, batch and mailer
 * it started (scripts/stack.mjs) before it exits. Resolves once each has exited.
 */
async function stopRuns(): Promise<void> {
  await Promise.all(
    [...runs].map((run) => {
      const exited = new Promise((resolve) => run.once('exit', resolve));
      run.kill('SIGTERM');
      return exited;
    }),
  );
}

function runLoadtest(
  env: TestEnv,
  port: number,
  run: string[] = ['--users', '15', '--seats', '120', '--duration', '6', '--max-duration', '120'],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'scripts/loadtest.mjs'),
        ...run,
        '--target',
        `http://127.0.0.1:${port}`,
        // npm test built dist before the run; rebuilding would delete it under other test files.
        '--no-build',
      ],
      { cwd: ROOT, env: { ...process.env, ...env, PURCHASE_FLUSH_AGE_SECONDS: '1' } },
    );
    runs.add(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      runs.delete(child);
      resolve({ code, output });
    });
  });
}

describe('npm run loadtest: a short on-sale under Locust, checked', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await stopRuns();
    await destroyTestEnv(env);
  });

  it('starts the stack, runs Locust, finds every check passing and writes the report', async () => {
    const { code, output } = await runLoadtest(env, await freePort());
    expect(output).toContain('PASS  no seat sold twice');
    expect(output).toContain('PASS  every 201 purchase in PostgreSQL exactly once');
    expect(output).toContain('PASS  one e-mail per purchase');
    expect(output).toContain('PASS  seat counts in Redis equal PostgreSQL');
    expect(output).toContain('PASS  no 5xx');
    expect(output).not.toContain('FAIL');
    expect(code).toBe(0);

    const report = output.match(/report: (.*report\.html)/)?.[1];
    expect(report).toBeTruthy();
    const runDir = join(report!, '..');
    expect(readdirSync(runDir)).toEqual(expect.arrayContaining(['locust_stats.csv', 'report.html', 'summary.json']));
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
    // The run must have sold something, or the checks proved nothing.
    expect(summary.counts.sold).toBeGreaterThan(0);
    // Bounded by the script itself (Locust runs 6 s, and on until a purchase is answered, 120 s at
    // the most: on a loaded machine 6 s sold nothing); the rest is preparing, flushing and mailing.
  }, 600_000);
});

describe('npm run loadtest -- --queue: the on-sale behind a waiting room, checked', () => {
  // Its own database: the admin the harness creates has a fresh password each run.
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await stopRuns();
    await destroyTestEnv(env);
  });

  it('queue first: buyers hold only once admitted, no faster than the room admits, and the sale stays right', async () => {
    const { code, output } = await runLoadtest(env, await freePort(), [
      '--users',
      '20',
      '--seats',
      '60',
      '--duration',
      '10',
      '--max-duration',
      '120',
      '--queue',
      '--admit-per-second',
      '3',
    ]);
    expect(output).toContain('PASS  the hold route saw no more new buyers than the room admits');
    expect(output).toContain('PASS  no seat sold twice');
    expect(output).toContain('PASS  seat counts in Redis equal PostgreSQL');
    expect(output).not.toContain('FAIL');
    expect(code).toBe(0);
    const report = output.match(/report: (.*report\.html)/)![1];
    const summary = JSON.parse(readFileSync(join(report, '..', 'summary.json'), 'utf8'));
    expect(summary.queue).toEqual({ admitPerSecond: 3, pollAfterSeconds: 1 });
    expect(summary.counts.sold).toBeGreaterThan(0);
    const runDir = join(report, '..');
    expect(readFileSync(join(runDir, 'locust_stats.csv'), 'utf8')).toContain('/queue/:ticketId');
    // Every hold and purchase carried a valid admission token: none was refused with 403.
    expect(readFileSync(join(runDir, 'locust_failures.csv'), 'utf8')).not.toContain('403');
  }, 600_000);
});
